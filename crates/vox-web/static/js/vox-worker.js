// vox browser client: the Web Worker that runs the wasm crypto off the page's main
// thread (issue 15 §4). Proving a ballot or verifying a record takes from tens of
// milliseconds to seconds; on the main thread that froze the page (no repaint, no input)
// for that long. Here it only delays the answer: vox.js posts a request and awaits it.
//
// Messages from the page (vox.js):
//   {id, op: 'load', bundle?}                     → {id, ok: true} once the wasm is ready
//       bundle: 'client' (default, vox_web.wasm), 'verify' (vox_verify.wasm), 'ring'
//       (vox_ring.wasm) or 'receipt' (vox_receipt.wasm).
//   {id, op: 'call', name, input, bundle?}        → {id, ok: answer, ms} | {id, error, vox}
//       name: a `vox_<name>` export of the bundle (default vox_web.wasm); input: the JSON
//       text of its request.
//   {id, op: 'verify', referendum_id}             → {id, progress: {phase, n, total, offset}}…
//       then {id, ok: report, ms} | {id, error, vox}
//       With vox_verify.wasm. The worker downloads the record itself from /api/v1 (same
//       origin), page by page, and hands each page to the wasm verifier as the server's
//       text, unparsed (no number is rounded by JavaScript), and keeps none: pass 1
//       indexes a page and drops it, pass 2 downloads the pages again
//       (vox_verify_stream). Only the progress and the report return to the page.
//   {id, op: 'ring-sign', petition_id, credential, action, board_public_key}
//       → {id, progress: {phase, n, total}}… then {id, ok: {answer, facts, timings}, ms}
//       | {id, error, vox, status?, problem?}
//       With vox_ring.wasm (issue 12 §3; 07 §7.10): a ring-signed petition signed on this
//       device, as `vox voter sign` does. The worker fetches the petition, the board's
//       signed tree head and every board entry from leaf 0 (pages of GET
//       /api/v1/board/entries, as the server sent them), feeds them to the wasm, which
//       checks the head under the board key the page pinned, every authority act, and
//       that the entries hash to the head, then derives the petition's rings itself
//       (never taking them from the server), proves, and POSTs the signature to
//       /api/v1/petitions/{id}/ring-signatures. A 409 `rings-changed` (a revocation or
//       replacement meanwhile) derives again, at most three times in all. Phases:
//       'fetch' (n of total entries), 'derive', 'prove', 'send', 'again' (rings changed).
//       `timings`: fetch_ms, derive_ms, prove_ms, send_ms of the last attempt; attempts.
//   {id, op: 'ring-ballot', referendum_id, manifest, manifest_hash, election_key,
//        credential, choices, board_public_key, fetch}
//       → {id, progress: {phase, n, total}}… then {id, ok: {prepared, latest, timings}, ms}
//       | {id, error, vox, status?, problem?}
//       With vox_ring.wasm (issue 12 §3; 04 §4.10): an anonymous ballot encrypted on this
//       device, as `vox vote` does. With `fetch` (the first ballot of a page, or after a
//       409 `rings-changed`), the worker fetches the signed tree head and every board
//       entry from leaf 0 and feeds them to the wasm, which checks them as for a petition
//       and derives the referendum's rings (the manifest and election key are the ones
//       the device check of vox_web.wasm established; the wasm checks that the manifest
//       is the one created on that board, and anonymous); without it, the board fed
//       last time is used again (a fresh encryption after an audit). Then the latest
//       ballot of the credential's linking tag (GET …/credentials/{tag}/latest-ballot,
//       04 §4.8) and the encryption. `prepared`: the answer of vox_ring_encrypt_ballot
//       (ballot, tracking code, tag, ring facts, audit secrets); `latest`: the tag's
//       latest ballot on the board or null. Phases: 'fetch' (n of total), 'derive',
//       'encrypt'. Nothing is posted: the page audits or casts.
//   {id, op: 'signature-receipt', receipt, board_public_key}
//       → {id, progress: {phase, n, total}}… then {id, ok: the check's answer, ms}
//       | {id, error, vox}
//       With vox_receipt.wasm (07 §7.10 "Receipt", R1–R6; the receipt page): a petition
//       signature's saved receipt (the parsed file) checked against the live board under
//       the board key the page pinned, as `vox voter check-receipt` does. The worker
//       fetches the latest signed tree head and the consistency proof from the receipt's
//       head to it (vox_signature_receipt_begin: R1–R3), then the entries from the
//       receipt's leaf to the latest size, page by page as the server sent them
//       (vox_signature_receipt_feed: R4, each leaf hash onto the compact stack, the
//       signer's standing), and concludes (vox_signature_receipt_finish: R5, R6). No page
//       is kept. Phases: 'head', 'entries' (n of total entries since the receipt's leaf).
//       A refusal's message starts with a code (`r1:`…, see src/signature_receipt.rs).
// `vox: true` marks an error the wasm reported ({"error": …}); other errors are thrown
// exceptions (network, HTTP, a trap). After a trap the instance is dropped and the next
// request instantiates the module afresh.
'use strict';

