// Propose a petition: the same proposal as `vox voter propose`, signed in wasm by the
// proposer's credential (the first sponsor), then posted to /api/v1/petitions. Sponsors
// then sign it on its page, and the petitions office moderates it, exactly as for a
// proposal made with the CLI. The credential is typed or loaded from a file and never
// leaves the browser: only the signed proposal is sent.
'use strict';
(async () => {
  const { el, t, api, fmtNum } = Vox;
  await Vox.init();
  const $ = (id) => document.getElementById(id);
  const DAY_MS = 24 * 3600 * 1000;
  let last = null;

  const pre = Vox.param('electorate');
  if (pre) $('electorate').value = pre;

  // The credential file names its electorate (`electorate: ID`): prefill the field.
  $('credential-file').addEventListener('change', async () => {
    try {
      const text = await Vox.readFile($('credential-file'));
      const m = text && text.match(/^electorate:\s*(\S+)\s*$/m);
      if (m && !$('electorate').value.trim()) $('electorate').value = m[1];
    } catch (_) { /* read again on submit */ }
  });

  async function credentialText() {
    const typed = $('credential').value.trim();
    if (typed) return typed;
    const file = await Vox.readFile($('credential-file'));
    return file ? Vox.credentialFromFile(file) : '';
  }

  function randomId() {
    const b = new Uint8Array(4);
    crypto.getRandomValues(b);
    return 'p-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }

  // A field the citizen must fix: the sentence in the page's language, focus on it.
  class FieldError extends Error {
    constructor(field, message) { super(message); this.field = field; }
  }

  function whole(id, min) {
    const v = $(id).value.trim();
    const n = Number(v);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > 0xffffffff) {
      throw new FieldError(id, t('propose.bad_number', { field: document.querySelector('label[for="' + id + '"]').textContent, min }));
    }
    return n;
  }

  function readForm() {
    const action = $('action').value.trim();
    if (!action) throw new FieldError('action', t('propose.need_action'));
    const background = $('background').value.trim();
    if (!background) throw new FieldError('background', t('propose.need_background'));
    const electorate = $('electorate').value.trim();
    if (!electorate) throw new FieldError('electorate', t('propose.need_electorate'));
    const id = $('petition-id').value.trim() || randomId();
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(id)) throw new FieldError('petition-id', t('propose.bad_id'));
    const sponsors = whole('sponsors', 2);
    const response = whole('response-threshold', 1);
    const referendum = whole('referendum-threshold', 1);
    if (referendum < response) throw new FieldError('referendum-threshold', t('propose.bad_thresholds'));
    return {
      electorate,
      petition: {
        id, action, background, details: $('more-details').value.trim(),
        sponsor_threshold: sponsors, response_threshold: response, referendum_threshold: referendum,
        open_for_ms: whole('days', 1) * DAY_MS, response_due_ms: whole('response-days', 1) * DAY_MS,
        region_min_group: whole('region-min-group', 0),
      },
    };
  }

  // The server's refusals, in the citizen's words where we know them.
  function explain(e) {
    const p = e.problem || {};
    const field = p.field || '';
    if (e.status === 404 && /electorate/i.test(String(p.detail || '') + field)) return t('propose.unknown_electorate');
    if (e.status === 409) return t('propose.exists');
    if (e.status === 422 && /not in the electorate|not eligible|proposer/i.test(String(p.detail || '') + field)) return t('propose.not_member');
    return t('error.generic') + ' ' + e.message;
  }

  function render() {
    if (!last) return;
    const s = last.summary;
    const needed = Math.max(0, last.petition.sponsor_threshold - s.count);
    $('proposed-next').textContent = t('propose.next', { n: fmtNum(needed) });
    const facts = [
      [t('propose.petition_id'), el('span', { class: 'mono', text: s.id })],
      [t('petition.stage'), t('stage.' + s.stage)],
      [t('propose.sponsors_so_far'), fmtNum(s.count) + ' / ' + fmtNum(last.petition.sponsor_threshold)],
      [t('petition.hash'), el('span', { class: 'mono', text: last.petition_hash })],
    ];
    $('proposed-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', {}, v)]));
    $('proposed-link').href = 'petition.html?id=' + encodeURIComponent(s.id);
    $('proposed').hidden = false;
  }

  async function submit() {
    const button = $('propose-button');
    button.disabled = true;
    try {
      let form;
      try { form = readForm(); } catch (e) {
        if (e instanceof FieldError) { Vox.status('propose-status', e.message, 'error'); $(e.field).focus(); return; }
        throw e;
      }
      const credential = await credentialText();
      if (!credential) { Vox.status('propose-status', t('credential.missing'), 'error'); $('credential').focus(); return; }
      Vox.status('propose-status', t('propose.signing'));
      let info;
      try {
        info = await api('/electorates/' + encodeURIComponent(form.electorate));
      } catch (e) {
        if (e.status === 404) { Vox.status('propose-status', t('propose.unknown_electorate'), 'error'); $('electorate').focus(); return; }
        throw e;
      }
      const petition = Object.assign({}, form.petition, { electorate_hash: info.electorate_hash });
      const signed = await Vox.call('propose_petition', { petition, credential });
      const summary = await api('/petitions', { method: 'POST', body: signed.proposal });
      last = { summary, petition, petition_hash: signed.petition_hash };
      $('credential').value = '';
      $('credential-file').value = '';
      Vox.status('propose-status', t('propose.done', { id: summary.id }), 'ok');
      render();
      $('proposed').focus();
    } catch (e) {
      Vox.status('propose-status', e instanceof Vox.VoxError ? t('propose.refused_here') + ' ' + e.message : explain(e), 'error');
    } finally {
      button.disabled = false;
    }
  }

  $('propose-form').addEventListener('submit', (ev) => { ev.preventDefault(); submit(); });
  Vox.onLang(render);
})();
