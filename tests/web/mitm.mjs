// A dishonest server for the browser test (protocol-spec/04-ballots.md §4.7): serves the
// pages like proxy.mjs and forwards /api/* to the real vox server, but lies about one
// referendum, so that the page must refuse to encrypt. Listens on 127.0.0.1 only.
// Usage: node mitm.mjs DIST_DIR UPSTREAM_URL MODE REFERENDUM_ID
//   MODE "key":  GET /api/v1/referendums/{id} shows another election key (a point the
//                server chose: the first trustee's public key), the attack of §4.7;
//   MODE "leaf": GET /api/v1/board/entries serves the referendum's first ceremony
//                message changed (its trustee index swapped), as if the server had
//                substituted a trustee's message; its signed tree still holds the real one.
// Prints "listening <url>" when ready. Every request line is printed as "request <method>
// <path>" (the test reads the page's own requests; this log is for debugging).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const [dist, upstream, mode, referendum] = process.argv.slice(2);
if (!['key', 'leaf'].includes(mode) || !referendum) {
  console.error('usage: node mitm.mjs DIST_DIR UPSTREAM_URL key|leaf REFERENDUM_ID');
  process.exit(2);
}
const up = new URL(upstream);
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm', '.svg': 'image/svg+xml' };
const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const detailPath = '/api/v1/referendums/' + encodeURIComponent(referendum);

// The JSON answer to rewrite for this request, as a function of the parsed body, or null.
function rewriter(method, url) {
  if (method !== 'GET') return null;
  if (mode === 'key' && url.pathname === detailPath) {
    return (v) => {
      if (v && v.manifest && v.election_key) v.election_key = v.manifest.trustees[0].signing_key;
      return v;
    };
  }
  if (mode === 'leaf' && url.pathname === '/api/v1/board/entries') {
    return (page) => {
      for (const item of Array.isArray(page) ? page : []) {
        const p = item.entry && item.entry.payload;
        if (p && p.type === 'ceremony' && p.message.referendum_id === referendum) {
          p.message.trustee = p.message.trustee === 1 ? 2 : 1;
        }
      }
      return page;
    };
  }
  return null;
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  console.log('request ' + req.method + ' ' + url.pathname);
  if (url.pathname.startsWith('/api/') || url.pathname === '/healthz') {
    const rewrite = rewriter(req.method, url);
    const headers = Object.assign({}, req.headers);
    delete headers['accept-encoding']; // plain JSON to rewrite
    const p = http.request({ host: up.hostname, port: up.port, path: req.url, method: req.method, headers }, (r) => {
      if (!rewrite || r.statusCode !== 200) {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
        return;
      }
      const chunks = [];
      r.on('data', (c) => chunks.push(c));
      r.on('end', () => {
        const body = Buffer.from(JSON.stringify(rewrite(JSON.parse(Buffer.concat(chunks).toString('utf8')))));
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length, 'Cache-Control': 'no-store' });
        res.end(body);
      });
    });
    p.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
    req.pipe(p);
    return;
  }
  let file = path.normalize(path.join(dist, decodeURIComponent(url.pathname)));
  if (!file.startsWith(path.resolve(dist))) { res.writeHead(403); res.end(); return; }
  if (url.pathname.endsWith('/')) file = path.join(file, 'index.html');
  fs.readFile(file, (err, data) => {
    if (err) { res.writeHead(404); res.end('not found'); return; }
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream', 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' });
    res.end(data);
  });
});
server.listen(0, '127.0.0.1', () => console.log('listening http://127.0.0.1:' + server.address().port));