// Three bundles (issue 15 §4, size): vox_web.wasm has every export but the record
// verifier and the ring prover (the voting, petition, enrolment and receipt pages);
// vox_verify.wasm has the verifier's exports only (the results page); vox_ring.wasm the
// ring signer's (and its own board-key check), fetched only when a citizen signs a
// ring-signed petition or votes in an anonymous referendum; vox_receipt.wasm the check of
// a petition signature's saved receipt (and its own board-key check), fetched by the
// receipt page for such a receipt only. Each is fetched on first use.
const BUNDLES = { client: '../vox_web.wasm', verify: '../vox_verify.wasm', ring: '../vox_ring.wasm', receipt: '../vox_receipt.wasm' };
const instances = {};
const loading = {};

function load(bundle) {
  const kind = bundle || 'client';
  if (instances[kind]) return Promise.resolve(instances[kind]);
  if (!BUNDLES[kind]) return Promise.reject(new Error('vox-worker: unknown bundle ' + kind));
  if (!loading[kind]) {
    loading[kind] = (async () => {
      const url = new URL(BUNDLES[kind], self.location.href);
      const resp = await fetch(url);
      if (!resp.ok) throw new Error(url.pathname + ': HTTP ' + resp.status);
      const module = await WebAssembly.compile(await resp.arrayBuffer());
      // Any import the module declares (none are expected: no wasm-bindgen) is a stub
      // that fails loudly.
      const imports = {};
      for (const imp of WebAssembly.Module.imports(module)) {
        imports[imp.module] = imports[imp.module] || {};
        imports[imp.module][imp.name] = () => { throw new Error('wasm import ' + imp.module + '.' + imp.name + ' is not provided'); };
      }
      const instance = await WebAssembly.instantiate(module, imports);
      instances[kind] = instance.exports;
      loading[kind] = null;
      return instance.exports;
    })();
    loading[kind].catch(() => { loading[kind] = null; });
  }
  return loading[kind];
}

class VoxError extends Error {}

function writeBytes(w, bytes) {
  const ptr = w.vox_alloc(bytes.length);
  if (!ptr) throw new Error('wasm: out of memory');
  new Uint8Array(w.memory.buffer, ptr, bytes.length).set(bytes);
  return ptr;
}

// Fresh browser randomness into the wasm ChaCha20 generator before every call.
function seed(w) {
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  const ptr = writeBytes(w, bytes);
  const rc = w.vox_seed(ptr, bytes.length);
  w.vox_free(ptr, bytes.length);
  if (rc !== 0) throw new Error('wasm: seeding failed');
}

