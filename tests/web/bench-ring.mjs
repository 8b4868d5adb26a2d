// In-browser benchmark of a ring signature (issue 12 §3): a citizen's device signs a
// ring-signed petition whose ring has 4,096 members, in headless Chromium, through the
// page's own path (Vox.trustedBoardKey and Vox.ringSign: the Web Worker loads
// vox_ring.wasm, fetches the board, checks it against its signed tree head under the
// pinned key, derives the rings, proves and posts).
//
// Usage: node bench-ring.mjs DIST_DIR BOARD_DIR [RUNS]
//   DIST_DIR:  the web bundle (scripts/build-web.sh);
//   BOARD_DIR: a synthetic board from `cargo run --release -p vox-web --example
//              ring_board -- BOARD_DIR` (genesis, 8,192 credentials in two regions of
//              4,096, a ring-signed petition "bench"; every act signed by its role);
//              scripts/bench-web.sh ring does both.
// Serves the bundle and, read-only, the API the worker reads (GET /api/v1/board,
// /board/tree-head, /board/entries, /petitions/bench) on 127.0.0.1. A POST to
// /petitions/bench/ring-signatures is kept and answered 201 without being checked (this
// server is not a board: tests/ring.rs and the Chromium test check that the signatures
// verify); the benchmark checks what it can see: every run posts one signature on a
// ring of 4,096 members, and every run's linking tag is the same (one credential, one
// petition). Prints one JSON line per run with the worker's times (fetch + check of the
// board, ring derivation, proof, post) and the longest main-thread task meanwhile. A
// benchmark, not a test: it asserts no timing.
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [dist, boardDir, runsArg] = process.argv.slice(2);
if (!dist || !boardDir) {
  console.error('usage: node bench-ring.mjs DIST_DIR BOARD_DIR [RUNS]');
  process.exit(2);
}
const RUNS = Number(runsArg || 5);
const read = (f) => fs.readFileSync(path.join(boardDir, f), 'utf8');
const board = read('board.json');
const head = read('tree-head.json');
const petition = read('petition.json');
const credential = read('credential.txt').trim();
const entries = read('entries.jsonl').split('\n').filter((l) => l.trim());
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm' };
const posted = [];

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const send = (code, type, body) => { res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' }); res.end(body); };
  const p = url.pathname;
  if (req.method === 'POST' && p === '/api/v1/petitions/bench/ring-signatures') {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      posted.push(JSON.parse(body));
      send(201, 'application/json', JSON.stringify({ leaf_index: entries.length, count: posted.length, tree_head: JSON.parse(head), inclusion_proof: [] }));
    });
    return undefined;
  }
  if (p === '/api/v1/board') return send(200, 'application/json', board);
  if (p === '/api/v1/board/tree-head') return send(200, 'application/json', head);
  if (p === '/api/v1/petitions/bench') return send(200, 'application/json', petition);
  if (p === '/api/v1/board/entries') {
    const start = Number(url.searchParams.get('start'));
    const end = Math.min(entries.length, Number(url.searchParams.get('end')));
    const items = [];
    for (let i = start; i < end; i++) items.push('{"index":' + i + ',"entry":' + entries[i] + '}');
    return send(200, 'application/json', '[' + items.join(',') + ']');
  }
  if (p.startsWith('/api/')) return send(404, 'application/json', '{"title":"not in this benchmark"}');
  const file = path.join(dist, path.normalize(p === '/' ? '/index.html' : p).replace(/^(\.\.[/\\])+/, ''));
  return fs.readFile(file, (err, data) => (err ? send(404, 'text/plain', 'not found') : send(200, TYPES[path.extname(file)] || 'application/octet-stream', data)));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = 'http://127.0.0.1:' + server.address().port;

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'vox-bench-ring-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
await context.addInitScript(() => {
  window.__voxLongTasks = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__voxLongTasks.push({ start: e.startTime, ms: e.duration });
  }).observe({ type: 'longtask', buffered: true });
});
const page = context.pages()[0] || await context.newPage();
let failed = false;
const tags = new Set();
try {
  // index.html asks the API for lists this server does not serve: only the Vox object
  // (vox.js) and its worker are used.
  await page.goto(base + '/index.html');
  await page.evaluate(() => Vox.load('ring'));
  for (let run = 1; run <= RUNS; run++) {
    const r = await page.evaluate(async (cred) => {
      const t0 = performance.now();
      const pin = await Vox.trustedBoardKey('ring');
      const out = await Vox.ringSign('bench', cred, 'sign', pin.key, () => {});
      const wall = performance.now() - t0;
      await new Promise((res) => setTimeout(res, 200));
      const longest = window.__voxLongTasks.filter((e) => e.start >= t0).reduce((m, e) => Math.max(m, e.ms), 0);
      return {
        wall_ms: wall, fetch_ms: out.timings.fetch_ms, derive_ms: out.timings.derive_ms, prove_ms: out.timings.prove_ms,
        send_ms: out.timings.send_ms, ring_members: out.facts.ring_members, region: out.facts.region, tag: out.facts.tag,
        longest_task_ms: longest,
      };
    }, credential);
    tags.add(r.tag);
    console.log(JSON.stringify(Object.assign({ run, entries: entries.length }, r)));
    if (r.ring_members !== 4096) failed = true;
  }
  if (posted.length !== RUNS || tags.size !== 1 || posted.some((p) => !p.signature.startsWith([...tags][0]))) {
    console.error(`expected ${RUNS} signatures with one linking tag; got ${posted.length} posts and ${tags.size} tags`);
    failed = true;
  }
} finally {
  await context.close();
  server.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
