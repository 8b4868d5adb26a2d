// Make my credential. Main flow (protocol-spec/04-ballots.md §4.1.2): the citizen types the
// electorate id and the one-time code of the registrar's letter and picks their region;
// the credential is drawn in this browser (wasm, page-seeded CSPRNG) with an enrolment
// request that carries the code; the credential is shown once; only after the citizen
// confirms they saved it is the REQUEST posted to /electorates/{id}/credentials.
// Secondary flow: a request file for the registrar to approve in person (nothing sent).
// The credential text itself is never sent anywhere (tests/web/citizen.mjs checks every
// request the page makes).
'use strict';
(async () => {
  const { el, t } = Vox;
  await Vox.init();
  const $ = (x) => document.getElementById(x);
  // The answer of vox_make_credential plus the page's state of it, kept only in this
  // variable until "hide" or unload: { mode: 'code' | 'request', credential, request,
  // file, public_key, idem, state: 'drawn' | 'sending' | 'enrolled', leaf }.
  let made = null;
  // The electorate looked up for the code form: { id, info } or { id, error }.
  let looked = null;

  const given = Vox.param('electorate');
  if (given) { $('electorate').value = given; $('req-electorate').value = given; }

  // File names keep only safe characters of the electorate id.
  const slug = (s) => s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 64) || 'electorate';
  const invalid = (id, on) => { if (on) $(id).setAttribute('aria-invalid', 'true'); else $(id).removeAttribute('aria-invalid'); };
  const regionLabel = (r) => (r === null || r === undefined || r === '' ? t('enrol.no_region') : r);

  // ---- the electorate and its regions (GET /electorates/{id}) ----

  function renderElectorate() {
    const info = $('electorate-info');
    const sel = $('region');
    const keep = sel.value;
    sel.replaceChildren();
    if (!looked) { info.hidden = true; $('region-row').hidden = false; return; }
    if (looked.error) {
      info.textContent = looked.error === 'not-found' ? t('enrol.problem.unknown_electorate') : t('enrol.electorate_unreachable');
      info.hidden = false;
      $('region-row').hidden = true;
      return;
    }
    const e = looked.info;
    // An electorate registered whole (a list, no codes) has no regions of codes.
    const regions = Array.isArray(e.regions) && e.regions.length ? e.regions : null;
    if (!regions) {
      info.textContent = t('enrol.not_by_code');
      info.hidden = false;
      $('region-row').hidden = true;
      $('in-person').open = true; // the only way into such an electorate
      return;
    }
    const name = (e.electorate && e.electorate.name) || e.name || looked.id;
    const committed = regions.reduce((a, r) => a + Number(r.committed || 0), 0);
    const enrolled = regions.reduce((a, r) => a + Number(r.enrolled || 0), 0);
    info.textContent = (e.state === 'frozen' ? t('enrol.electorate_frozen', { name }) : t('enrol.electorate_open', { name, enrolled: Vox.fmtNum(enrolled), committed: Vox.fmtNum(committed) }));
    info.hidden = false;
    // Only one region and it is "no region": nothing to choose.
    const named = regions.filter((r) => r.region !== null && r.region !== undefined);
    $('region-row').hidden = named.length === 0;
    if (regions.length > 1) sel.append(el('option', { value: '', text: t('enrol.choose_region') }));
    // Values are indexes into `regions` (a region may be any label, or none).
    regions.forEach((r, i) => sel.append(el('option', { value: String(i), text: regionLabel(r.region) })));
    if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
  }

  // One look-up per id at a time; the latest id typed wins the display.
  let pending = null;
  function lookup() {
    const id = $('electorate').value.trim();
    if (looked && looked.id === id && !looked.retry) return Promise.resolve(looked);
    if (pending && pending.id === id) return pending.promise;
    if (!id) { pending = null; looked = null; renderElectorate(); return Promise.resolve(null); }
    const promise = (async () => {
      let res;
      try {
        res = { id, info: await Vox.api('/electorates/' + encodeURIComponent(id)) };
      } catch (e) {
        // Unknown id: said so. Unreachable: retried on the next change or submit.
        res = e.status === 404 ? { id, error: 'not-found' } : { id, error: 'unreachable', retry: true };
      }
      if (pending && pending.promise === promise) {
        pending = null;
        looked = res;
        renderElectorate();
      }
      return res;
    })();
    pending = { id, promise };
    return promise;
  }
  $('electorate').addEventListener('change', () => { lookup().catch(() => {}); });

  // ---- the credential panel ----

  function render() {
    renderElectorate();
    if (!made) return;
    $('credential-text').textContent = made.credential;
    const r = made.request;
    const facts = [
      [t('enrol.fact_electorate'), r.electorate_id],
      [t('enrol.fact_region'), regionLabel(r.region)],
    ];
    if (made.mode === 'code') facts.push([t('enrol.fact_code'), el('span', { class: 'mono', id: 'code-used', text: made.code_grouped })]);
    facts.push([t('enrol.fact_public_key'), el('span', { class: 'mono', id: 'public-key', text: made.public_key })]);
    $('result-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', {}, v)]));
    $('code-steps').hidden = made.mode !== 'code';
    $('request-steps').hidden = made.mode !== 'request';
    if (made.mode === 'code') {
      const done = made.state === 'enrolled';
      $('saved-confirm').disabled = done || made.state === 'sending';
      // (The wrapper, not the button: the stylesheet's display of buttons beats [hidden].)
      $('enrol-actions').hidden = done;
      $('enrol-button').disabled = !$('saved-confirm').checked || made.state === 'sending';
      $('enrolled').hidden = !done;
      if (done) {
        const f = [[t('enrol.fact_electorate'), r.electorate_id]];
        if (made.leaf !== null && made.leaf !== undefined) f.push([t('enrol.fact_leaf'), el('span', { id: 'leaf-index', text: String(made.leaf) })]);
        $('enrolled-facts').replaceChildren(...f.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', {}, v)]));
      }
    }
    $('result').hidden = false;
  }

  function forget() {
    made = null;
    $('credential-text').textContent = '';
    $('result-facts').replaceChildren();
    $('enrolled-facts').replaceChildren();
    $('saved-confirm').checked = false;
    $('saved-confirm').disabled = false;
    Vox.status('send-status', '');
    $('result').hidden = true;
  }

  // ---- main flow: enrol with a code ----

  // One sentence per problem of POST /electorates/{id}/credentials (problem+json: the
  // brief's `code`, else the last segment of `type`, plus `field`). `final` problems
  // make this credential useless (the citizen fixes the form and draws a new one);
  // the others can be retried with the same request.
  function problem(e) {
    if (e.status === undefined) return { key: 'enrol.problem.network', final: false, focus: 'enrol-button' };
    const p = e.problem && typeof e.problem === 'object' ? e.problem : {};
    const code = p.code || (typeof p.type === 'string' ? p.type.split('/').pop() : '');
    const field = p.field || '';
    if (e.status === 404) return { key: 'enrol.problem.unknown_electorate', final: true, focus: 'electorate' };
    if (code === 'code-spent') return { key: 'enrol.problem.code_spent', final: true, focus: 'code' };
    if (code === 'code-not-committed') return { key: 'enrol.problem.code_not_committed', final: true, focus: 'code' };
    if (code === 'credential-enrolled') return { key: 'enrol.problem.credential_enrolled', final: false, done: true };
    if (code === 'electorate-frozen') return { key: 'enrol.problem.frozen', final: true, focus: 'electorate' };
    if (code === 'region' || field === 'region') return { key: 'enrol.problem.region', final: true, focus: 'region' };
    if (field === 'signature' || field.endsWith('/signature')) return { key: 'enrol.problem.signature', final: true, focus: 'make-button' };
    if (field === 'code') return { key: 'enrol.problem.code_format', final: true, focus: 'code' };
    if (e.status === 429) return { key: 'enrol.problem.rate_limited', final: false, focus: 'enrol-button' };
    if (e.status >= 500) return { key: 'enrol.problem.server', final: false, focus: 'enrol-button' };
    return { key: 'enrol.problem.other', final: true, focus: 'make-button', detail: e.message };
  }

  $('enrol-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const electorate = $('electorate').value.trim();
    const typed = $('code').value;
    for (const id of ['electorate', 'code', 'region']) invalid(id, false);
    const fail = (msg, id) => {
      Vox.status('enrol-status', msg, 'error');
      if (id) { invalid(id, true); $(id).focus(); }
    };
    if (!electorate) return fail(t('enrol.need_electorate'), 'electorate');
    if (!typed.trim()) return fail(t('enrol.need_code'), 'code');
    $('make-button').disabled = true;
    forget();
    try {
      looked = await lookup();
      if (!looked || looked.error) return fail(looked && looked.error === 'not-found' ? t('enrol.problem.unknown_electorate') : t('enrol.electorate_unreachable'), 'electorate');
      if (!Array.isArray(looked.info.regions) || !looked.info.regions.length) return fail(t('enrol.not_by_code'), 'electorate');
      let region = null;
      if (!$('region-row').hidden || $('region').options.length > 1) {
        const r = looked.info.regions[Number($('region').value)];
        if ($('region').value === '' || !r) return fail(t('enrol.need_region'), 'region');
        region = r.region === undefined ? null : r.region;
      }
      Vox.status('enrol-status', t('enrol.making'));
      const req = { electorate_id: electorate, code: typed };
      if (region !== null) req.region = region;
      let answer;
      try {
        answer = await Vox.call('make_credential', req);
      } catch (e) {
        // The code is parsed in wasm (EnrolmentCode::parse) before anything is drawn.
        if (e instanceof Vox.VoxError && e.message.startsWith('code:')) return fail(t('enrol.problem.code_format'), 'code');
        throw e;
      }
      // One Idempotency-Key per drawn request: a retry after a lost answer is answered
      // with the first answer instead of a "code spent".
      const b = new Uint8Array(16);
      crypto.getRandomValues(b);
      made = Object.assign(answer, { mode: 'code', state: 'drawn', leaf: null, idem: Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('') });
      $('code').value = made.code_grouped;
      render();
      Vox.status('enrol-status', t('enrol.made_code'), 'ok');
      $('result').focus();
    } catch (e) {
      Vox.status('enrol-status', t('error.generic') + ' ' + e.message, 'error');
    } finally {
      $('make-button').disabled = false;
    }
  });

  $('saved-confirm').addEventListener('change', () => { if (made) render(); });

  $('enrol-button').addEventListener('click', async () => {
    if (!made || made.mode !== 'code' || made.state !== 'drawn' || !$('saved-confirm').checked) return;
    const current = made;
    current.state = 'sending';
    render();
    Vox.status('send-status', t('enrol.sending'));
    try {
      // The request only: public key, region, code and the credential signature.
      const res = await Vox.api('/electorates/' + encodeURIComponent(current.request.electorate_id) + '/credentials', {
        method: 'POST',
        body: current.request,
        headers: { 'Idempotency-Key': current.idem },
      });
      if (made !== current) return;
      current.state = 'enrolled';
      current.leaf = res && res.leaf_index !== undefined ? res.leaf_index : null;
      render();
      Vox.status('send-status', t('enrol.enrolled', { leaf: current.leaf === null ? '?' : current.leaf }), 'ok');
      Vox.status('enrol-status', '');
      $('enrolled').focus();
    } catch (e) {
      if (made !== current) return;
      const p = problem(e);
      if (p.done) {
        current.state = 'enrolled';
        render();
        Vox.status('send-status', t(p.key), 'ok');
        return;
      }
      const msg = t(p.key) + (p.detail ? ' (' + p.detail + ')' : '');
      if (p.final) {
        // This credential will never be enrolled: take it off the page, say so.
        forget();
        Vox.status('enrol-status', msg + ' ' + t('enrol.discard'), 'error');
        if (p.focus && $(p.focus)) { if (['electorate', 'code', 'region'].includes(p.focus)) invalid(p.focus, true); $(p.focus).focus(); }
        looked = null; // counts and state may have changed
        lookup().catch(() => {});
      } else {
        current.state = 'drawn';
        render();
        Vox.status('send-status', msg, 'error');
        $('enrol-button').focus();
      }
    }
  });

  // ---- secondary flow: a request file for the registrar (nothing is sent) ----

  $('request-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const electorate = $('req-electorate').value.trim();
    const region = $('req-region').value.trim();
    if (!electorate) {
      Vox.status('enrol-status', t('enrol.need_electorate'), 'error');
      invalid('req-electorate', true);
      $('req-electorate').focus();
      return;
    }
    invalid('req-electorate', false);
    $('req-make-button').disabled = true;
    forget();
    try {
      Vox.status('enrol-status', t('enrol.making'));
      const req = { electorate_id: electorate };
      if (region) req.region = region;
      made = Object.assign(await Vox.call('make_credential', req), { mode: 'request' });
      render();
      Vox.status('enrol-status', t('enrol.made'), 'ok');
      $('result').focus();
    } catch (e) {
      Vox.status('enrol-status', t('error.generic') + ' ' + e.message, 'error');
    } finally {
      $('req-make-button').disabled = false;
    }
  });

  $('download-credential').addEventListener('click', () => {
    if (made) Vox.download('vox-credential-' + slug(made.request.electorate_id) + '.txt', made.file, 'text/plain');
  });
  $('download-request').addEventListener('click', () => {
    if (made && made.mode === 'request') Vox.download('vox-enrolment-request-' + slug(made.request.electorate_id) + '.json', JSON.stringify(made.request, null, 2) + '\n');
  });
  $('forget-button').addEventListener('click', () => {
    const mode = made && made.mode;
    forget();
    Vox.status('enrol-status', t('enrol.hidden'), 'ok');
    $(mode === 'request' ? 'req-make-button' : 'make-button').focus();
  });
  Vox.onLang(render);
  if ($('electorate').value.trim()) lookup().catch(() => {});
})();
