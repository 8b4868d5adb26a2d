// Referendum page: accessible ballot, encryption in the browser, Benaloh audit or cast, receipt.
// An anonymous referendum (04 §4.10) is voted on this device too: after the device check,
// the worker loads vox_ring.wasm, checks the whole board against its signed tree head
// under the pinned board key, derives the referendum's rings, looks up the latest ballot
// of the credential's linking tag and encrypts a ring-signed ballot (Vox.ringBallot);
// the page shows the progress, then audits or casts as for any ballot.
'use strict';
(async () => {
  const { el, t, api, fmtDate, fmtNum } = Vox;
  await Vox.init();
  const id = Vox.param('id');
  let detail = null;
  // The device check (protocol-spec/04-ballots.md §4.7, D1–D7) before anything is
  // encrypted: the evidence gathered from the board under the pinned board key, and what
  // the wasm check made of it. encrypt_ballot takes only the evidence (no key) and runs
  // the same check again, so no ballot or audit is ever encrypted to an unchecked key.
  let trusted = null;   // { key, fingerprint, firstContact }
  let evidence = null;  // { referendum_id, board_public_key, tree_head, detail, leaves }
  let checked = null;   // { manifest_hash, fingerprint, election_key, tree_size }
  let alarm = null;     // a BoardKeyChanged: nothing is encrypted on this page
  let prepared = null;   // { ballot, tracking_code, secrets, choices }
  let credential = null; // kept in memory only between encrypt and cast
  let receipt = null;
  let audits = 0;
  let ringFed = false;   // the ring wasm holds this page's board (anonymous referendums)
  let lastProgress = null;
  const anonymous = () => detail && detail.manifest.participation === 'anonymous';

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
    $('anon-notice').hidden = !anonymous();
  }

  function renderForm() {
    const saved = $('questions').children.length ? (() => { try { return collectChoicesQuiet(); } catch (_) { return null; } })() : null;
    $('questions').replaceChildren(...detail.manifest.questions.map(questionField));
    if (saved) restore(saved);
    $('vote-form').hidden = detail.state !== 'open' || alarm !== null;
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

  // D1 done by Vox.trustedBoardKey; here the signed tree head, the leaves the wasm plan
  // names (genesis, rotations, manifest, ceremony messages, completion) and an inclusion
  // proof for each at the signed head's size. The server's detail is only the map.
  async function gatherEvidence() {
    const treeHead = await api('/board/tree-head');
    const plan = await Vox.call('device_plan', { referendum_id: id, board_public_key: trusted.key, tree_head: treeHead, detail });
    const leaves = await Promise.all(plan.leaves.map(async (index) => {
      const [page, inclusion] = await Promise.all([
        api('/board/entries?start=' + index + '&end=' + (index + 1)),
        api('/board/inclusion?index=' + index + '&tree_size=' + plan.tree_size),
      ]);
      const item = Array.isArray(page) ? page.find((e) => e.index === index) : null;
      // A leaf the server does not return is left out: the wasm check names it.
      return item ? { index, entry: item.entry, proof: inclusion.proof } : null;
    }));
    return { referendum_id: id, board_public_key: trusted.key, tree_head: treeHead, detail, leaves: leaves.filter(Boolean) };
  }

  function renderAlarm() {
    if (!alarm) return;
    $('board-alarm-text').textContent = t('keycheck.alarm', {
      origin: location.origin,
      offered: alarm.offered.board_public_key, offered_fp: alarm.offered.fingerprint,
      pinned: alarm.pinned.board_public_key, pinned_fp: alarm.pinned.fingerprint,
    });
    $('board-alarm').hidden = false;
    $('vote-form').hidden = true;
    $('prepared').hidden = true;
  }

  function renderKeyCheck() {
    if (!checked) return;
    const facts = [
      [t('keycheck.fingerprint'), el('span', { class: 'code', id: 'manifest-fingerprint', text: checked.fingerprint })],
      [t('keycheck.manifest_hash'), el('span', { class: 'mono', id: 'checked-manifest-hash', text: checked.manifest_hash })],
      [t('keycheck.board'), el('span', { class: 'mono', text: trusted.fingerprint })],
      [t('keycheck.tree_size'), fmtNum(checked.tree_size)],
    ];
    $('key-check-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', {}, v)]));
    $('first-contact').textContent = trusted.firstContact ? t('keycheck.first_contact', { origin: location.origin, fp: trusted.fingerprint }) : '';
    $('first-contact').hidden = !trusted.firstContact;
    $('key-check').hidden = false;
  }

  // Runs once the referendum is open: pins or checks the board key, gathers the evidence
  // and checks it, then shows the manifest hash and fingerprint (or the refusal).
  async function checkKey() {
    Vox.status('key-status', t('keycheck.checking'));
    try {
      trusted = await Vox.trustedBoardKey();
    } catch (e) {
      if (!(e instanceof Vox.BoardKeyChanged)) throw e;
      alarm = e;
      Vox.status('key-status', '');
      renderAlarm();
      $('board-alarm').focus();
      return;
    }
    evidence = await gatherEvidence();
    checked = await Vox.call('check_election_key', { evidence });
    Vox.status('key-status', '');
    renderKeyCheck();
  }

  // Progress of an anonymous ballot: the bar follows every page of entries; the live
  // status says each new phase once.
  const PHASES = { fetch: 'vote.anon_phase_fetch', derive: 'vote.anon_phase_derive', encrypt: 'vote.anon_phase_encrypt', again: 'vote.anon_phase_again' };
  function showProgress(p) {
    const box = $('ring-progress-box');
    const bar = $('ring-progress');
    box.hidden = false;
    const text = t(PHASES[p.phase] || p.phase, { n: fmtNum(p.n), total: fmtNum(p.total) });
    $('ring-phase').textContent = text;
    if (p.phase === 'fetch' && p.total > 0) {
      bar.max = p.total;
      bar.value = p.n;
    } else if (p.phase === 'fetch' || p.phase === 'again') {
      bar.removeAttribute('value');
    } else {
      bar.max = 1;
      bar.value = 1;
    }
    return text;
  }

  function onRingProgress(p) {
    const was = lastProgress && lastProgress.phase;
    lastProgress = p;
    const text = showProgress(p);
    if (p.phase !== was) Vox.status('vote-status', text);
  }

  function hideProgress() {
    lastProgress = null;
    $('ring-progress-box').hidden = true;
  }

  function ringText(f) {
    return t('vote.anon_ring_desc', { i: fmtNum(f.ring_index + 1), k: fmtNum(f.ring_count), members: fmtNum(f.ring_members) });
  }

  // An anonymous ballot (04 §4.10), encrypted by the ring bundle under the manifest and
  // key the device check established (the wasm checks again that the manifest is the one
  // created on the board it fed, and anonymous). `refetch`: fetch and check the board
  // again (first ballot, or the rings changed).
  async function encryptAnonymous(choices, refetch) {
    const r = await Vox.ringBallot(id, {
      manifest: detail.manifest, manifest_hash: checked.manifest_hash, election_key: checked.election_key,
      credential, choices, board_public_key: trusted.key, fetch: refetch || !ringFed,
    }, onRingProgress);
    ringFed = true;
    hideProgress();
    return { out: Object.assign(r.prepared, { checked }), latest: r.latest };
  }

  async function encrypt(choices, refetch) {
    if (alarm || !evidence) throw new Error(t('keycheck.not_checked'));
    const started = performance.now();
    if (anonymous()) {
      // The ring bundle encrypts to the key the device check recomputed: no check, no ballot.
      if (!checked) throw new Error(t('keycheck.not_checked'));
      const { out, latest } = await encryptAnonymous(choices, refetch);
      const foreign = latest && !Vox.castHere(latest.ballot_hash) ? latest : null;
      prepared = Object.assign(out, { choices, foreign, ms: Math.round(performance.now() - started) });
      $('tracking-code').textContent = out.tracking_code;
      $('prepared-ring').textContent = t('vote.anon_ring', { members: fmtNum(out.ring_members), i: fmtNum(out.ring_index + 1), k: fmtNum(out.ring_count) });
      $('prepared-ring').hidden = false;
      $('prepared').hidden = false;
      $('vote-form').hidden = true;
      $('prepared').focus();
      return;
    }
    $('prepared-ring').hidden = true;
    // The ballot names the credential's latest ballot (04 §4.8); one this browser did not
    // cast is an alarm (D8): someone else holds the credential or a ballot it signed.
    const pk = (await Vox.call('credential_public_key', { credential })).public_key;
    const latest = await api('/referendums/' + encodeURIComponent(id) + '/credentials/' + pk + '/latest-ballot');
    const request = { evidence, credential, choices };
    if (latest) request.previous = latest.ballot_hash;
    const out = await Vox.call('encrypt_ballot', request);
    const foreign = latest && !Vox.castHere(latest.ballot_hash) ? latest : null;
    prepared = Object.assign(out, { choices, foreign, ms: Math.round(performance.now() - started) });
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
      if (prepared.foreign) {
        Vox.status('vote-status', t('vote.foreign_ballot', { code: prepared.foreign.tracking_code, leaf: prepared.foreign.leaf_index }), 'error');
      } else {
        Vox.status('vote-status', t('vote.encrypted', { ms: prepared.ms }) + ' ' + t('vote.key_checked', { fp: prepared.checked.fingerprint }), 'ok');
      }
    } catch (e) {
      hideProgress();
      Vox.status('vote-status', refusal(e), 'error');
    } finally {
      $('encrypt-button').disabled = false;
    }
  });

  // A refusal, as a sentence (the ring bundle's and the server's known ones).
  function refusal(e) {
    const msg = String(e.message || '');
    if (msg.startsWith('not-in-ring:')) return t('vote.anon_not_in_ring');
    if (isRingsChanged(e)) return t('vote.anon_changed');
    return t('error.generic') + ' ' + msg;
  }

  function isRingsChanged(e) {
    return e && e.status === 409 && e.problem && String(e.problem.type || '').endsWith('rings-changed');
  }

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
      // Opened under the key the device check recomputed (the one it was encrypted to).
      const check = await Vox.call('audit_opening', { manifest: detail.manifest, manifest_hash: prepared.checked.manifest_hash, election_key: prepared.checked.election_key, audited: opened });
      audits += 1;
      $('audit-summary').textContent = t('vote.audit_ok', { code: check.tracking_code, leaf: posted.leaf_index });
      $('audit-choices').replaceChildren(...describe(check.choices).map((s) => el('li', { text: s })));
      $('audit-result').hidden = false;
      // The audited ballot can never be cast: prepare a fresh one with the same choices.
      await encrypt(prepared.choices);
      Vox.status('vote-status', t('vote.reencrypted', { code: prepared.tracking_code }), 'ok');
      $('audit-result').focus();
    } catch (e) {
      hideProgress();
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
      // An anonymous ballot whose rings changed meanwhile (a revocation or replacement,
      // 409 rings-changed): check the board and derive the rings again, encrypt again with
      // the same choices, and cast that; three attempts in all.
      for (let attempt = 1; ; attempt++) {
        try {
          receipt = await api('/referendums/' + encodeURIComponent(id) + '/ballots', { method: 'POST', body: prepared.ballot });
          break;
        } catch (e) {
          if (!anonymous() || !isRingsChanged(e) || attempt >= 3) throw e;
          onRingProgress({ phase: 'again', n: attempt, total: 3 });
          if (!credential) throw e;
          await encrypt(prepared.choices, true);
          Vox.status('vote-status', t('vote.casting'));
        }
      }
      // Check the receipt right away against the pinned board key and the ballot we sent.
      await Vox.call('verify_receipt', { receipt, board_public_key: trusted.key, ballot: prepared.ballot });
      Vox.rememberCast(receipt.ballot_hash);
      credential = null;
      prepared.secrets = null;
      $('receipt-code').textContent = receipt.tracking_code;
      const ringFacts = prepared.ring ? [
        [t('vote.anon_ring_label'), el('span', { id: 'receipt-ring', text: ringText(prepared) })],
        [t('vote.anon_tag'), el('span', { class: 'mono', id: 'receipt-tag', text: prepared.tag })],
      ] : [];
      const facts = [
        ...ringFacts,
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
      hideProgress();
      Vox.status('vote-status', refusal(e), 'error');
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  });

  $('download-receipt').addEventListener('click', () => {
    if (receipt) Vox.download('vox-receipt-' + receipt.tracking_code + '.json', receipt);
  });

  Vox.onLang(() => { if (detail) { renderHeader(); renderForm(); renderKeyCheck(); renderAlarm(); if (lastProgress) showProgress(lastProgress); } });
  try {
    if (!id) throw new Error(t('error.no_id'));
    detail = await api('/referendums/' + encodeURIComponent(id));
    renderHeader();
    renderForm();
    Vox.load().catch((e) => Vox.status('vote-status', t('error.wasm') + ' ' + e.message, 'error'));
    if (detail.state === 'open') {
      // A failed check leaves the form in place: encrypt_ballot refuses on its own, and
      // the refusal stays on the page.
      checkKey().catch((e) => Vox.status('key-status', t('keycheck.refused') + ' ' + e.message, 'error'));
    }
  } catch (e) {
    Vox.status('load-status', t('error.load') + ' ' + e.message, 'error');
  }
})();
