"""Turning determinations into audit records, for the service and for ``--record``.

In: a loaded rulebook, the BOM as received (text and format) and its determinations, or the
input files of a batch. Out: records appended to a :class:`~origin_rules.audit.store.Store`
with the rule files kept by digest, and the ids of the new records.

A batch is recorded by reading its inputs again with the same readers
(:func:`origin_rules.files.boms.read_boms`, and
:func:`~origin_rules.files.boms.read_xlsx_boms` for XLSX) and evaluating each valid BOM with :meth:`Rulebook.evaluate`, so each
record holds the full determination, which a batch's output summarises. A JSON Lines record
is kept as its line of text; a YAML/JSON list item and a CSV/XLSX product as the BOM's JSON
as read (``bom-json``). Records that cannot be read are not determinations and are not kept.
"""

from __future__ import annotations

import getpass
from datetime import date
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from ..files.boms import BomRecord, read_boms, read_xlsx_boms
from ..model.bom import BOM
from ..model.currency import with_rates
from ..model.determination import Determination
from .store import NewRecord, Store

__all__ = ["cli_user", "new_records", "record_batch", "record_determinations"]

CHUNK = 200  # records appended per transaction when recording a batch


def cli_user() -> str:
    """Who asked, for a command run in a terminal: ``cli:<login name>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "cli:unknown"


def new_records(bom: BOM, text: str, fmt: str, dets: Sequence[Determination], explain: str) -> list[NewRecord]:
    """One record per determination of one BOM."""
    return [NewRecord(bom_received=text, bom_format=fmt, product_id=bom.product.id, hs=bom.product.hs,
                      agreement=d.agreement, as_of=d.as_of, explain=explain, verdict=d.verdict,
                      determination=d.to_json(indent=None), rules_digest=d.rules_digest)
            for d in dets]


def record_determinations(store: Store, book, entries: Iterable[tuple[BOM, str, str, Sequence[Determination]]], *,
                          explain: str, requested_by: str, channel: str, request_id: str | None = None) -> list[int]:
    """Keep the rulebook's files and append one record per determination of each
    ``(bom, text as received, format, determinations)``; one transaction, one request id."""
    store.keep_book(book)
    records = [r for bom, text, fmt, dets in entries for r in new_records(bom, text, fmt, dets, explain)]
    return store.append(records, requested_by=requested_by, channel=channel, request_id=request_id)


# ---------------------------------------------------------------------------- batches


def _raw_lines(path: str) -> Iterator[tuple[int, str]]:
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8", errors="replace").rstrip("\r\n")


def _with_text(path: str, records: Iterator[BomRecord]) -> Iterator[tuple[BomRecord, str, str]]:
    """Each record with the text it was read from: its line for JSON Lines, else its BOM's JSON."""
    if Path(path).suffix.lower() not in (".jsonl", ".ndjson"):
        for record in records:
            yield record, (record.bom.to_json(indent=None) if record.bom is not None else ""), "bom-json"
        return
    lines = _raw_lines(path)
    current = (0, "")
    for record in records:
        while current[0] < (record.line or 0):
            current = next(lines, (10**18, ""))
        yield record, current[1], "json"


def _input_records(path: str) -> Iterator[tuple[BomRecord, str, str]]:
    if Path(path).suffix.lower() in (".xlsx", ".xlsm"):
        yield from _with_text(path, read_xlsx_boms(path))
    else:
        yield from _with_text(path, read_boms(path))


def record_batch(store: Store, book, inputs: Sequence[str], *, names: Sequence[str] | None, as_of: date,
                 requested_by: str, channel: str, request_id: str | None = None, rates: Sequence = ()) -> int:
    """Record every valid BOM of a batch's inputs under ``names`` (default: every applicable
    agreement and scenario), as of ``as_of``; returns the number of records appended. With
    ``rates`` (``batch --rates``) each BOM is evaluated with them added, and a BOM they change
    is recorded as evaluated (its JSON), so that its replay needs no rates file.
    A file that cannot be read at all was reported by the batch and is skipped here."""
    from ..model.bom import BomError

    import uuid

    store.keep_book(book)
    request_id = request_id or str(uuid.uuid4())
    pending: list[NewRecord] = []
    count = 0
    for path in inputs:
        try:
            for record, text, fmt in _input_records(path):
                if record.bom is None:
                    continue
                bom = record.bom
                if rates:
                    rated = with_rates(bom, rates)
                    if rated is not bom:
                        bom, text, fmt = rated, rated.to_json(indent=None), "bom-json"
                chosen = list(names) if names else book.applicable(bom)
                dets = [book.evaluate(bom, under=n, as_of=as_of) for n in chosen]
                pending.extend(new_records(bom, text, fmt, dets, "summary"))
                if len(pending) >= CHUNK:
                    count += len(store.append(pending, requested_by=requested_by, channel=channel, request_id=request_id))
                    pending = []
        except BomError:
            continue
    count += len(store.append(pending, requested_by=requested_by, channel=channel, request_id=request_id))
    return count
