#!/usr/bin/env bash
# Architecture invariants (ARCHITECTURE.md): the verifier and the protocol core never
# depend on the server stack, and nothing depends on vox-server except the CLI and tests.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
for crate in vox-crypto vox-protocol vox-verifier vox-web; do
  deps=$(cargo tree -p "$crate" -e normal --prefix none --locked 2>/dev/null | awk '{print $1}' | sort -u)
  for banned in tokio axum sqlx hyper vox-server; do
    if grep -qx "$banned" <<<"$deps"; then
      echo "architecture: $crate must not depend on $banned" >&2
      fail=1
    fi
  done
done
for crate in vox-crypto vox-protocol; do
  deps=$(cargo tree -p "$crate" -e normal --prefix none --locked 2>/dev/null | awk '{print $1}' | sort -u)
  for banned in vox-verifier ureq rayon; do
    if grep -qx "$banned" <<<"$deps"; then
      echo "architecture: $crate must not depend on $banned" >&2
      fail=1
    fi
  done
done
# The browser's wasm carries no wasm-bindgen glue (getrandom goes through vox-web's
# custom backend, issue 15 §4): no crate of its wasm32 graph is wasm-bindgen or js-sys.
deps=$(cargo tree -p vox-web --target wasm32-unknown-unknown -e normal --prefix none --locked 2>/dev/null | awk '{print $1}' | sort -u)
for banned in wasm-bindgen js-sys web-sys; do
  if grep -qx "$banned" <<<"$deps"; then
    echo "architecture: vox-web must not pull $banned into the wasm build" >&2
    fail=1
  fi
done
[ "$fail" = 0 ] && echo "architecture invariants hold"
exit "$fail"