// One call of a `vox_<name>` export with the JSON text `input`: its `ok` value, or a
// VoxError with its `error`.
function call(w, name, input) {
  const f = w['vox_' + name];
  if (typeof f !== 'function') throw new Error('wasm: no export vox_' + name);
  const bytes = new TextEncoder().encode(input);
  try {
    seed(w);
    const ptr = writeBytes(w, bytes);
    const out = f(ptr, bytes.length);
    w.vox_free(ptr, bytes.length);
    const len = new DataView(w.memory.buffer).getUint32(out, true);
    const json = new TextDecoder().decode(new Uint8Array(w.memory.buffer, out + 4, len));
    w.vox_free(out, len + 4);
    const answer = JSON.parse(json);
    if (answer.error !== undefined) throw new VoxError(answer.error);
    return answer.ok;
  } catch (e) {
    // Trapped: start afresh next time.
    if (e instanceof WebAssembly.RuntimeError) {
      for (const k of Object.keys(instances)) if (instances[k] === w) delete instances[k];
    }
    throw e;
  }
}

// ---- the record, downloaded page by page (same API as vox-verify --server) ----
const PAGE = 1000;

async function fetchText(path) {
  const resp = await fetch('/api/v1' + path);
  const text = await resp.text();
  if (!resp.ok) throw new Error(path + ': HTTP ' + resp.status + ' ' + text.slice(0, 200));
  return text;
}

async function fetchJson(path) {
  return JSON.parse(await fetchText(path));
}

async function treeHeads(upto) {
  let all = await fetchJson('/board/tree-heads?since=0');
  for (;;) {
    const last = all.length ? all[all.length - 1].tree_size : null;
    if (last === null || last >= upto) break;
    const fresh = (await fetchJson('/board/tree-heads?since=' + (last + 1))).filter((h) => h.tree_size > last);
    if (!fresh.length) break;
    all = all.concat(fresh);
  }
  // The board may have grown since the header was read: keep the heads it covers.
  return all.filter((h) => h.tree_size <= upto);
}

async function verifyRecord(id, referendumId) {
  const progress = (phase, n, total, offset) => self.postMessage({ id, progress: { phase, n, total, offset } });
  const w = await load('verify');
  const header = await fetchJson('/record?referendum=' + encodeURIComponent(referendumId));
  const total = header.tree_size;
  progress('verify.phase_download', 0, total, 0);
  const heads = await treeHeads(total);
  // A streaming session: pass 1 indexes each page and drops it (the wasm keeps 32 bytes
  // of SHA-256 per entry); pass 2 downloads the pages again and refuses an entry that
  // differs. Neither this worker nor the wasm ever holds the record's text.
  call(w, 'verify_begin', JSON.stringify({ header, tree_heads: heads, referendum_id: referendumId, stream: true }));
  const pagePath = (start) => '/board/entries?start=' + start + '&end=' + Math.min(total, start + PAGE);
  for (let start = 0; start < total; start += PAGE) {
    const end = Math.min(total, start + PAGE);
    const fed = call(w, 'verify_feed', '{"entries":' + await fetchText(pagePath(start)) + '}');
    progress('verify.phase_download', fed.received, total, 0);
    if (fed.received !== end) throw new Error('entries: expected ' + end + ', got ' + fed.received);
  }
  for (let start = 0; start < total; start += PAGE) {
    const end = Math.min(total, start + PAGE);
    const p = call(w, 'verify_stream', '{"entries":' + await fetchText(pagePath(start)) + '}');
    progress('verify.phase_verify', p.verified, total, total);
    if (p.verified !== end) throw new Error('entries: expected ' + end + ', got ' + p.verified);
  }
  return call(w, 'verify_finish', '{}');
}

// ---- a ring-signed petition, signed on this device (07 §7.10) ----
class HttpError extends Error {
  constructor(message, status, problem) {
    super(message);
    this.status = status;
    this.problem = problem;
  }
}

function idempotencyKey() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

async function postJson(path, body) {
  const resp = await fetch('/api/v1' + path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Idempotency-Key': idempotencyKey() },
    body: JSON.stringify(body),
  });
  const text = await resp.text();
  let answer = null;
  try { answer = text ? JSON.parse(text) : null; } catch (_) { answer = text; }
  if (!resp.ok) {
    const detail = answer && typeof answer === 'object'
      ? (answer.detail || answer.title || text) + (answer.field ? ' (' + answer.field + ')' : '')
      : String(answer || resp.statusText);
    throw new HttpError(detail, resp.status, answer && typeof answer === 'object' ? answer : null);
  }
  return answer;
}

