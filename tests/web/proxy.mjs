// Fallback for scripts/test-web.sh while the vox server does not serve the pages itself
// (crates/vox-server/src/web.rs not mounted yet): serve target/vox-web-dist at / and
// forward /api/* and /healthz to the vox server. Same origin, same headers as web.rs.
// Usage: node proxy.mjs DIST_DIR UPSTREAM_URL  (prints "listening <url>" when ready)
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const [dist, upstream] = process.argv.slice(2);
const up = new URL(upstream);
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm', '.svg': 'image/svg+xml' };
const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname.startsWith('/api/') || url.pathname === '/healthz') {
    const p = http.request({ host: up.hostname, port: up.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
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
