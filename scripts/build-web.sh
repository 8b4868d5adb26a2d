#!/usr/bin/env bash
# Build the citizens' web client into target/vox-web-dist/ (or $VOX_WEB_DIST):
# the static pages of crates/vox-web/static plus vox_web.wasm (and a gzip copy the
# server sends to browsers that accept it). Idempotent; the server serves that
# directory at / (crates/vox-server/src/web.rs; override with VOX_WEB_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET_DIR=${CARGO_TARGET_DIR:-target}
OUT=${VOX_WEB_DIST:-$TARGET_DIR/vox-web-dist}

if command -v rustup >/dev/null 2>&1; then
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
  fi
fi

cargo build --release -p vox-web --target wasm32-unknown-unknown
WASM="$TARGET_DIR/wasm32-unknown-unknown/release/vox_web.wasm"

# Assemble in a scratch directory, then swap, so a running server never sees half a bundle.
TMP="$OUT.tmp.$$"
rm -rf "$TMP"
mkdir -p "$TMP"
cp -R crates/vox-web/static/. "$TMP/"
cp "$WASM" "$TMP/vox_web.wasm"
gzip -9 -n -c "$TMP/vox_web.wasm" > "$TMP/vox_web.wasm.gz"
rm -rf "$OUT.old"
if [ -d "$OUT" ]; then mv "$OUT" "$OUT.old"; fi
mv "$TMP" "$OUT"
rm -rf "$OUT.old"
echo "web bundle: $OUT ($(du -sh "$OUT" | cut -f1); vox_web.wasm $(wc -c < "$OUT/vox_web.wasm") bytes)"
