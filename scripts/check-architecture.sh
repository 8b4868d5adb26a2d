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
[ "$fail" = 0 ] && echo "architecture invariants hold"
exit "$fail"
