#!/usr/bin/env bash
# Short coverage-guided fuzzing of every vox decoder and verify entry point.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Runs each target of fuzz/fuzz_targets/ (default: all) for SECONDS (default 30) under
# libFuzzer, one after the other, starting from the checked-in seeds in
# fuzz/corpus/<target>/. New inputs go to fuzz/scratch/<target>/ (git-ignored), crashes
# to fuzz/artifacts/<target>/, each run's log to fuzz/scratch/<target>.log; at the end a
# table gives every target's executions, coverage and outcome (the figures recorded in
# RELIABILITY.md). Needs a nightly toolchain; installs cargo-fuzz if nightly is there but
# cargo-fuzz is not. Without nightly it prints why it skipped and exits 0: the stable
# replay of the same corpora (`cargo test -p vox-fuzz`) runs in CI regardless.
# Builds go to fuzz/target/ (the fuzz project's own target directory).
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

for t in "${targets[@]}"; do
    if [[ ! -d "fuzz/corpus/$t" ]]; then
        echo "fuzz.sh: no corpus directory fuzz/corpus/$t" >&2
        exit 2
    fi
done

sanitizer="${VOX_FUZZ_SANITIZER:-none}"
jobs="${VOX_FUZZ_JOBS:-1}"
failed=()
summary=()

# Build every requested target once (-a: debug assertions, so integer overflow panics
# instead of wrapping), then run the binaries themselves: `cargo fuzz run` would rebuild
# before each target whenever a source file changed in the meantime.
echo "== building ${targets[*]}"
build=(cargo +nightly fuzz build -a --sanitizer "$sanitizer")
if [[ ${#targets[@]} -eq 1 ]]; then
    build+=("${targets[0]}")
fi
"${build[@]}"
triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
bindir="fuzz/target/$triple/release"
for t in "${targets[@]}"; do
    mkdir -p "fuzz/scratch/$t" "fuzz/artifacts/$t"
    echo "== fuzzing $t for ${seconds}s"
    # The first corpus directory receives new inputs; the checked-in seeds stay untouched.
    # Crashes go to fuzz/artifacts/$t/ (where `cargo fuzz run` would put them).
    parallel=()
    if [[ "$jobs" -gt 1 ]]; then
        parallel=(-jobs="$jobs" -workers="$jobs")
    fi
    log="fuzz/scratch/$t.log"
    status=ok
    if ! "$bindir/$t" -artifact_prefix="fuzz/artifacts/$t/" \
        -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 "${parallel[@]}" \
        "fuzz/scratch/$t" "fuzz/corpus/$t" 2>&1 | tee "$log"; then
        failed+=("$t")
        status=FAILED
    fi
    # libFuzzer's last status line: "#N DONE cov: C ft: F corp: …" (or the last "#N" line).
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    execs=$(sed -E 's/^#([0-9]+).*/\1/' <<<"$last")
    cov=$(grep -oE 'cov: [0-9]+' <<<"$last" | cut -d' ' -f2 || true)
    ft=$(grep -oE 'ft: [0-9]+' <<<"$last" | cut -d' ' -f2 || true)
    summary+=("$(printf '%-26s %6ss %12s %7s %7s  %s' "$t" "$seconds" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$status")")
done

echo
printf '%-26s %7s %12s %7s %7s  %s\n' target time execs cov ft result
printf '%s\n' "${summary[@]}"

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz.sh: FAILED: ${failed[*]} (reproduce: cargo +nightly fuzz run -a TARGET fuzz/artifacts/TARGET/crash-...)" >&2
    exit 1
fi
echo "fuzz.sh: ${#targets[@]} target(s) fuzzed ${seconds}s each, no crash."
