// vox browser client: wasm loader, HTTP API helpers, i18n and small DOM helpers.
// No framework, no external network: everything is served by the vox server itself.
'use strict';

const Vox = (() => {
  // ---- wasm, in a Web Worker (js/vox-worker.js) ----
  // The crypto runs off the main thread, so that proving a ballot or verifying a record
  // never freezes the page; this side only posts requests and awaits the answers.
  let worker = null;
  // Per bundle ('client': vox_web.wasm, 'verify': vox_verify.wasm, 'ring':
  // vox_ring.wasm, 'receipt': vox_receipt.wasm): resolves once loaded.
  let ready = {};
  let nextId = 1;
  const pending = new Map();
  // Milliseconds the worker spent on the last answer of each call (`Vox.timings.encrypt_ballot`…),
  // for the timings the browser test records.
  const timings = {};

  function startWorker() {
    const w = new Worker('js/vox-worker.js');
    w.onmessage = (ev) => {
      const m = ev.data;
      const p = pending.get(m.id);
      if (!p) return;
      if (m.progress) { if (p.onProgress) p.onProgress(m.progress); return; }
      pending.delete(m.id);
      if (m.error !== undefined) {
        const err = m.vox ? new VoxError(m.error) : new Error(m.error);
        if (m.status !== undefined) { err.status = m.status; err.problem = m.problem; }
        p.reject(err);
      }
      else { if (p.name) timings[p.name] = m.ms; p.resolve(m.ok); }
    };
    // The worker script failed to load or threw at the top level: every request fails,
    // and the next one starts a new worker.
    w.onerror = (ev) => {
      ev.preventDefault();
      const err = new Error('vox-worker: ' + (ev.message || 'failed to start'));
      for (const p of pending.values()) p.reject(err);
      pending.clear();
      if (worker === w) { worker = null; ready = {}; }
      w.terminate();
    };
    return w;
  }

  function post(message, name, onProgress) {
    if (!worker) worker = startWorker();
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject, name, onProgress });
      worker.postMessage(Object.assign({ id }, message));
    });
  }

  // Resolves once the worker has compiled and instantiated the bundle (default 'client').
  function load(bundle) {
    const kind = bundle || 'client';
    if (!ready[kind]) {
      ready[kind] = post({ op: 'load', bundle: kind });
      ready[kind].catch(() => { delete ready[kind]; });
    }
    return ready[kind];
  }

  // `bundle`: which wasm has the export (default 'client', vox_web.wasm).
  async function call(name, request, bundle) {
    await load(bundle);
    // A string is sent as is (JSON text the page did not parse, e.g. raw API pages).
    const input = typeof request === 'string' ? request : JSON.stringify(request);
    return post({ op: 'call', name, input, bundle }, name);
  }

  // Sign (or withdraw from) the ring-signed petition `petitionId` on this device (07
  // §7.10): the worker loads vox_ring.wasm, fetches the whole board, checks it against
  // its signed tree head under `boardKey` (the key this browser pinned), derives the
  // rings, proves and posts. `onProgress({phase, n, total})` as it goes. Resolves with
  // `{answer, facts, signature, timings}`; the worker's timings are kept in
  // `Vox.timings` (ring_fetch, ring_derive, ring_prove, ring_send).
  async function ringSign(petitionId, credential, action, boardKey, onProgress) {
    await load('ring');
    const r = await post({ op: 'ring-sign', petition_id: petitionId, credential, action, board_public_key: boardKey }, 'ring_sign_petition', onProgress);
    for (const k of ['fetch', 'derive', 'prove', 'send']) timings['ring_' + k] = r.timings[k + '_ms'];
    return r;
  }

  // Encrypt an anonymous ballot of referendum `referendumId` on this device (04 §4.10):
  // `req` = {manifest, manifest_hash, election_key (from the device check), credential,
  // choices, board_public_key (pinned), fetch (true: fetch and check the whole board and
  // derive the rings; false: reuse the board fed last time)}. `onProgress({phase, n,
  // total})` as it goes. Resolves with `{prepared, latest, timings}`; nothing is posted.
  async function ringBallot(referendumId, req, onProgress) {
    await load('ring');
    const r = await post(Object.assign({ op: 'ring-ballot', referendum_id: referendumId }, req), 'ring_ballot', onProgress);
    for (const k of ['fetch', 'derive', 'encrypt']) if (r.timings[k + '_ms'] !== undefined) timings['ring_ballot_' + k] = r.timings[k + '_ms'];
    return r;
  }

  // Check a petition signature's saved receipt (the parsed file) against the live board
  // under `boardKey` (the key this browser pinned), R1–R6 of 07 §7.10, in the worker
  // with vox_receipt.wasm; `onProgress({phase, n, total})` as the entries since the
  // signature come in. Resolves with the answer of vox_signature_receipt_finish
  // (checks, standing…); a refusal is a VoxError whose message starts with its code.
  async function checkSignatureReceipt(receipt, boardKey, onProgress) {
    await load('receipt');
    return post({ op: 'signature-receipt', receipt, board_public_key: boardKey }, 'signature_receipt', onProgress);
  }

  // The in-browser verifier on this origin's record of `referendumId`, downloaded and
  // checked in the worker; `onProgress({phase, n, total, offset})` as it goes. The report.
  // The worker loads vox_verify.wasm for it (not vox_web.wasm: the results page needs
  // only the verifier).
  async function verifyRecord(referendumId, onProgress) {
    await load('verify');
    return post({ op: 'verify', referendum_id: referendumId }, 'verify_record', onProgress);
  }

  class VoxError extends Error {}

  // ---- HTTP API ----
  async function api(path, options) {
    const opts = Object.assign({ headers: {} }, options || {});
    if (opts.body !== undefined && typeof opts.body !== 'string') {
      opts.body = JSON.stringify(opts.body);
      opts.headers['Content-Type'] = 'application/json';
    }
    if (opts.method === 'POST' && !opts.headers['Idempotency-Key']) {
      const b = new Uint8Array(16);
      crypto.getRandomValues(b);
      opts.headers['Idempotency-Key'] = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    }
    const resp = await fetch('/api/v1' + path, opts);
    const text = await resp.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (_) { body = text; }
    if (!resp.ok) {
      const detail = body && typeof body === 'object'
        ? (body.detail || body.title || JSON.stringify(body)) + (body.field ? ' (' + body.field + ')' : '')
        : String(body || resp.statusText);
      const err = new Error(detail);
      err.status = resp.status;
      err.problem = body;
      throw err;
    }
    return body;
  }

  // ---- the pinned board key (protocol-spec/04-ballots.md §4.7, D1) ----
  // This browser trusts one board key per server origin, pinned in localStorage on
  // first contact (trust on first use, like the CLI's known_boards file). A server that
  // later presents another key is refused with BoardKeyChanged, which the pages show as
  // an alarm: everything the device checks before encrypting, and every receipt, is
  // checked under the pinned key, never under a key the server names now.
  const PIN_PREFIX = 'vox-board-key ';

  class BoardKeyChanged extends Error {
    constructor(pinned, offered) {
      super('the board key of this server has changed');
      this.pinned = pinned;
      this.offered = offered;
    }
  }

  function readPin() {
    const raw = localStorage.getItem(PIN_PREFIX + location.origin);
    if (raw === null) return null;
    try {
      const p = JSON.parse(raw);
      if (p && typeof p.board_public_key === 'string') return p;
    } catch (_) { /* unreadable below */ }
    // An unreadable pin matches no key: an alarm, never a silent re-pin.
    return { board_public_key: String(raw), fingerprint: '?' };
  }

  // The board key this browser trusts for this origin: { key, fingerprint, firstContact }.
  // `bundle`: the wasm that checks the key ('ring' on a ring-signed petition's page,
  // 'receipt' for a signature receipt on the receipt page, so that it loads no other
  // bundle).
  async function trustedBoardKey(bundle) {
    const board = await api('/board');
    // The log id must be the key's (checked in wasm); the key comes back normalised.
    const offered = await call('board_key', { board_public_key: board.board_public_key, log_id: board.log_id }, bundle);
    const pinned = readPin();
    if (pinned) {
      if (pinned.board_public_key !== offered.board_public_key) throw new BoardKeyChanged(pinned, offered);
      return { key: pinned.board_public_key, fingerprint: pinned.fingerprint, firstContact: false };
    }
    localStorage.setItem(PIN_PREFIX + location.origin, JSON.stringify({
      board_public_key: offered.board_public_key, fingerprint: offered.fingerprint, pinned_at: Date.now(),
    }));
    return { key: offered.board_public_key, fingerprint: offered.fingerprint, firstContact: true };
  }

  // ---- the ballots this browser cast (protocol-spec/04-ballots.md §4.8, D8) ----
  // A ballot names its credential's latest ballot as `previous`; the browser remembers
  // the hashes of the ballots it cast, per origin, so that a latest ballot it did not
  // cast (before voting again, or when a receipt is superseded) is an alarm.
  const CAST_PREFIX = 'vox-ballots ';

  function castList() {
    try {
      const l = JSON.parse(localStorage.getItem(CAST_PREFIX + location.origin) || '[]');
      return Array.isArray(l) ? l : [];
    } catch (_) {
      return [];
    }
  }

  function rememberCast(hash) {
    const l = castList();
    if (!l.includes(hash)) l.push(hash);
    localStorage.setItem(CAST_PREFIX + location.origin, JSON.stringify(l.slice(-1000)));
  }

  function castHere(hash) {
    return castList().includes(hash);
  }

  // ---- i18n ----
  const LANGS = ['en', 'fr'];
  let strings = {};
  let lang = 'en';

  function pickLang() {
    const saved = localStorage.getItem('vox-lang');
    if (LANGS.includes(saved)) return saved;
    const nav = (navigator.language || 'en').slice(0, 2).toLowerCase();
    return LANGS.includes(nav) ? nav : 'en';
  }

  function t(key, vars) {
    let s = strings[key];
    if (s === undefined) s = key;
    if (vars) for (const k of Object.keys(vars)) s = s.split('{' + k + '}').join(String(vars[k]));
    return s;
  }

  function applyI18n(root) {
    (root || document).querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
    (root || document).querySelectorAll('[data-i18n-placeholder]').forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
    (root || document).querySelectorAll('[data-i18n-aria-label]').forEach((el) => { el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel)); });
    document.documentElement.lang = lang;
    const title = document.querySelector('title[data-i18n]');
    if (title) document.title = t(title.dataset.i18n) + ' · vox';
  }

  const listeners = [];
  async function setLang(l) {
    lang = LANGS.includes(l) ? l : 'en';
    localStorage.setItem('vox-lang', lang);
    const resp = await fetch('i18n/' + lang + '.json');
    strings = await resp.json();
    applyI18n();
    const sel = document.getElementById('lang');
    if (sel) sel.value = lang;
    for (const f of listeners) f(lang);
  }

  function onLang(f) { listeners.push(f); }

  // ---- DOM helpers ----
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function fmtDate(ms) {
    if (ms === null || ms === undefined) return '—';
    return new Date(ms).toLocaleString(lang === 'fr' ? 'fr-FR' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' });
  }

  function fmtNum(n) { return Number(n).toLocaleString(lang === 'fr' ? 'fr-FR' : 'en-GB'); }

  function param(name) { return new URLSearchParams(location.search).get(name); }

  // Status messages go to an aria-live region.
  function status(elOrId, message, kind) {
    const e = typeof elOrId === 'string' ? document.getElementById(elOrId) : elOrId;
    if (!e) return;
    e.textContent = message;
    e.className = 'status' + (kind ? ' ' + kind : '');
    e.hidden = !message;
  }

  function download(filename, data, type) {
    const blob = new Blob([typeof data === 'string' ? data : JSON.stringify(data, null, 2)], { type: type || 'application/json' });
    // Hidden: an anchor without text is no link to show (nor for axe's link-name rule)
    // while it waits to be removed.
    const a = el('a', { href: URL.createObjectURL(blob), download: filename, hidden: true });
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }

  function readFile(input) {
    return new Promise((resolve, reject) => {
      const f = input.files && input.files[0];
      if (!f) { resolve(null); return; }
      const r = new FileReader();
      r.onload = () => resolve(String(r.result));
      r.onerror = () => reject(r.error);
      r.readAsText(f);
    });
  }

  // A credential file may be the bare credential text or JSON with a "credential" field.
  function credentialFromFile(text) {
    const s = text.trim();
    if (s.startsWith('{')) {
      try { const j = JSON.parse(s); if (j.credential) return String(j.credential); } catch (_) { /* plain text */ }
    }
    const m = s.match(/[0-9A-Za-z]{5}(?:[- ]?[0-9A-Za-z]{5}){4}/);
    return m ? m[0] : s;
  }

  async function init() {
    const sel = document.getElementById('lang');
    if (sel) sel.addEventListener('change', () => setLang(sel.value));
    await setLang(pickLang());
  }

  return { load, call, ringSign, ringBallot, checkSignatureReceipt, verifyRecord, timings, api, trustedBoardKey, BoardKeyChanged, rememberCast, castHere, t, setLang, onLang, applyI18n, el, fmtDate, fmtNum, param, status, download, readFile, credentialFromFile, init, VoxError, get lang() { return lang; } };
})();
