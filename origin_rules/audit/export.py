"""Exporting audit records: JSON Lines (one record a line, the determination as an object)
or CSV (one record a row, the BOM and the determination as JSON text).

In: stored records and an open text handle. Out: the records written in the order given;
the number written. The columns are :data:`origin_rules.audit.tables.RECORD_COLUMNS`. A
record that cannot be read (an :class:`~origin_rules.audit.store.UnreadableRecord`, or a
determination that is not JSON) is not written: it goes to ``unreadable``, and the others
are written all the same.
"""

from __future__ import annotations

import csv
import json
from typing import IO, Iterable

from .store import StoredRecord, UnreadableRecord
from .tables import RECORD_COLUMNS

__all__ = ["EXPORT_FORMATS", "export"]

EXPORT_FORMATS = ("jsonl", "csv")


def export(records: Iterable[StoredRecord | UnreadableRecord], handle: IO[str], fmt: str = "jsonl", *,
           unreadable: list[UnreadableRecord] | None = None) -> int:
    """Write ``records`` to ``handle`` as ``fmt``; returns how many were written. The records
    that cannot be read are added to ``unreadable`` (when given) and skipped."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format `{fmt}`: expected jsonl or csv")
    skipped = unreadable if unreadable is not None else []
    count = 0
    writer = csv.writer(handle, lineterminator="\n") if fmt == "csv" else None
    if writer is not None:
        writer.writerow(RECORD_COLUMNS)
    for record in records:
        if isinstance(record, UnreadableRecord):
            skipped.append(record)
            continue
        if writer is None:
            try:
                line = json.dumps(record.to_dict(), ensure_ascii=False)
            except ValueError as exc:  # a determination that is not JSON
                skipped.append(UnreadableRecord(record.id, f"its determination is not JSON ({exc})"))
                continue
            handle.write(line + "\n")
        else:
            row = record.to_dict(parsed=False)
            writer.writerow(["" if row[c] is None else row[c] for c in RECORD_COLUMNS])
        count += 1
    return count
