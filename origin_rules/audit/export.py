"""Exporting audit records: JSON Lines (one record a line, the determination as an object)
or CSV (one record a row, the BOM and the determination as JSON text).

In: stored records and an open text handle. Out: the records written in the order given;
the number written. The columns are :data:`origin_rules.audit.tables.RECORD_COLUMNS`.
"""

from __future__ import annotations

import csv
import json
from typing import IO, Iterable

from .store import StoredRecord
from .tables import RECORD_COLUMNS

__all__ = ["EXPORT_FORMATS", "export"]

EXPORT_FORMATS = ("jsonl", "csv")


def export(records: Iterable[StoredRecord], handle: IO[str], fmt: str = "jsonl") -> int:
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format `{fmt}`: expected jsonl or csv")
    count = 0
    if fmt == "jsonl":
        for record in records:
            handle.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
            count += 1
        return count
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(RECORD_COLUMNS)
    for record in records:
        row = record.to_dict(parsed=False)
        writer.writerow(["" if row[c] is None else row[c] for c in RECORD_COLUMNS])
        count += 1
    return count
