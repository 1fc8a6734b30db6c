"""Dates as the BOM format, the rule tests, the command line and the service write them:
``YYYY-MM-DD``, nothing else."""

from __future__ import annotations

import re
from datetime import date

__all__ = ["iso_date"]

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def iso_date(text: str) -> date:
    """``YYYY-MM-DD`` as a date; ``ValueError`` for anything else. Python's own
    ``date.fromisoformat`` also reads ``20260701`` and ISO week dates (``2026-W27-3``), which
    no input here is documented to take: a slip of the keyboard would pass as some date."""
    if _ISO_DATE.fullmatch(text) is None:
        raise ValueError(f"not a date written YYYY-MM-DD: {text!r}")
    return date.fromisoformat(text)
