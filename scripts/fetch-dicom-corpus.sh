#!/usr/bin/env bash
# Fetches the third-party DICOM conformance corpus: the test files shipped in the pydicom
# 3.0.2 wheel (pydicom/data/test_files) and in the pydicom-data 1.0.0 wheel
# (data_store/data). Usage: scripts/fetch-dicom-corpus.sh DIR
#
# Idempotent and quiet: wheels are cached in DIR/.wheels, and each wheel's files are
# unpacked once (a stamp file marks a finished unpack). Needs pip and python3 (for unzip).
set -euo pipefail

dir="${1:?usage: $0 DIR}"
mkdir -p "$dir/.wheels"
dir="$(cd "$dir" && pwd)"

fetch() { # name==version
  local spec="$1"
  local stem="${spec%%==*}"
  stem="${stem//-/_}"
  if ! compgen -G "$dir/.wheels/${stem}-*.whl" >/dev/null; then
    pip download --quiet --no-deps --disable-pip-version-check \
      --dest "$dir/.wheels" "$spec" >/dev/null
  fi
}

unpack() { # wheel-glob prefix-inside-wheel target-subdir
  local wheel
  wheel="$(compgen -G "$dir/.wheels/$1" | head -n1)"
  local target="$dir/$3"
  [ -f "$target/.complete" ] && return 0
  rm -rf "$target"
  mkdir -p "$target"
  python3 - "$wheel" "$2" "$target" <<'PY'
import sys, zipfile, os
wheel, prefix, target = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        name = info.filename
        if info.is_dir() or not name.startswith(prefix):
            continue
        rel = name[len(prefix):]
        if not rel or rel.endswith(".py") or "__pycache__" in rel:
            continue
        out = os.path.join(target, rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with z.open(info) as src, open(out, "wb") as dst:
            dst.write(src.read())
PY
  touch "$target/.complete"
}

fetch "pydicom==3.0.2"
fetch "pydicom-data==1.0.0"
unpack "pydicom-3.0.2-*.whl" "pydicom/data/test_files/" "pydicom"
unpack "pydicom_data-1.0.0-*.whl" "data_store/data/" "pydicom-data"
