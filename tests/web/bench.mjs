// In-browser benchmark (issue 15 §4): the in-page verifier (vox_verify.wasm in the Web
// Worker, js/vox-worker.js) on a large synthetic record, in headless Chromium.
//
// Usage: node bench.mjs DIST_DIR RECORD_DIR REFERENDUM_ID [RUNS]
//   DIST_DIR:   the web bundle (scripts/build-web.sh);
//   RECORD_DIR: a record directory (record.json, tree-heads.jsonl, entries.jsonl), e.g.
//               from `cargo run --release -p vox-verifier --example verify_bench --
//               10000 --only ten` (scripts/bench-web.sh does both).
// Serves the bundle and, read-only, the record API the worker reads (GET /api/v1/record,
// /board/tree-heads, /board/entries) on 127.0.0.1, then times RUNS verifications
// (default 3) from the page: wall time seen by the page, time inside the worker, and the
// longest main-thread task meanwhile (Long Tasks API). Prints one JSON line per run and
// fails if a verdict is not "pass". A benchmark, not a test: it asserts no timing.
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [dist, recordDir, referendum, runsArg] = process.argv.slice(2);
if (!dist || !recordDir || !referendum) {
  console.error('usage: node bench.mjs DIST_DIR RECORD_DIR REFERENDUM_ID [RUNS]');
  process.exit(2);
}
const RUNS = Number(runsArg || 3);
const header = fs.readFileSync(path.join(recordDir, 'record.json'), 'utf8');
const lines = (file) => fs.readFileSync(path.join(recordDir, file), 'utf8').split('\n').filter((l) => l.trim());
const heads = lines('tree-heads.jsonl');
const entries = lines('entries.jsonl');
const headSizes = heads.map((h) => JSON.parse(h).tree_size);
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm' };

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const send = (code, type, body) => { res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' }); res.end(body); };
  const p = url.pathname;
  if (p === '/api/v1/record') return send(200, 'application/json', header);
  if (p === '/api/v1/board/tree-heads') {
    const since = Number(url.searchParams.get('since') || 0);
    return send(200, 'application/json', '[' + heads.filter((_, i) => headSizes[i] >= since).join(',') + ']');
  }
  if (p === '/api/v1/board/entries') {
    const start = Number(url.searchParams.get('start'));
    const end = Math.min(entries.length, Number(url.searchParams.get('end')));
    const items = [];
    for (let i = start; i < end; i++) items.push('{"index":' + i + ',"entry":' + entries[i] + '}');
    return send(200, 'application/json', '[' + items.join(',') + ']');
  }
  if (p.startsWith('/api/')) return send(404, 'application/json', '{"title":"not in this benchmark"}');
  const file = path.join(dist, path.normalize(p === '/' ? '/index.html' : p).replace(/^(\.\.[/\\])+/, ''));
  fs.readFile(file, (err, data) => (err ? send(404, 'text/plain', 'not found') : send(200, TYPES[path.extname(file)] || 'application/octet-stream', data)));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = 'http://127.0.0.1:' + server.address().port;

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'vox-bench-'));
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
try {
  // index.html asks the API for petitions and referendums, which this server does not
  // serve: only the Vox object (vox.js) and its worker are used.
  await page.goto(base + '/index.html');
  await page.evaluate(() => Vox.load('verify'));
  for (let run = 1; run <= RUNS; run++) {
    const r = await page.evaluate(async (id) => {
      const t0 = performance.now();
      const report = await Vox.verifyRecord(id, () => {});
      const wall = performance.now() - t0;
      await new Promise((res) => setTimeout(res, 200));
      const longest = window.__voxLongTasks.filter((e) => e.start >= t0).reduce((m, e) => Math.max(m, e.ms), 0);
      const ballots = (report.steps.find((s) => s.id === 'V10') || {}).checked;
      return { verdict: report.verdict, wall_ms: wall, worker_ms: Vox.timings.verify_record, longest_task_ms: longest, tree_size: report.tree_size, v10_checked: ballots };
    }, referendum);
    console.log(JSON.stringify(Object.assign({ run, entries: entries.length }, r)));
    if (r.verdict !== 'pass') failed = true;
  }
} finally {
  await context.close();
  server.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
