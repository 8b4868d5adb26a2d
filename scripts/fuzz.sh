#!/usr/bin/env bash
# Short coverage-guided fuzzing of every vox decoder and verify entry point.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Runs each target of fuzz/fuzz_targets/ (default: all) for SECONDS (default 30) under
# libFuzzer, starting from the checked-in seeds in fuzz/corpus/<target>/. New inputs go
# to fuzz/scratch/<target>/ (git-ignored), crashes to fuzz/artifacts/<target>/. Needs a
# nightly toolchain; installs cargo-fuzz if nightly is there but cargo-fuzz is not.
# Without nightly it prints why it skipped and exits 0: the stable replay of the same
# corpora (`cargo test -p vox-fuzz`) runs in CI regardless.
#
# Environment: VOX_FUZZ_SANITIZER (default "none": the workspace forbids unsafe code;
# set "address" to also check dependencies' unsafe code), VOX_FUZZ_JOBS (default 1).
set -euo pipefail

cd "$(dirname "$0")/.."

seconds="${1:-30}"
shift || true
if ! [[ "$seconds" =~ ^[0-9]+$ ]]; then
    echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2
    exit 2
fi

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz.sh: SKIPPED: no nightly toolchain (rustup toolchain install nightly)." >&2
    echo "fuzz.sh: the corpora are still replayed on stable by: cargo test -p vox-fuzz" >&2
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: cargo-fuzz missing; installing it (cargo install cargo-fuzz)..." >&2
    if ! cargo install cargo-fuzz; then
        echo "fuzz.sh: SKIPPED: could not install cargo-fuzz." >&2
        exit 0
    fi
fi

# Pin the fuzz project's dependencies to the workspace's versions on first use.
if [[ ! -f fuzz/Cargo.lock && -f Cargo.lock ]]; then
    cp Cargo.lock fuzz/Cargo.lock
fi

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    targets=()
    for f in fuzz/fuzz_targets/*.rs; do
        targets+=("$(basename "$f" .rs)")
    done
fi

sanitizer="${VOX_FUZZ_SANITIZER:-none}"
jobs="${VOX_FUZZ_JOBS:-1}"
failed=()
for t in "${targets[@]}"; do
    if [[ ! -d "fuzz/corpus/$t" ]]; then
        echo "fuzz.sh: no corpus directory fuzz/corpus/$t" >&2
        exit 2
    fi
    mkdir -p "fuzz/scratch/$t"
    echo "== fuzzing $t for ${seconds}s"
    # -a: debug assertions, so integer overflow panics instead of wrapping.
    # The first corpus directory receives new inputs; the checked-in seeds stay untouched.
    # cargo-fuzz writes crashes to fuzz/artifacts/$t/.
    parallel=()
    if [[ "$jobs" -gt 1 ]]; then
        parallel=(-jobs="$jobs" -workers="$jobs")
    fi
    if ! cargo +nightly fuzz run -a --sanitizer "$sanitizer" "$t" \
        "fuzz/scratch/$t" "fuzz/corpus/$t" -- \
        -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 "${parallel[@]}"; then
        failed+=("$t")
    fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz.sh: FAILED: ${failed[*]} (reproduce: cargo +nightly fuzz run -a TARGET fuzz/artifacts/TARGET/crash-...)" >&2
    exit 1
fi
echo "fuzz.sh: ${#targets[@]} target(s) fuzzed ${seconds}s each, no crash."
