"""The merge an IT officer would write with pandas: read every file, concatenate, save.

``python bench/naive.py INBOX OUT.xlsx``. No validation at all: whatever openpyxl
cannot open (.xls, .ods, a PDF named .xlsx) is skipped, and the values are
taken as they are. This is the baseline dvxl is compared with.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


def main(inbox: Path, out: Path) -> int:
    frames = []
    skipped: dict[str, int] = {}
    files = sorted(p for p in inbox.rglob("*") if p.is_file())
    for path in files:
        try:
            frame = pd.read_excel(path, sheet_name="Báo cáo", header=14, engine="openpyxl")
        except Exception as exc:  # .xls, .ods, not a workbook: the script just goes on
            kind = type(exc).__name__
            skipped[kind] = skipped.get(kind, 0) + 1
            continue
        frame.insert(0, "Tệp", path.name)
        frames.append(frame)
    merged = pd.concat(frames, ignore_index=True)
    merged.to_excel(out, index=False)
    shown = ", ".join(f"{n} {kind}" for kind, n in sorted(skipped.items())) or "none"
    print(f"naive: read {len(frames)} of {len(files)} files, {len(merged)} rows; skipped: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
