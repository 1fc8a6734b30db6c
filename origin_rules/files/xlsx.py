"""Excel workbooks (.xlsx) in the flat layout of docs/bom.md (CSV), read as text rows, streaming.

In: the path of a workbook. Out: the header of its first worksheet checked against the
flat layout (the same columns and messages as a CSV file, see :mod:`origin_rules.files.boms`)
and its rows as lists of text cells, one at a time (openpyxl in read-only mode: memory
stays flat however many rows there are). The first non-empty row is the header; positions
are sheet row numbers.

Excel stores numbers as binary floats; a number cell becomes the shortest text that reads
back as the same float (``120.5`` -> ``"120.5"``, ``0.1`` -> ``"0.1"``), never a long binary
expansion, and whole numbers lose their ``.0``. Type amounts as text cells to be exact
beyond 15 significant digits. HS codes typed as numbers get back the zeros Excel drops:
``8708.3`` -> ``"8708.30"``, ``10121`` -> ``"010121"``, ``101.21`` -> ``"0101.21"``.
Booleans become ``true``/``false``; dates ISO text.

Reading is openpyxl's pace, about 30 µs a cell (a 20-material BOM is 20 rows): several
times slower than CSV, so export the largest batches as CSV or JSON Lines.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any, Iterator

from ..model.bom import BomError, BomProblem
from .columns import Column, header_columns

__all__ = ["cell_text", "open_sheet"]


def _hs_text(text: str) -> str:
    whole, dot, frac = text.partition(".")
    if not whole.isdigit() or (dot and not frac.isdigit()):
        return text
    if dot:
        return whole.zfill(4) + "." + (frac + "0" if len(frac) % 2 else frac)
    return whole.zfill(len(whole) + len(whole) % 2)


def _number_text(value: float) -> str:
    if not math.isfinite(value):
        return repr(value)
    text = repr(value)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    return text[:-2] if text.endswith(".0") else text


def cell_text(value: Any, field: str = "") -> str:
    """One cell as the text a CSV file would hold (see the module doc)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = _number_text(value)
    elif isinstance(value, Decimal):
        text = format(value, "f")
    else:
        return str(value)
    return _hs_text(text) if field == "hs" else text


class Sheet:
    """The first worksheet of a workbook: its columns and its rows after the header."""

    def __init__(self, path: str):
        import openpyxl

        self.file = path
        try:
            self._book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except FileNotFoundError:
            raise BomError(BomProblem("cannot read: no such file", "", path)) from None
        except Exception as err:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
            raise BomError(BomProblem(f"cannot read the workbook (is it an .xlsx file?): {err}", "", path)) from None
        sheets = self._book.worksheets
        if not sheets:
            self.close()
            raise BomError(BomProblem("the workbook has no worksheet", "", path))
        self._sheet = sheets[0]
        # not ws.max_row: without a <dimension> element openpyxl reads the whole sheet for it
        self.max_row: int | None = None
        self._rows = enumerate(self._sheet.iter_rows(values_only=True), 1)
        self.columns: list[Column] | None = None
        self._fields: dict[int, str] = {}
        for number, values in self._rows:
            cells = [cell_text(v) for v in values]
            if any(c.strip() for c in cells):
                try:
                    self.columns = header_columns(cells, path, number)
                except BomError:
                    self.close()
                    raise
                self._fields = {i: f for i, _, f in self.columns}
                break

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """``(row number, cells as text)`` for each row after the header."""
        fields = self._fields
        for number, values in self._rows:
            yield number, [cell_text(v, fields.get(i, "")) for i, v in enumerate(values)]

    def close(self) -> None:
        self._book.close()


def open_sheet(path: str) -> Sheet:
    return Sheet(path)
