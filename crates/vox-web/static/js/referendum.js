// Referendum page: accessible ballot, encryption in the browser, Benaloh audit or cast, receipt.
'use strict';
(async () => {
  const { el, t, api, fmtDate, fmtNum } = Vox;
  await Vox.init();
  const id = Vox.param('id');
  let detail = null;
  let reveals = null;
  let prepared = null;   // { ballot, tracking_code, secrets, choices }
  let credential = null; // kept in memory only between encrypt and cast
  let receipt = null;
  let audits = 0;

  const $ = (x) => document.getElementById(x);

  function kindHint(q) {
    const k = q.kind;
    if (k.type === 'approve') return t('vote.approve_hint', { min: k.min, max: k.max });
    if (k.type === 'score') return t('vote.score_hint', { max: k.max });
    if (k.type === 'choose-one' && k.blank_allowed) return t('vote.blank_hint');
    return t('vote.choose_hint');
  }

  function questionField(q, qi) {
    const name = 'q' + qi;
    const hintId = name + '-hint';
    const fs = el('fieldset', { id: 'fs-' + name, 'aria-describedby': hintId },
      el('legend', { text: q.text }),
      el('p', { class: 'hint', id: hintId, text: kindHint(q) }));
    const k = q.kind;
    if (k.type === 'yes-no' || k.type === 'choose-one') {
      q.options.forEach((o, i) => {
        const iid = name + '-' + i;
        fs.append(el('div', { class: 'choice' }, el('input', { type: 'radio', name, id: iid, value: String(i) }), el('label', { for: iid, text: o })));
      });
      if (k.type === 'choose-one' && k.blank_allowed) {
        const iid = name + '-blank';
        fs.append(el('div', { class: 'choice' }, el('input', { type: 'radio', name, id: iid, value: 'blank' }), el('label', { for: iid, text: t('vote.blank') })));
      }
    } else if (k.type === 'approve') {
      q.options.forEach((o, i) => {
        const iid = name + '-' + i;
        fs.append(el('div', { class: 'choice' }, el('input', { type: 'checkbox', name, id: iid, value: String(i) }), el('label', { for: iid, text: o })));
      });
    } else if (k.type === 'score') {
      q.options.forEach((o, i) => {
        const iid = name + '-' + i;
        let input;
        if (k.max <= 10) {
          input = el('select', { id: iid, name: iid }, ...Array.from({ length: k.max + 1 }, (_, v) => el('option', { value: String(v), text: String(v) })));
        } else {
          input = el('input', { type: 'number', id: iid, name: iid, min: '0', max: String(k.max), step: '1', value: '0', inputmode: 'numeric' });
        }
        fs.append(el('div', { class: 'choice' }, el('label', { for: iid, text: o }), input));
      });
    }
    return fs;
  }

  // Returns choices or throws with the offending question focused.
  function collectChoices() {
    return detail.manifest.questions.map((q, qi) => {
      const name = 'q' + qi;
      const k = q.kind;
      const n = q.options.length;
      const fail = (msg) => { const f = document.querySelector('#fs-' + name + ' input, #fs-' + name + ' select'); if (f) f.focus(); throw new Error(q.text + ': ' + msg); };
      if (k.type === 'yes-no' || k.type === 'choose-one') {
        const c = document.querySelector('input[name="' + name + '"]:checked');
        if (!c) fail(t('vote.need_choice'));
        const v = new Array(n).fill(0);
        if (c.value !== 'blank') v[Number(c.value)] = 1;
        return v;
      }
      if (k.type === 'approve') {
        const v = q.options.map((_, i) => ($(name + '-' + i).checked ? 1 : 0));
        const s = v.reduce((a, b) => a + b, 0);
        if (s < k.min || s > k.max) fail(t('vote.approve_hint', { min: k.min, max: k.max }));
        return v;
      }
      return q.options.map((_, i) => {
        const x = Number($(name + '-' + i).value);
        if (!Number.isInteger(x) || x < 0 || x > k.max) fail(t('vote.score_hint', { max: k.max }));
        return x;
      });
    });
  }

  function describe(choices) {
    return detail.manifest.questions.map((q, qi) => {
      const c = choices[qi];
      let s;
      if (q.kind.type === 'score') s = q.options.map((o, i) => o + ' = ' + c[i]).join(', ');
      else {
        const sel = q.options.filter((_, i) => c[i] > 0);
        s = sel.length ? sel.join(', ') : t('vote.blank');
      }
      return q.text + ' → ' + s;
    });
  }

  function renderHeader() {
    const m = detail.manifest;
    $('title').textContent = m.title;
    document.title = m.title + ' · vox';
    $('description').textContent = m.description;
    const facts = [
      [t('ref.state'), t('state.' + detail.state)],
      [t('ref.window'), t('index.window', { from: fmtDate(m.opens_at), to: fmtDate(m.closes_at) })],
      [t('ref.ballots'), fmtNum(detail.ballots_cast)],
      [t('ref.trustees'), t('ref.trustees_value', { k: m.threshold, n: m.trustees.length })],
      [t('ref.manifest_hash'), el('span', { class: 'mono', text: detail.manifest_hash })],
    ];
    $('facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', {}, v)]));
    $('intro').hidden = false;
  }

  function renderForm() {
    const saved = $('questions').children.length ? (() => { try { return collectChoicesQuiet(); } catch (_) { return null; } })() : null;
    $('questions').replaceChildren(...detail.manifest.questions.map(questionField));
    if (saved) restore(saved);
    $('vote-form').hidden = detail.state !== 'open';
    if (detail.state !== 'open') Vox.status('vote-status', t('vote.not_open', { state: t('state.' + detail.state) }), 'warn');
  }

  function collectChoicesQuiet() {
    return detail.manifest.questions.map((q, qi) => {
      const name = 'q' + qi;
      if (q.kind.type === 'score') return q.options.map((_, i) => Number($(name + '-' + i).value));
      return q.options.map((_, i) => ($(name + '-' + i) && $(name + '-' + i).checked ? 1 : 0));
    });
  }

  function restore(choices) {
    detail.manifest.questions.forEach((q, qi) => {
      const name = 'q' + qi;
      q.options.forEach((_, i) => {
        const e = $(name + '-' + i);
        if (!e) return;
        if (q.kind.type === 'score') e.value = String(choices[qi][i]);
        else e.checked = choices[qi][i] > 0;
      });
    });
  }

  async function credentialText() {
    const typed = $('credential').value.trim();
    if (typed) return typed;
    const file = await Vox.readFile($('credential-file'));
    return file ? Vox.credentialFromFile(file) : '';
  }

  async function encrypt(choices) {
    const started = performance.now();
    const out = await Vox.call('encrypt_ballot', {
      manifest: detail.manifest, manifest_hash: detail.manifest_hash, election_key: detail.election_key,
      credential, choices, reveals,
    });
    prepared = Object.assign(out, { choices, ms: Math.round(performance.now() - started) });
    $('tracking-code').textContent = out.tracking_code;
    $('prepared').hidden = false;
    $('vote-form').hidden = true;
    $('prepared').focus();
  }

  $('vote-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('encrypt-button').disabled = true;
    try {
      const choices = collectChoices();
      credential = await credentialText();
      if (!credential) { $('credential').focus(); throw new Error(t('credential.missing')); }
      Vox.status('vote-status', t('vote.encrypting'));
      await encrypt(choices);
      $('credential').value = '';
      Vox.status('vote-status', t('vote.encrypted', { ms: prepared.ms }) + (prepared.election_key_checked ? ' ' + t('vote.key_checked') : ''), 'ok');
    } catch (e) {
      Vox.status('vote-status', t('error.generic') + ' ' + e.message, 'error');
    } finally {
      $('encrypt-button').disabled = false;
    }
  });

  $('change-button').addEventListener('click', () => {
    prepared = null;
    $('prepared').hidden = true;
    $('vote-form').hidden = false;
    Vox.status('vote-status', '');
    document.querySelector('#questions input, #questions select').focus();
  });

  $('audit-button').addEventListener('click', async () => {
    const buttons = document.querySelectorAll('#prepared button');
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const opened = { ballot: prepared.ballot, choices: prepared.secrets.choices, nonces: prepared.secrets.nonces };
      Vox.status('vote-status', t('vote.auditing'));
      const posted = await api('/referendums/' + encodeURIComponent(id) + '/audits', { method: 'POST', body: opened });
      const check = await Vox.call('audit_opening', { manifest: detail.manifest, manifest_hash: detail.manifest_hash, election_key: detail.election_key, audited: opened });
      audits += 1;
      $('audit-summary').textContent = t('vote.audit_ok', { code: check.tracking_code, leaf: posted.leaf_index });
      $('audit-choices').replaceChildren(...describe(check.choices).map((s) => el('li', { text: s })));
      $('audit-result').hidden = false;
      // The audited ballot can never be cast: prepare a fresh one with the same choices.
      await encrypt(prepared.choices);
      Vox.status('vote-status', t('vote.reencrypted', { code: prepared.tracking_code }), 'ok');
      $('audit-result').focus();
    } catch (e) {
      Vox.status('vote-status', t('vote.audit_failed') + ' ' + e.message, 'error');
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  });

  $('cast-button').addEventListener('click', async () => {
    const buttons = document.querySelectorAll('#prepared button');
    buttons.forEach((b) => { b.disabled = true; });
    try {
      Vox.status('vote-status', t('vote.casting'));
      receipt = await api('/referendums/' + encodeURIComponent(id) + '/ballots', { method: 'POST', body: prepared.ballot });
      // Check the receipt right away against the board key and the ballot we sent.
      const board = await api('/board');
      await Vox.call('verify_receipt', { receipt, board_public_key: board.board_public_key, ballot: prepared.ballot });
      credential = null;
      prepared.secrets = null;
      $('receipt-code').textContent = receipt.tracking_code;
      const facts = [
        [t('petition.leaf'), fmtNum(receipt.leaf_index)],
        [t('petition.tree_size'), fmtNum(receipt.tree_head.tree_size)],
        [t('check.ballot_hash'), el('span', { class: 'mono', text: receipt.ballot_hash })],
      ];
      $('receipt-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', {}, v)]));
      $('check-link').href = 'check.html?referendum=' + encodeURIComponent(id);
      $('prepared').hidden = true;
      $('receipt-box').hidden = false;
      Vox.status('vote-status', t('vote.cast_ok'), 'ok');
      $('receipt-box').focus();
    } catch (e) {
      Vox.status('vote-status', t('error.generic') + ' ' + e.message, 'error');
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  });

  $('download-receipt').addEventListener('click', () => {
    if (receipt) Vox.download('vox-receipt-' + receipt.tracking_code + '.json', receipt);
  });

  Vox.onLang(() => { if (detail) { renderHeader(); renderForm(); } });
  try {
    if (!id) throw new Error(t('error.no_id'));
    detail = await api('/referendums/' + encodeURIComponent(id));
    if (detail.election_key) {
      try { reveals = (await api('/referendums/' + encodeURIComponent(id) + '/ceremony')).reveals; } catch (_) { reveals = null; }
    }
    renderHeader();
    renderForm();
    Vox.load().catch((e) => Vox.status('vote-status', t('error.wasm') + ' ' + e.message, 'error'));
  } catch (e) {
    Vox.status('load-status', t('error.load') + ' ' + e.message, 'error');
  }
})();
