#!/usr/bin/env bash
# How the cost of spine-edema grows with slices, matrix size, number of exams and cores.
#
# Usage: scripts/scaling.sh [--rounds N] [--exams "1 4 16"] [--work DIR] [--update-docs]
#
# Writes lumbar phantoms with `spine-edema phantom` (fixed seed, no distractor series):
#   - voxels: T1 and fluid series both M² × S with M in 256/384/512 at 15 slices, and
#     S in 11/15/20/25 at 384²;
#   - batches: 1, 4 and 16 exams of the reference shape (T1 512² + STIR/T2-FS 320², 15
#     slices; one patient per seed), hard-linked into one folder per batch size.
# Then times whole processes in alternating rounds after a warm-up run (page cache warm):
# `spine-edema bench --decode-only` and `spine-edema score` per grid, plus the in-process
# stage medians of `spine-edema bench`; and `spine-edema score --jobs J` pinned to J cores
# (`taskset`) for J in 1 and 2 per batch. Prints a markdown table, writes
# $WORK/scaling.json and $WORK/scaling.md and the plots docs/img/perf-scaling-voxels.svg
# and docs/img/perf-scaling-exams.svg; with --update-docs, replaces the block between the
# scaling markers in docs/performance.md.
#
# Needs: cargo, python3 (standard library only), taskset (util-linux).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rounds=3
exams="1 4 16"
work="$repo/target/perf-work"
update=()
invocation="scripts/scaling.sh${*:+$(printf ' %q' "$@")}"
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --exams) exams="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --update-docs) update=(--update-docs "$repo/docs/performance.md"); shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$work"
work="$(cd "$work" && pwd)"

bin="${SPINE_EDEMA_BIN:-}"
if [ -z "$bin" ]; then
  (cd "$repo" && cargo build --quiet --profile release -p spine-edema-report --bin spine-edema)
  bin="$repo/target/release/spine-edema"
fi

python3 "$repo/scripts/perf_harness.py" scaling --bin "$bin" --work "$work" \
  --rounds "$rounds" --exam-rounds "$rounds" --exams "$exams" \
  --invocation "$invocation" "${update[@]}"
