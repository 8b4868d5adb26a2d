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

# Size knobs for this build only (issue 15 §4; BENCHMARKS.md "Web bundle"): the whole
# wasm graph at opt-level "z", one codegen unit, fat LTO, symbols stripped (the name
# section was a third of the file). Set here, not in [profile.release]: the wasm crates
# are built only by this command, so no other build is duplicated or slowed, and the
# native release binaries keep opt-level 3. wasm-opt -Oz (binaryen 108 and 132) was
# measured on this output and made the gzipped file larger, so it is not run.
CARGO_PROFILE_RELEASE_OPT_LEVEL=z CARGO_PROFILE_RELEASE_LTO=fat \
  CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 CARGO_PROFILE_RELEASE_STRIP=symbols \
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
echo "web bundle: $OUT ($(du -sh "$OUT" | cut -f1); vox_web.wasm $(wc -c < "$OUT/vox_web.wasm") bytes, $(wc -c < "$OUT/vox_web.wasm.gz") gzipped)"
