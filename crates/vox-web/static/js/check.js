// Check my ballot: verify a receipt in the browser against the board's current signed tree head.
// A petition signature's receipt (`"kind": "petition-signature"`, 07 §7.10; ballot
// receipts have no kind) is checked R1–R6 in the worker with vox_receipt.wasm
// (Vox.checkSignatureReceipt):
// the latest head and consistency proof, then the entries from the signature on, page by
// page, with a progress bar; the page shows each check and the standing.
'use strict';
(async () => {
  const { el, t, api, fmtNum } = Vox;
  await Vox.init();
  const $ = (x) => document.getElementById(x);
  let last = null;
  let lastProgress = null;

  // A signature receipt's check: the receipt's facts (R4 bound them to the board's
  // entry), the checks R1–R6 (all passed: any failure is an error), the standing.
  function renderSignature(out) {
    const r = out.receipt;
    const tag = r.signer && r.signer.tag;
    const standing = t('sigstanding.' + out.standing, { leaf: fmtNum(out.standing_leaf), reason: out.reason });
    const facts = [
      [t('check.petition'), r.petition_id],
      [t('check.action'), t('check.action_' + r.action)],
      [t(tag ? 'check.signer_tag' : 'check.signer_credential'), el('span', { class: 'mono', id: 'check-signer', text: tag || (r.signer && r.signer.credential) })],
      [t('petition.leaf'), fmtNum(r.leaf_index)],
      [t('check.receipt_size'), fmtNum(r.tree_head.tree_size)],
      [t('check.current_size'), fmtNum(out.tree_size)],
      [t('check.standing'), el('span', { id: 'check-standing-short', text: standing })],
    ];
    $('check-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', {}, v)]));
    const n = fmtNum(out.tree_size - r.leaf_index);
    const checks = ['r1', 'r2', 'r3', ...(out.cosigned ? ['r3-cosignatures'] : []), 'r4', 'r5', 'r6'];
    $('check-list').replaceChildren(...checks.map((c) => el('li', { text: t('sigchecks.' + c, { n }) })));
    const full = $('check-standing');
    full.textContent = t('check.standing_' + out.standing, { leaf: fmtNum(out.standing_leaf), reason: out.reason });
    full.className = 'status ' + ({ counted: 'ok', withdrawn: 'warn' }[out.standing] || 'error');
    full.hidden = false;
    $('check-result').hidden = false;
  }

  function render() {
    if (lastProgress) showProgress(lastProgress);
    if (!last) return;
    if (last.signature) { renderSignature(last.signature); return; }
    $('check-standing').hidden = true;
    const { out, status } = last;
    const facts = [
      [t('vote.tracking'), el('span', { class: 'code', text: out.tracking_code })],
      [t('check.referendum'), out.referendum_id],
      [t('petition.leaf'), fmtNum(out.leaf_index)],
      [t('check.receipt_size'), fmtNum(out.receipt_tree_size)],
      [t('check.current_size'), fmtNum(out.current_tree_size)],
      [t('check.status'), status ? t('ballot.' + status.status) : '—'],
    ];
    $('check-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', {}, v)]));
    $('check-list').replaceChildren(...out.checks.map((c) => el('li', { text: t('checks.' + c) })));
    $('check-result').hidden = false;
  }

  async function check() {
    let text = $('receipt-text').value.trim();
    if (!text) text = ((await Vox.readFile($('receipt-file'))) || '').trim();
    if (!text) throw new Error(t('check.none'));
    let parsed;
    try { parsed = JSON.parse(text); } catch (_) { throw new Error(t('check.not_json')); }
    const isSignature = parsed && parsed.kind === 'petition-signature';
    const receipt = isSignature ? parsed : (parsed.receipt || parsed);
    const ballot = isSignature ? undefined : (parsed.ballot || undefined);
    // Under the board key this browser pinned for this server (04 §4.7), never a key
    // the server names now: a server that swapped its key would vouch for itself.
    let trusted;
    try {
      // A signature receipt needs vox_receipt.wasm only (it has its own board-key check).
      trusted = await Vox.trustedBoardKey(isSignature ? 'receipt' : undefined);
    } catch (e) {
      if (!(e instanceof Vox.BoardKeyChanged)) throw e;
      throw new Error(t('keycheck.alarm_heading') + ' ' + t('keycheck.alarm', {
        origin: location.origin, offered: e.offered.board_public_key, offered_fp: e.offered.fingerprint,
        pinned: e.pinned.board_public_key, pinned_fp: e.pinned.fingerprint,
      }));
    }
    if (isSignature) return checkSignature(receipt, trusted.key);
    const head = await api('/board/tree-head');
    const old = receipt.tree_head && receipt.tree_head.tree_size;
    const req = { receipt, board_public_key: trusted.key, tree_head: head, ballot };
    if (typeof old === 'number' && head.tree_size > old) {
      req.consistency = await api('/board/consistency?first=' + old + '&second=' + head.tree_size);
    }
    if (typeof receipt.leaf_index === 'number' && head.tree_size > receipt.leaf_index) {
      req.inclusion = await api('/board/inclusion?index=' + receipt.leaf_index + '&tree_size=' + head.tree_size);
    }
    const out = await Vox.call('verify_receipt', req);
    let status = null;
    try { status = await api('/referendums/' + encodeURIComponent(receipt.referendum_id) + '/ballots/' + receipt.ballot_hash); } catch (_) { status = null; }
    if (status && status.leaf_index !== receipt.leaf_index) throw new Error(t('check.wrong_leaf', { a: status.leaf_index, b: receipt.leaf_index }));
    // Superseded by a ballot this browser did not cast: an alarm (04 §4.8, D8).
    if (status && status.status === 'superseded') {
      const by = status.superseded_by;
      if (!by || by.leaf_index <= receipt.leaf_index) throw new Error(t('check.superseded_unnamed'));
      if (!Vox.castHere(by.ballot_hash)) throw new Error(t('check.superseded_foreign', { code: by.tracking_code, leaf: by.leaf_index }));
    }
    last = { out, status };
    render();
    return 'check.ok';
  }

  // Progress of a signature receipt's check: the bar follows the entries since the
  // signature; the live status says each new phase once.
  function showProgress(p) {
    const box = $('check-progress-box');
    const bar = $('check-progress');
    box.hidden = false;
    const text = p.phase === 'entries'
      ? t('check.sig_phase_entries', { n: fmtNum(p.n), total: fmtNum(p.total) })
      : t('check.sig_phase_head');
    $('check-phase').textContent = text;
    if (p.phase === 'entries') {
      bar.max = Math.max(1, p.total);
      bar.value = p.total > 0 ? p.n : 1;
    } else {
      bar.removeAttribute('value');
    }
    return text;
  }

  function onProgress(p) {
    const was = lastProgress && lastProgress.phase;
    lastProgress = p;
    const text = showProgress(p);
    if (p.phase !== was) Vox.status('check-status', text);
  }

  // A refusal of the wasm check starts with its code (src/signature_receipt.rs): the
  // sentence in the page's language, then the detail.
  function signatureFailure(e) {
    const msg = String(e.message || '');
    const m = msg.match(/^([a-z0-9-]+): /);
    const key = m ? 'check.sig_fail_' + m[1] : null;
    if (!(e instanceof Vox.VoxError) || !key || t(key) === key) return msg;
    return t(key) + ' (' + msg.slice(m[0].length) + ')';
  }

  async function checkSignature(receipt, key) {
    lastProgress = null;
    try {
      const out = await Vox.checkSignatureReceipt(receipt, key, onProgress);
      last = { signature: Object.assign({ receipt }, out) };
    } catch (e) {
      throw new Error(signatureFailure(e));
    } finally {
      lastProgress = null;
      $('check-progress-box').hidden = true;
    }
    render();
    return 'check.sig_ok';
  }

  $('check-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('check-button').disabled = true;
    $('check-result').hidden = true;
    try {
      last = null;
      Vox.status('check-status', t('check.checking'));
      const said = await check();
      Vox.status('check-status', t(said), 'ok');
      $('check-result').focus();
    } catch (e) {
      Vox.status('check-status', t('check.failed') + ' ' + e.message, 'error');
    } finally {
      $('check-button').disabled = false;
    }
  });
  Vox.onLang(render);
})();