async function ringSign(id, req) {
  const progress = (phase, n, total) => self.postMessage({ id, progress: { phase, n, total } });
  const w = await load('ring');
  const petitionPath = '/petitions/' + encodeURIComponent(req.petition_id);
  for (let attempt = 1; ; attempt++) {
    const timings = { attempts: attempt };
    let t0 = performance.now();
    const detail = await fetchJson(petitionPath);
    const head = await fetchText('/board/tree-head');
    // The head's signature is checked in wasm under the key the page pinned.
    const begun = call(w, 'ring_begin', '{"board_public_key":' + JSON.stringify(req.board_public_key) + ',"tree_head":' + head + '}');
    const total = begun.tree_size;
    progress('fetch', 0, total);
    let next = 0;
    while (next < total) {
      const end = Math.min(total, next + PAGE);
      // The server's text, unparsed: the wasm reads the entries as the board holds them.
      const fed = call(w, 'ring_feed', '{"entries":' + await fetchText('/board/entries?start=' + next + '&end=' + end) + '}');
      if (fed.received <= next) throw new Error('entries: the server returned none for ' + next + '..' + end);
      next = fed.received;
      progress('fetch', next, total);
    }
    timings.fetch_ms = performance.now() - t0;
    progress('derive', total, total);
    const input = JSON.stringify({ petition: detail.petition, petition_hash: detail.petition_hash, credential: req.credential, action: req.action });
    t0 = performance.now();
    const facts = call(w, 'ring_derive', input);
    timings.derive_ms = performance.now() - t0;
    progress('prove', 0, facts.ring_members);
    t0 = performance.now();
    const signed = call(w, 'ring_sign', input);
    timings.prove_ms = performance.now() - t0;
    progress('send', 0, 0);
    t0 = performance.now();
    try {
      const answer = await postJson(petitionPath + '/ring-signatures', signed.signature);
      timings.send_ms = performance.now() - t0;
      // The answer is a receipt: its head signed under the pinned key, its leaf exactly
      // the posted signature, included under that head (checked in wasm).
      const leaf = answer.leaf_index;
      const entries = await fetchText('/board/entries?start=' + leaf + '&end=' + (leaf + 1));
      const receipt = call(w, 'ring_check_receipt', '{"board_public_key":' + JSON.stringify(req.board_public_key) +
        ',"answer":' + JSON.stringify(answer) + ',"entries":' + entries + ',"signature":' + JSON.stringify(signed.signature) + '}');
      const shown = Object.assign({}, signed);
      delete shown.signature;
      return { answer, facts: shown, signature: signed.signature, receipt, timings };
    } catch (e) {
      const changed = e instanceof HttpError && e.status === 409 && e.problem && String(e.problem.type || '').endsWith('rings-changed');
      if (!changed || attempt >= 3) throw e;
      progress('again', attempt, 3);
    }
  }
}

