// Petition page: details, progress, response; sign or withdraw with a credential kept in the browser.
'use strict';
(async () => {
  const { el, t, api, fmtDate, fmtNum } = Vox;
  await Vox.init();
  const id = Vox.param('id');
  let detail = null;
  let lastConfirmation = null;

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
    // Ring signatures (protocol-spec/07 §7.10) are made by the command-line app only, so
    // far: the page says so instead of offering a form the board would refuse.
    document.getElementById('sign-form').hidden = !open || ring;
    document.getElementById('ring-notice').hidden = !(open && ring);
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

  function showConfirmation(c) {
    const box = document.getElementById('confirmation');
    box.querySelector('h2').textContent = c.action === 'withdraw' ? t('petition.withdrawn') : t('petition.confirmed');
    const facts = [
      [t('petition.leaf'), fmtNum(c.answer.leaf_index)],
      [t('petition.count'), fmtNum(c.answer.count)],
      [t('petition.tree_size'), fmtNum(c.answer.tree_head.tree_size)],
      [t('petition.root'), el('span', { class: 'mono', text: c.answer.tree_head.root_hash })],
      [t('petition.signature_hash'), el('span', { class: 'mono', text: c.signature_hash })],
    ];
    document.getElementById('confirmation-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', {}, v)]));
    box.hidden = false;
  }

  async function submit(action) {
    const buttons = document.querySelectorAll('#sign-form button');
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const credential = await credentialText();
      if (!credential) { Vox.status('sign-status', t('credential.missing'), 'error'); document.getElementById('credential').focus(); return; }
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
