"""Make the report template shipped with dvxl: ``dvxl/docreport/mau-bao-cao.docx``.

    python scripts/make_report_template.py [PATH]

The template is built by :mod:`dvxl.docreport.maker` with python-docx; the same
input gives the same bytes, and ``tests/test_docreport.py`` checks that the
shipped file is what this script makes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from dvxl.docreport import maker

if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else maker.SHIPPED
    print(maker.write(target))
