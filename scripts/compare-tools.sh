#!/usr/bin/env bash
# Times spine-edema against the reference tools on one phantom exam, side by side.
#
# Usage: scripts/compare-tools.sh [--rounds N] [--work DIR] [--update-docs]
#
# What it does, reproducibly (fixed seed, fixed sizes):
#   1. builds `spine-edema` with the release profile (or uses $SPINE_EDEMA_BIN);
#   2. writes the reference exam of issue #8 with `spine-edema phantom`: one lumbar exam,
#      sagittal T1 512² × 15 slices + sagittal STIR 320² × 15 slices, uncompressed
#      (explicit VR little endian), no distractor series;
#   3. in ONE run, alternating rounds (the order rotates every round, after one untimed
#      warm-up run of each, so the page cache is warm), times whole processes:
#        (a) dcm2niix -z n      converting the exam into a fresh temporary folder
#        (b) pydicom            scripts/pydicom_load.py: only loads every pixel array
#        (c) decode-only        spine-edema bench --decode-only --repeat 1 (index + decode)
#        (d) score              spine-edema score EXAM --out TMP --force (the whole analysis,
#                               CSV, JSON and HTML report)
#      and the peak resident memory of each process (rusage of the child);
#   4. prints medians, 90th percentiles and each median as a ratio to (d), plus the
#      in-process stage times of `spine-edema bench`; writes $WORK/compare-tools.json
#      (machine-readable) and $WORK/compare-tools.md; with --update-docs, replaces the
#      block between the compare-tools markers in docs/performance.md.
#
# Needs: cargo, dcm2niix, python3 with numpy; pydicom is used if importable, otherwise
# the pydicom 3.0.2 wheel is fetched with pip into .corpus/.wheels (the cache that
# scripts/fetch-dicom-corpus.sh uses) and put on PYTHONPATH.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rounds=10
work="$repo/target/perf-work"
update=()
invocation="scripts/compare-tools.sh${*:+$(printf ' %q' "$@")}"
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --update-docs) update=(--update-docs "$repo/docs/performance.md"); shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$work"
work="$(cd "$work" && pwd)"

command -v dcm2niix >/dev/null || { echo "dcm2niix not found (apt-get install dcm2niix)" >&2; exit 1; }

bin="${SPINE_EDEMA_BIN:-}"
if [ -z "$bin" ]; then
  (cd "$repo" && cargo build --quiet --profile release -p spine-edema-report --bin spine-edema)
  bin="$repo/target/release/spine-edema"
fi

# pydicom: installed, or the wheel on PYTHONPATH (pure Python, importable from the zip).
if ! python3 -c 'import pydicom, numpy' 2>/dev/null; then
  wheels="$repo/.corpus/.wheels"
  mkdir -p "$wheels"
  if ! compgen -G "$wheels/pydicom-3.0.2-*.whl" >/dev/null; then
    pip download --quiet --no-deps --disable-pip-version-check --dest "$wheels" pydicom==3.0.2 >/dev/null
  fi
  PYTHONPATH="$(compgen -G "$wheels/pydicom-3.0.2-*.whl" | head -n1)${PYTHONPATH:+:$PYTHONPATH}"
  export PYTHONPATH
  python3 -c 'import pydicom, numpy' || { echo "pydicom or numpy not importable" >&2; exit 1; }
fi

# The reference exam. Seed 3 draws a STIR (not a T2 fat-sat) as the fluid series.
seed=3
exam="$work/reference-exam-seed$seed"
if [ ! -f "$exam/.complete" ]; then
  rm -rf "$exam"
  "$bin" phantom --out "$exam" --seed "$seed" --preset lumbar \
    --matrix 512 --fluid-matrix 320 --slices 15 --no-extra-series
  touch "$exam/.complete"
fi

python3 "$repo/scripts/perf_harness.py" compare --bin "$bin" --work "$work" \
  --exam "$exam" --rounds "$rounds" --invocation "$invocation" \
  --exam-label "lumbar phantom (seed $seed): sagittal T1 512² × 15 + STIR 320² × 15, explicit VR little endian" \
  "${update[@]}"
