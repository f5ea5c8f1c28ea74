#!/usr/bin/env python3
"""Loads the pixel array of every DICOM file under the given folders, and nothing else.

The "(b) pydicom" contender of scripts/compare-tools.sh: the cost of merely getting the
pixels into memory with the usual Python stack (pydicom + numpy). Files that are not DICOM
(truth JSON, notes) are skipped. Prints one line: files, frames and bytes loaded.

Usage: python3 scripts/pydicom_load.py FOLDER...
"""

import os
import sys

import pydicom
from pydicom.errors import InvalidDicomError


def main(folders):
    files = frames = nbytes = 0
    for folder in folders:
        for root, _dirs, names in os.walk(folder):
            for name in sorted(names):
                path = os.path.join(root, name)
                try:
                    ds = pydicom.dcmread(path)
                except (InvalidDicomError, OSError):
                    continue
                if "PixelData" not in ds:
                    continue
                pixels = ds.pixel_array
                files += 1
                frames += int(getattr(ds, "NumberOfFrames", 1) or 1)
                nbytes += pixels.nbytes
    print(f"pydicom: {files} files, {frames} frames, {nbytes} bytes of pixels")
    return 0 if files else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["."]))
