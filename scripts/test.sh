#!/usr/bin/env bash
# The whole test suite: formatting, lints, architecture checks, the wasm build of the
# browser crates, unit/integration/end-to-end tests on SQLite and on a real PostgreSQL,
# and the web app in headless Chromium. Idempotent: installs what it needs (wasm target,
# PostgreSQL, Chromium, the Node test's dependencies) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

stages=0
step() { stages=$((stages + 1)); printf '\n== %s ==\n' "$*"; }

step "format"
cargo fmt --all -- --check

step "architecture invariants"
scripts/check-architecture.sh

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "wasm build of vox-crypto and vox-protocol"
rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
cargo build --locked -p vox-crypto -p vox-protocol --target wasm32-unknown-unknown

step "tests (SQLite and PostgreSQL)"
scripts/with-postgres.sh cargo test --workspace --locked

step "citizens' web app in headless Chromium"
VOX_PROFILE=debug scripts/test-web.sh

# Every stage above exits non-zero on failure (set -e), so reaching here means all passed.
printf '\ntest-suite: %d passed, 0 failed\n' "$stages"
