#!/usr/bin/env bash
# In-browser benchmark of the verifier (issue 15 §4; BENCHMARKS.md "Web bundle and
# responsiveness"): a synthetic record of VOTERS (default 10,000) choose-one-of-10
# ballots, verified in headless Chromium by the page's Web Worker (vox_verify.wasm), RUNS
# times (default 3). Not part of the test suite. Needs what scripts/test-web.sh installs
# (Chromium, tests/web's node modules).
#
#   scripts/bench-web.sh [VOTERS] [RUNS]
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
RECORD="$TARGET_DIR/vox-bench/record-v2-$VOTERS-ten"
cargo run --release -p vox-verifier --features synth --example verify_bench -- "$VOTERS" --only ten --dir "$RECORD"
uptime
node tests/web/bench.mjs "$TARGET_DIR/vox-web-dist" "$RECORD" ten "$RUNS"
uptime
