"""Turning determinations into audit records, for the service and for ``--record``.

In: a loaded rulebook, the BOM as received (text and format) and its determinations, or
those of a running batch. Out: records appended to a :class:`~origin_rules.audit.store.Store`
with the rule files kept by digest, and the ids of the new records.

A batch is recorded as it runs (:class:`BatchRecording`): its workers make each distinct
valid BOM's full determinations too, as :meth:`Rulebook.evaluate` makes them, so each record
holds the full determination, which a batch's output summarises. A JSON Lines record is kept
as its line of text (without the white space around it); a YAML/JSON list item and a CSV/XLSX
product as the BOM's JSON as read (``bom-json``). Records that cannot be read are not
determinations and are not kept.
"""

from __future__ import annotations

import getpass
import pickle
from typing import Iterable, Sequence

from ..model.bom import BOM
from ..model.determination import Determination
from .store import NewRecord, Store

__all__ = ["BatchRecording", "cli_user", "new_records", "record_determinations"]

CHUNK = 1000  # records appended per transaction when recording a batch


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


class BatchRecording:
    """The audit records of a running batch (``batch --record``, a service job), kept in
    input order until the batch is done, then appended to the store by :meth:`commit`.

    The batch's workers make each distinct BOM's full determinations
    (:func:`origin_rules.batch.work.determinations`), in parallel and once per distinct BOM;
    the batch hands each distinct result to :meth:`determinations` once and then every valid
    record, in input order, to :meth:`record`. Both go to temporary files (``folder``: beside
    the batch's output), so memory stays flat however large the batch: the files hold each
    distinct BOM's determinations once (at most about the size they take in the store, where
    each record has its own copy) and each record's text. :meth:`commit` appends one
    record per determination of each valid record (the BOM as received and what was
    decided on it, one request id) in transactions of :data:`CHUNK` records; a batch that
    fails or is interrupted records nothing. A JSON Lines record is kept as its line of text
    (``json``); any other record (a YAML/JSON list item, a CSV/XLSX product, a Parquet row)
    and a BOM the batch's ``--rates`` changed as the BOM's JSON as evaluated (``bom-json``),
    so that a replay needs neither the reader nor the rates file. Unreadable records are not
    determinations and are not kept. Use it as a context manager (or call :meth:`close`)."""

    def __init__(self, store: Store, book, *, requested_by: str, channel: str, request_id: str | None = None,
                 folder: str | None = None):
        import tempfile
        import uuid

        self.store = store
        self.book = book
        self.requested_by = requested_by
        self.channel = channel
        self.request_id = request_id or str(uuid.uuid4())
        self._dets = tempfile.TemporaryFile(dir=folder, prefix=".origin-rules-record-")
        self._records = tempfile.TemporaryFile(dir=folder, prefix=".origin-rules-record-")

    def determinations(self, payload: tuple) -> int:
        """Keep one distinct result's ``(product id, HS code, determinations, BOM JSON)``;
        returns the reference :meth:`record` takes."""
        offset = self._dets.tell()
        pickle.dump(payload, self._dets, protocol=pickle.HIGHEST_PROTOCOL)
        return offset

    def record(self, text: str | None, reference: int) -> None:
        """One valid input record, in input order: its text as received (None: keep its BOM's
        JSON) and the reference of its determinations."""
        pickle.dump((text, reference), self._records, protocol=pickle.HIGHEST_PROTOCOL)

    def commit(self) -> int:
        """Append every record kept to the store (its rule files first); returns how many."""
        self.store.keep_book(self.book)
        records, dets = self._records, self._dets
        records.seek(0)
        count = 0
        pending: list[NewRecord] = []
        held: tuple[int | None, tuple] = (None, ())
        while True:
            try:
                text, reference = pickle.load(records)
            except EOFError:
                break
            if reference != held[0]:  # (records of one BOM usually follow each other)
                dets.seek(reference)
                held = (reference, pickle.load(dets))
            product_id, hs, determinations, bom_json = held[1]
            received, fmt = (text, "json") if text is not None else (bom_json, "bom-json")
            pending.extend(NewRecord(bom_received=received, bom_format=fmt, product_id=product_id, hs=hs,
                                     agreement=agreement, as_of=as_of, explain="summary", verdict=verdict,
                                     determination=determination, rules_digest=digest)
                           for agreement, as_of, verdict, determination, digest in determinations)
            if len(pending) >= CHUNK:
                count += self._append(pending)
                pending = []
        return count + self._append(pending)

    def _append(self, records: list[NewRecord]) -> int:
        return self.store.append_many(records, requested_by=self.requested_by, channel=self.channel,
                                      request_id=self.request_id)

    def close(self) -> None:
        """Remove the temporary files (what was not committed is dropped)."""
        self._dets.close()
        self._records.close()

    def __enter__(self) -> "BatchRecording":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