async function ringBallot(id, req) {
  const progress = (phase, n, total) => self.postMessage({ id, progress: { phase, n, total } });
  const w = await load('ring');
  const timings = {};
  const input = { manifest: req.manifest, manifest_hash: req.manifest_hash, credential: req.credential };
  let t0 = performance.now();
  if (req.fetch) {
    const head = await fetchText('/board/tree-head');
    // The head's signature is checked in wasm under the key the page pinned.
    const begun = call(w, 'ring_begin', '{"board_public_key":' + JSON.stringify(req.board_public_key) + ',"tree_head":' + head + '}');
    const total = begun.tree_size;
    progress('fetch', 0, total);
    let next = 0;
    while (next < total) {
      const end = Math.min(total, next + PAGE);
      // The server's text, unparsed: the wasm reads the entries as the board holds them.
      const fed = call(w, 'ring_feed', '{"entries":' + await fetchText('/board/entries?start=' + next + '&end=' + end) + '}');
      if (fed.received <= next) throw new Error('entries: the server returned none for ' + next + '..' + end);
      next = fed.received;
      progress('fetch', next, total);
    }
    timings.fetch_ms = performance.now() - t0;
    progress('derive', total, total);
  }
  t0 = performance.now();
  // The entries hash to the head; the manifest is the board's; the credential's ring.
  const facts = call(w, 'ring_referendum_derive', JSON.stringify(input));
  timings.derive_ms = performance.now() - t0;
  // D8 (04 §4.8): the ballot names the latest ballot of the credential's tag.
  const latest = await fetchJson('/referendums/' + encodeURIComponent(req.referendum_id) + '/credentials/' + facts.tag + '/latest-ballot');
  progress('encrypt', 0, facts.ring_members);
  t0 = performance.now();
  const request = Object.assign({}, input, { election_key: req.election_key, choices: req.choices });
  if (latest) request.previous = latest.ballot_hash;
  const prepared = call(w, 'ring_encrypt_ballot', JSON.stringify(request));
  timings.encrypt_ms = performance.now() - t0;
  return { prepared, latest, timings };
}

// ---- a petition signature's receipt, checked later (07 §7.10, R1–R6) ----
async function signatureReceipt(id, req) {
  const progress = (phase, n, total) => self.postMessage({ id, progress: { phase, n, total } });
  const w = await load('receipt');
  const receipt = req.receipt;
  progress('head', 0, 0);
  const headText = await fetchText('/board/tree-head');
  const head = JSON.parse(headText);
  const old = receipt && receipt.tree_head && receipt.tree_head.tree_size;
  let request = '{"receipt":' + JSON.stringify(receipt) + ',"board_public_key":' + JSON.stringify(req.board_public_key) + ',"tree_head":' + headText;
  // The proof that the latest head extends the receipt's (checked in wasm, R3).
  if (Number.isSafeInteger(old) && old > 0 && Number.isSafeInteger(head.tree_size) && head.tree_size > old) {
    request += ',"consistency":' + await fetchText('/board/consistency?first=' + old + '&second=' + head.tree_size);
  }
  const begun = call(w, 'signature_receipt_begin', request + '}');
  const from = begun.from;
  const total = begun.tree_size;
  progress('entries', 0, total - from);
  let next = from;
  while (next < total) {
    const end = Math.min(total, next + PAGE);
    // The server's text, unparsed: the wasm hashes the entries as the board holds them.
    const fed = call(w, 'signature_receipt_feed', '{"entries":' + await fetchText('/board/entries?start=' + next + '&end=' + end) + '}');
    if (fed.received <= next) throw new Error('entries: the server returned none for ' + next + '..' + end);
    next = fed.received;
    progress('entries', next - from, total - from);
  }
  return call(w, 'signature_receipt_finish', '{}');
}

self.onmessage = async (ev) => {
  const { id, op } = ev.data;
  const started = performance.now();
  try {
    let ok;
    if (op === 'load') {
      await load(ev.data.bundle);
      ok = true;
    } else if (op === 'call') {
      ok = call(await load(ev.data.bundle), ev.data.name, ev.data.input);
    } else if (op === 'ring-ballot') {
      ok = await ringBallot(id, ev.data);
    } else if (op === 'ring-sign') {
      ok = await ringSign(id, ev.data);
    } else if (op === 'signature-receipt') {
      ok = await signatureReceipt(id, ev.data);
    } else if (op === 'verify') {
      ok = await verifyRecord(id, ev.data.referendum_id);
    } else {
      throw new Error('vox-worker: unknown request ' + op);
    }
    self.postMessage({ id, ok, ms: performance.now() - started });
  } catch (e) {
    const m = { id, error: String(e && e.message !== undefined ? e.message : e), vox: e instanceof VoxError };
    if (e instanceof HttpError) { m.status = e.status; m.problem = e.problem; }
    self.postMessage(m);
  }
};
