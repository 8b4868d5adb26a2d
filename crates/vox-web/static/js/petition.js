// Petition page: details, progress, response; sign or withdraw with a credential kept in the browser.
// A ring-signed petition (07 §7.10) is signed on this device too: the worker loads
// vox_ring.wasm, checks the whole board against its signed tree head under the pinned
// board key, derives the rings, proves and posts (Vox.ringSign); the page shows the
// progress and then the ring, the linking tag and the count.
'use strict';
(async () => {
  const { el, t, api, fmtDate, fmtNum } = Vox;
  await Vox.init();
  const id = Vox.param('id');
  let detail = null;
  let lastConfirmation = null;
  let lastProgress = null;

  function render() {
    if (!detail) return;
    const p = detail.petition;
    document.getElementById('action').textContent = p.action;
    document.title = p.action + ' · vox';
    document.getElementById('background').textContent = p.background;
    document.getElementById('more').textContent = p.details || '';
    const bar = (label, max) => el('div', { class: 'progress' },
      el('label', { for: 'p-' + label, text: t(label) }),
      el('progress', { id: 'p-' + label, max: String(max), value: String(Math.min(detail.count, max)) }),
      el('span', { class: 'meta', text: t('index.of_threshold', { n: fmtNum(detail.count), max: fmtNum(max) }) }));
    document.getElementById('progress').replaceChildren(
      bar('index.to_response', p.response_threshold), bar('index.to_referendum', p.referendum_threshold));
    const facts = [
      [t('petition.stage'), t('stage.' + detail.stage)],
      [t('petition.count'), fmtNum(detail.count)],
      [t('petition.closes'), fmtDate(detail.closes_at)],
      [t('petition.response_due'), detail.response_due_by ? fmtDate(detail.response_due_by) + (detail.response_overdue ? ' — ' + t('petition.overdue') : '') : '—'],
      [t('petition.hash'), el('span', { class: 'mono', text: detail.petition_hash })],
    ];
    if (detail.referendum_id) facts.push([t('petition.referendum'), el('a', { href: 'referendum.html?id=' + encodeURIComponent(detail.referendum_id), text: detail.referendum_id })]);
    if (detail.rejection_reason) facts.push([t('petition.rejected'), detail.rejection_reason]);
    if (detail.region_counts && detail.region_counts.length) facts.push([t('petition.regions'), detail.region_counts.map(([r, n]) => r + ': ' + fmtNum(n)).join(', ')]);
    const ring = detail.petition.signatures === 'ring';
    facts.push([t('petition.signatures'), t(ring ? 'petition.signatures_ring' : 'petition.signatures_credential')]);
    const data = '/api/v1/petitions/' + encodeURIComponent(id) + '/counts';
    facts.push([t('data.heading'), el('span', {},
      el('a', { href: data + '.csv', download: '', text: t('data.counts_csv') }), ' · ',
      el('a', { href: data + '.json', text: t('data.counts_json') }))]);
    document.getElementById('facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', {}, v)]));
    document.getElementById('response-box').hidden = !detail.response;
    document.getElementById('response').textContent = detail.response || '';
    document.getElementById('details').hidden = false;
    const open = detail.stage === 'open' || detail.stage === 'proposed';
    document.getElementById('sign-form').hidden = !open;
    // A ring-signed petition: what the ring hides, and what it does not.
    document.getElementById('ring-notice').hidden = !(open && ring);
    if (lastProgress) showProgress(lastProgress);
    if (lastConfirmation) showConfirmation(lastConfirmation);
  }

  async function load() {
    detail = await api('/petitions/' + encodeURIComponent(id));
    render();
  }

  async function credentialText() {
    const typed = document.getElementById('credential').value.trim();
    if (typed) return typed;
    const file = await Vox.readFile(document.getElementById('credential-file'));
    return file ? Vox.credentialFromFile(file) : '';
  }

  function ringText(f) {
    return t('petition.ring_desc', {
      region: f.region === null ? t('petition.ring_pooled') : f.region,
      i: fmtNum(f.ring_index + 1), k: fmtNum(f.ring_count), members: fmtNum(f.ring_members),
    });
  }

  function showConfirmation(c) {
    const box = document.getElementById('confirmation');
    box.querySelector('h2').textContent = c.action === 'withdraw' ? t('petition.withdrawn') : t('petition.confirmed');
    const ringFacts = c.ring ? [
      [t('petition.ring'), el('span', { id: 'confirmation-ring', text: ringText(c.ring) })],
      [t('petition.ring_tag'), el('span', { class: 'mono', id: 'confirmation-tag', text: c.ring.tag })],
    ] : [];
    const facts = [
      ...ringFacts,
      [t('petition.leaf'), fmtNum(c.answer.leaf_index)],
      [t('petition.count'), fmtNum(c.answer.count)],
      [t('petition.tree_size'), fmtNum(c.answer.tree_head.tree_size)],
      [t('petition.root'), el('span', { class: 'mono', text: c.answer.tree_head.root_hash })],
      [t('petition.signature_hash'), el('span', { class: 'mono', text: c.signature_hash })],
      ...(c.receipt ? [[t('petition.receipt'), el('span', { id: 'confirmation-receipt', text: t('petition.receipt_checked', { leaf: fmtNum(c.receipt.leaf_index), size: fmtNum(c.receipt.tree_size) }) })]] : []),
    ];
    document.getElementById('confirmation-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', {}, v)]));
    // The receipt to save (07 §7.10): the file `vox voter sign` writes, made in wasm.
    document.getElementById('receipt-save').hidden = !(c.receipt && c.receipt.receipt_file);
    box.hidden = false;
  }

  // The file name `vox voter sign` gives a receipt.
  function receiptFileName(c) {
    return 'signature-receipt-' + String(id).replace(/[^A-Za-z0-9_-]/gu, '_') + '-' + c.answer.leaf_index + '.json';
  }

  document.getElementById('save-receipt').addEventListener('click', () => {
    const c = lastConfirmation;
    if (c && c.receipt && c.receipt.receipt_file) Vox.download(receiptFileName(c), c.receipt.receipt_file);
  });

  // Progress of a ring signature: the bar and its label follow every page of entries;
  // the live status says each new phase once.
  const PHASES = { fetch: 'petition.ring_phase_fetch', derive: 'petition.ring_phase_derive', prove: 'petition.ring_phase_prove', send: 'petition.ring_phase_send', again: 'petition.ring_phase_again' };
  function showProgress(p) {
    const box = document.getElementById('ring-progress-box');
    const bar = document.getElementById('ring-progress');
    box.hidden = false;
    const text = t(PHASES[p.phase] || p.phase, { n: fmtNum(p.n), total: fmtNum(p.total) });
    document.getElementById('ring-phase').textContent = text;
    if (p.phase === 'fetch' && p.total > 0) {
      bar.max = p.total;
      bar.value = p.n;
    } else if (p.phase === 'fetch' || p.phase === 'again') {
      bar.removeAttribute('value');
    } else {
      // Deriving, proving, sending: the board is in; a bar that moves no further.
      bar.max = 1;
      bar.value = 1;
    }
    return text;
  }

  function onRingProgress(p) {
    const was = lastProgress && lastProgress.phase;
    lastProgress = p;
    const text = showProgress(p);
    if (p.phase !== was) Vox.status('sign-status', text);
  }

  // A refusal of a ring signature, as a sentence.
  function ringRefusal(e, action) {
    const msg = String(e.message || '');
    const detail = e.problem && typeof e.problem.detail === 'string' ? e.problem.detail : '';
    const field = e.problem && e.problem.field;
    if (e instanceof Vox.BoardKeyChanged) return t('petition.ring_board_key_changed');
    if (msg.startsWith('not-in-ring:')) return t('petition.ring_not_in_ring');
    if (e.status === 422 && field === 'linking tag' && detail.includes('already signed')) return t('petition.ring_already_signed');
    if (e.status === 422 && field === 'linking tag' && detail.includes('withdrew')) return t('petition.ring_cannot_sign_again');
    if (e.status === 409 && field === 'petition') return action === 'withdraw' ? t('petition.ring_closed_withdraw') : t('petition.ring_closed');
    if (e.status === 409 && e.problem && String(e.problem.type || '').endsWith('rings-changed')) return t('petition.ring_changed');
    return t('error.generic') + ' ' + msg;
  }

  async function submitRing(action, credential) {
    lastProgress = null;
    lastConfirmation = null;
    document.getElementById('confirmation').hidden = true;
    try {
      const pin = await Vox.trustedBoardKey('ring');
      const r = await Vox.ringSign(id, credential, action, pin.key, onRingProgress);
      lastConfirmation = {
        action, answer: r.answer, signature_hash: r.facts.signature_hash,
        ring: r.facts, receipt: r.receipt,
      };
      document.getElementById('credential').value = '';
      document.getElementById('ring-progress-box').hidden = true;
      lastProgress = null;
      Vox.status('sign-status', (action === 'withdraw' ? t('petition.withdrawn') : t('petition.confirmed')) + '. ' +
        t('petition.ring_receipt', { count: fmtNum(r.answer.count), ring: ringText(r.facts) }), 'ok');
      await load();
      document.getElementById('confirmation').focus();
    } catch (e) {
      document.getElementById('ring-progress-box').hidden = true;
      lastProgress = null;
      Vox.status('sign-status', ringRefusal(e, action), 'error');
    }
  }

  async function submit(action) {
    const buttons = document.querySelectorAll('#sign-form button');
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const credential = await credentialText();
      if (!credential) { Vox.status('sign-status', t('credential.missing'), 'error'); document.getElementById('credential').focus(); return; }
      if (detail.petition.signatures === 'ring') { await submitRing(action, credential); return; }
      Vox.status('sign-status', t('petition.signing'));
      const signed = await Vox.call('sign_petition', { petition: detail.petition, petition_hash: detail.petition_hash, credential, action });
      const answer = await api('/petitions/' + encodeURIComponent(id) + '/signatures', { method: 'POST', body: signed.signature });
      lastConfirmation = { action, answer, signature_hash: signed.signature_hash };
      document.getElementById('credential').value = '';
      Vox.status('sign-status', action === 'withdraw' ? t('petition.withdrawn') : t('petition.confirmed'), 'ok');
      await load();
      document.getElementById('confirmation').focus();
    } catch (e) {
      Vox.status('sign-status', t('error.generic') + ' ' + e.message, 'error');
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  }

  document.getElementById('sign-form').addEventListener('submit', (ev) => { ev.preventDefault(); submit('sign'); });
  document.getElementById('withdraw-button').addEventListener('click', () => submit('withdraw'));
  Vox.onLang(render);
  try {
    if (!id) throw new Error(t('error.no_id'));
    await load();
  } catch (e) {
    Vox.status('load-status', t('error.load') + ' ' + e.message, 'error');
  }
})();
