#!/usr/bin/env bash
# Build the one file an operator deploys: a release `vox` binary that carries the
# citizens' web pages inside it (crates/vox-server/src/web.rs, `Bundle`), so that
# `vox serve` serves them without a checkout. Writes target/dist/vox and prints its size
# and SHA-256. Idempotent; needs the wasm32 target (added with rustup if missing).
#
#   scripts/dist.sh            # -> target/dist/vox
#   target/dist/vox serve ...  # pages at /, API at /api/v1/
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET_DIR=${CARGO_TARGET_DIR:-target}
DIST="$TARGET_DIR/dist"
WEB="$DIST/web"
mkdir -p "$DIST"

echo "==> building the web pages into $WEB"
VOX_WEB_DIST="$WEB" scripts/build-web.sh

echo "==> building the release binary with the pages inside"
# The path is read at compile time by the embedding derive; it must be absolute.
VOX_EMBED_WEB_DIR="$(cd "$WEB" && pwd)" cargo build --release --locked -p vox-cli --bin vox
cp "$TARGET_DIR/release/vox" "$DIST/vox"

echo "==> checking that the binary serves its own pages (a throw-away board on 127.0.0.1)"
BIN="$(cd "$DIST" && pwd)/vox"
CHECK=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$CHECK"
}
trap cleanup EXIT
(
  cd "$CHECK"
  for role in operator registrar petitions-office election-authority; do
    "$BIN" keys new --role "$role" --out "$role.key" > "$role.pub"
  done
  "$BIN" genesis new --log-name dist-check.invalid/board --operator operator.key \
    --registrar "$(cat registrar.pub)" --petitions-office "$(cat petitions-office.pub)" \
    --election-authority "$(cat election-authority.pub)" --out genesis.json > /dev/null
  for role in registrar petitions-office election-authority; do
    "$BIN" genesis sign --key "$role.key" genesis.json > /dev/null
  done
)
# An empty VOX_WEB_DIR and another working directory: only the embedded pages can answer.
(cd "$CHECK" && VOX_WEB_DIR= exec "$BIN" serve --genesis genesis.json --operator-key operator.key \
  --listen 127.0.0.1:0 --database-url "sqlite://$CHECK/vox.db" > "$CHECK/out.txt" 2> "$CHECK/log.txt") &
SERVER_PID=$!
ADDR=
for _ in $(seq 1 100); do
  ADDR=$(sed -n 's|^vox server listening on ||p' "$CHECK/out.txt" 2>/dev/null || true)
  [ -n "$ADDR" ] && break
  sleep 0.1
done
[ -n "$ADDR" ] || { cat "$CHECK/log.txt"; echo "dist check: the server did not start"; exit 1; }
curl -fsS "$ADDR/" | grep -q "<html" || { echo "dist check: / is not the pages"; exit 1; }
for w in vox_web.wasm vox_verify.wasm vox_ring.wasm vox_receipt.wasm; do
  curl -fsS -o /dev/null "$ADDR/$w" || { echo "dist check: no $w"; exit 1; }
done
grep -q "built into this binary" "$CHECK/log.txt" || { echo "dist check: pages not from the binary"; exit 1; }
echo "dist check: the binary serves its pages and the API ($ADDR)"
echo "$DIST/vox: $(du -h "$DIST/vox" | cut -f1), sha256 $(sha256sum "$DIST/vox" | cut -d' ' -f1)"
