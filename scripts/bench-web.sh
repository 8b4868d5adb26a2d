#!/usr/bin/env bash
# In-browser benchmark of the verifier (issue 15 §4; BENCHMARKS.md "Web bundle and
# responsiveness"): a synthetic record of VOTERS (default 10,000) choose-one-of-10
# ballots, verified in headless Chromium by the page's Web Worker (vox_verify.wasm), RUNS
# times (default 3). Not part of the test suite. Needs what scripts/test-web.sh installs
# (Chromium, tests/web's node modules).
#
#   scripts/bench-web.sh [VOTERS] [RUNS]
#   scripts/bench-web.sh ring [RUNS]
#
# `ring` (issue 12 §3) times a ring signature on a 4,096-member ring instead, RUNS times
# (default 5), through the page's own path (tests/web/bench-ring.mjs: vox_ring.wasm in
# the Web Worker fetches and checks the board, derives the rings, proves, posts) on a
# synthetic board (`cargo run --release -p vox-web --example ring_board`: 8,192
# credentials in two regions, every act signed by its role). The native prover's figure
# is vox-crypto's criterion bench `ring_4096` (BENCHMARKS.md "Ring signatures").
#
# The record comes from the verifier's own benchmark (`verify_bench --only ten`), which
# also verifies it natively (release, all cores) and prints that time: the same record
# in both. The time to encrypt and prove a 1-of-10 ballot in the browser is measured by
# `VOX_WEB_BENCH=1 scripts/test-web.sh` (a real server and key ceremony).
set -euo pipefail
cd "$(dirname "$0")/.."
VOTERS=${1:-10000}
RUNS=${2:-3}
TARGET_DIR=$(cd "${CARGO_TARGET_DIR:-target}" 2>/dev/null && pwd || echo "$PWD/target")

(cd tests/web && npm ci --no-audit --no-fund)
scripts/build-web.sh
if [ "${1:-}" = ring ]; then
  BOARD="$TARGET_DIR/vox-bench/ring-board-8192"
  cargo run --release -p vox-web --example ring_board -- "$BOARD" 8192
  uptime
  node tests/web/bench-ring.mjs "$TARGET_DIR/vox-web-dist" "$BOARD" "${2:-5}"
  uptime
  exit 0
fi
RECORD="$TARGET_DIR/vox-bench/record-v2-$VOTERS-ten"
cargo run --release -p vox-verifier --features synth --example verify_bench -- "$VOTERS" --only ten --dir "$RECORD"
uptime
node tests/web/bench.mjs "$TARGET_DIR/vox-web-dist" "$RECORD" ten "$RUNS"
uptime
