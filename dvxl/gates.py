"""The bounds a returned file must keep, and the refusal that ends reading it.

Shared by the reader (:mod:`dvxl.reader`) and the containers it looks into first
(:mod:`dvxl.ole`, :mod:`dvxl.zipparts`, :mod:`dvxl.sheetscan`).
"""

from __future__ import annotations

from dataclasses import dataclass

from dvxl.findings import Code

#: The finding codes this module can emit (frictionless' ``Errors``).
EMITS = (Code.UNPACKS_TOO_LARGE,)


@dataclass(frozen=True)
class Limits:
    """Bounds that keep one hostile file from stalling the batch."""

    max_file_bytes: int = 20 * 1024 * 1024
    max_unzipped_bytes: int = 200 * 1024 * 1024
    max_ratio: float = 200.0  # uncompressed / compressed, over the whole archive
    max_parts: int = 2000
    # Rows x columns from A1, summed over the sheets. python-calamine 0.9.1 builds a *dense*
    # grid from A1 to the last cell: a 6 KB .xlsx with values in A1 and XFD1048576 asks for
    # 512 GB and the Rust allocator aborts the whole process, so this is checked beforehand.
    max_cells: int = 2_000_000


class Refused(Exception):
    """A file-level finding that ends the read (control flow inside the reader: it never
    escapes :func:`dvxl.reader.read_book`)."""

    def __init__(self, code: Code, **fields: str) -> None:
        super().__init__(code, fields)
        self.code = code
        self.fields = fields


def check_area(cells: int, limits: Limits, sheet: str = "") -> None:
    """The dense grid python-calamine will build (``cells``) must stay within the limits."""
    if cells > limits.max_cells:
        raise Refused(Code.UNPACKS_TOO_LARGE, sheet=sheet, value=f"{count(cells)} ô",
                       expected=f"{count(limits.max_cells)} ô")



# --- words for the unit ----------------------------------------------------------------------

def human(size: int) -> str:
    """A size the Vietnamese way: ``25,3 MB``, ``20 MB``, ``512 byte``."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            number = f"{size / scale:.1f}".rstrip("0").rstrip(".").replace(".", ",")
            return f"{number} {unit}"
    return f"{size} byte"


def count(number: int) -> str:
    return f"{number:,}".replace(",", ".")
