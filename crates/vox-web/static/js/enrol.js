// Make my credential: draw a credential in this browser (wasm, page-seeded CSPRNG) and the
// enrolment request for the registrar. This page makes no API call: nothing is sent.
'use strict';
(async () => {
  const { el, t } = Vox;
  await Vox.init();
  const $ = (x) => document.getElementById(x);
  // The answer of vox_make_credential, kept only in this variable until "hide" or unload.
  let made = null;

  const given = Vox.param('electorate');
  if (given) $('electorate').value = given;

  // File names keep only safe characters of the electorate id.
  const slug = (s) => s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 64) || 'electorate';

  function render() {
    if (!made) return;
    $('credential-text').textContent = made.credential;
    const r = made.request;
    const facts = [
      [t('enrol.fact_electorate'), r.electorate_id],
      [t('enrol.fact_region'), r.region || t('enrol.no_region')],
      [t('enrol.fact_public_key'), el('span', { class: 'mono', id: 'public-key', text: made.public_key })],
    ];
    $('result-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', {}, v)]));
    $('result').hidden = false;
  }

  function forget() {
    made = null;
    $('credential-text').textContent = '';
    $('result-facts').replaceChildren();
    $('result').hidden = true;
  }

  $('enrol-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const electorate = $('electorate').value.trim();
    const region = $('region').value.trim();
    if (!electorate) {
      Vox.status('enrol-status', t('enrol.need_electorate'), 'error');
      $('electorate').setAttribute('aria-invalid', 'true');
      $('electorate').focus();
      return;
    }
    $('electorate').removeAttribute('aria-invalid');
    $('make-button').disabled = true;
    forget();
    try {
      Vox.status('enrol-status', t('enrol.making'));
      const req = { electorate_id: electorate };
      if (region) req.region = region;
      made = await Vox.call('make_credential', req);
      render();
      Vox.status('enrol-status', t('enrol.made'), 'ok');
      $('result').focus();
    } catch (e) {
      Vox.status('enrol-status', t('error.generic') + ' ' + e.message, 'error');
    } finally {
      $('make-button').disabled = false;
    }
  });

  $('download-credential').addEventListener('click', () => {
    if (made) Vox.download('vox-credential-' + slug(made.request.electorate_id) + '.txt', made.file, 'text/plain');
  });
  $('download-request').addEventListener('click', () => {
    if (made) Vox.download('vox-enrolment-request-' + slug(made.request.electorate_id) + '.json', JSON.stringify(made.request, null, 2) + '\n');
  });
  $('forget-button').addEventListener('click', () => {
    forget();
    Vox.status('enrol-status', t('enrol.hidden'), 'ok');
    $('make-button').focus();
  });
  Vox.onLang(render);
})();
