#!/usr/bin/env bash
# Build the citizens' web client into target/vox-web-dist/ (or $VOX_WEB_DIST):
# the static pages of crates/vox-web/static plus vox_web.wasm, vox_verify.wasm,
# vox_ring.wasm and vox_receipt.wasm (and gzip copies the server sends to browsers that accept it). Idempotent; the server serves that
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
# Two bundles (issue 15 §4): vox_web.wasm (feature `client`: every export but the record
# verifier; the voting, petition, enrolment and receipt pages) and vox_verify.wasm
# (feature `verify`: the results page's verifier). Two invocations of the same crate
# graph: only vox-web itself is recompiled (its features enable nothing in its
# dependencies), the dependencies' artifacts are shared; each run ends in its own LTO.
# A third bundle, vox_ring.wasm (feature `ring`: ring signatures on ring-signed petitions
# and anonymous ballots, issue 12 §3), is fetched by the worker only when a citizen signs
# such a petition or votes in an anonymous referendum (312,415 B gzipped with the ballot
# encryption, 267,312 B before it): the
# Triptych prover made vox_web.wasm 337,878 B gzipped with it (over its 300 KB budget),
# 246,080 B alone. Its curve, prover and vox-crypto are compiled at opt-level 3 (the rest
# "z"): proving on a 4,096-member ring took 1.31 s in Chromium with all of it at "z",
# 0.97 s so, for +20 KB gzipped (0.98 s and +90 KB with everything at 3); BENCHMARKS.md
# "Web bundle" (`scripts/bench-web.sh ring`).
# A fourth bundle, vox_receipt.wasm (feature `receipt`: a petition signature's saved
# receipt checked later, 07 §7.10 R1–R6, and its own board-key check), is fetched by the
# receipt page (check.html) only for such a receipt: in vox_web.wasm it took that bundle
# from 291,750 to 300,714 B gzipped (Node zlib -9, answers already trimmed), over its
# 300 KB budget; alone it is 157,621 B.
# All write target/wasm32-unknown-unknown/release/vox_web.wasm: copied after each.
TMP="$OUT.tmp.$$"
rm -rf "$TMP"
mkdir -p "$TMP"
RING_SPEED=(--config 'profile.release.package.curve25519-dalek.opt-level=3'
  --config 'profile.release.package.triptych.opt-level=3'
  --config 'profile.release.package.vox-crypto.opt-level=3')
for bundle in verify:vox_verify client:vox_web ring:vox_ring receipt:vox_receipt; do
  extra=()
  [ "${bundle%%:*}" = ring ] && extra=("${RING_SPEED[@]}")
  CARGO_PROFILE_RELEASE_OPT_LEVEL=z CARGO_PROFILE_RELEASE_LTO=fat \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 CARGO_PROFILE_RELEASE_STRIP=symbols \
    cargo build --release -p vox-web --target wasm32-unknown-unknown \
    --no-default-features --features "${bundle%%:*}" ${extra[@]+"${extra[@]}"}
  cp "$TARGET_DIR/wasm32-unknown-unknown/release/vox_web.wasm" "$TMP/${bundle#*:}.wasm"
done

# Assemble in a scratch directory, then swap, so a running server never sees half a bundle.
cp -R crates/vox-web/static/. "$TMP/"
for w in vox_web vox_verify vox_ring vox_receipt; do gzip -9 -n -c "$TMP/$w.wasm" > "$TMP/$w.wasm.gz"; done
rm -rf "$OUT.old"
if [ -d "$OUT" ]; then mv "$OUT" "$OUT.old"; fi
mv "$TMP" "$OUT"
rm -rf "$OUT.old"
for w in vox_web vox_verify vox_ring vox_receipt; do
  echo "web bundle: $OUT/$w.wasm $(wc -c < "$OUT/$w.wasm") bytes, $(wc -c < "$OUT/$w.wasm.gz") gzipped"
done
