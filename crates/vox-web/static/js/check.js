// Check my ballot: verify a receipt in the browser against the board's current signed tree head.
'use strict';
(async () => {
  const { el, t, api, fmtNum } = Vox;
  await Vox.init();
  const $ = (x) => document.getElementById(x);
  let last = null;

  function render() {
    if (!last) return;
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
    const receipt = parsed.receipt || parsed;
    const ballot = parsed.ballot || undefined;
    // Under the board key this browser pinned for this server (04 §4.7), never a key
    // the server names now: a server that swapped its key would vouch for itself.
    let trusted;
    try {
      trusted = await Vox.trustedBoardKey();
    } catch (e) {
      if (!(e instanceof Vox.BoardKeyChanged)) throw e;
      throw new Error(t('keycheck.alarm_heading') + ' ' + t('keycheck.alarm', {
        origin: location.origin, offered: e.offered.board_public_key, offered_fp: e.offered.fingerprint,
        pinned: e.pinned.board_public_key, pinned_fp: e.pinned.fingerprint,
      }));
    }
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
  }

  $('check-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('check-button').disabled = true;
    $('check-result').hidden = true;
    try {
      Vox.status('check-status', t('check.checking'));
      await check();
      Vox.status('check-status', t('check.ok'), 'ok');
      $('check-result').focus();
    } catch (e) {
      Vox.status('check-status', t('check.failed') + ' ' + e.message, 'error');
    } finally {
      $('check-button').disabled = false;
    }
  });
  Vox.onLang(render);
})();
