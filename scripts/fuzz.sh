#!/usr/bin/env bash
# Fuzzes the ingest path (header parse + pixel decode + volume build) with libFuzzer.
#
#   scripts/fuzz.sh [SECONDS] [extra libFuzzer flags…]     # default 300 s
#
# Needs `cargo install cargo-fuzz` and a C++ compiler. The toolchain here is stable;
# libfuzzer-sys and the sanitizer need `-Z` flags, which RUSTC_BOOTSTRAP=1 lets stable
# accept (the fuzz crate is its own workspace, so nothing else is built this way).
#
# Corpus: fuzz/corpus/ingest, seeded from the synthetic files the target writes
# (SPINE_EDEMA_FUZZ_SEEDS) and from the small files (≤ 64 kB) of the pydicom corpus
# (SPINE_EDEMA_DICOM_CORPUS, else /work/main/.corpus or .corpus, when present).
# Crashes land in fuzz/artifacts/ingest/; replay one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run ingest fuzz/artifacts/ingest/crash-…
# and turn it into a regression test (crates/spine-edema/tests/bad_inputs.rs).
#
# FUZZ_KEEP_GOING=1 runs libFuzzer in fork mode (one child at a time) and records crashes,
# OOMs and timeouts as artifacts without stopping, for long unattended runs.
#
# One process, lowest priority: the machine is shared.
set -euo pipefail

seconds=${1:-300}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/fuzz"

if ! command -v cargo-fuzz >/dev/null; then
    echo "fuzz.sh: cargo-fuzz is missing: cargo install cargo-fuzz" >&2
    exit 2
fi
export RUSTC_BOOTSTRAP=1

corpus=corpus/ingest
mkdir -p "$corpus" artifacts/ingest
dicom_corpus=${SPINE_EDEMA_DICOM_CORPUS:-}
for candidate in "$dicom_corpus" /work/main/.corpus "$root/.corpus"; do
    if [[ -n "$candidate" && -d "$candidate" ]]; then
        find "$candidate" -type f -size -65k ! -name '*.whl' ! -name '*.stamp' \
            -exec cp -n {} "$corpus/" \; 2>/dev/null || true
        break
    fi
done

keep_going=()
if [[ "${FUZZ_KEEP_GOING:-0}" == 1 ]]; then
    keep_going=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
fi

SPINE_EDEMA_FUZZ_SEEDS="$root/fuzz/$corpus" nice -n 19 cargo fuzz run ingest "$corpus" -- \
    -max_total_time="$seconds" -max_len=65536 -timeout=20 \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 "${keep_going[@]}" "$@"
