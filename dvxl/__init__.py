"""dvxl: the reporting cycle of a Party directive, in Excel."""

from __future__ import annotations

__version__ = "0.1.0"
