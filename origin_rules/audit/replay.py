"""Replaying audit records: re-evaluate a stored BOM and say what, if anything, changed.

In: stored records and, for each, the rules to evaluate under: the rule files kept in the
store under the record's rules digest (the default: does the engine still give what it
gave?), or a rulebook given by the caller (the rules of today: what would change?).
Out: one :class:`Replayed` per record: the stored and the new verdict and the JSON paths
at which the two determinations differ (``figures.rvc_net_cost``,
``explanation.children[0].result``). Under a given rulebook the rules digest differs by
construction and is not counted as a difference, and neither is a rule's place in its file
(a ``source`` such as ``rules/usmca/section-17-transport.roo:954`` that moved because lines
were added above it): those paths are listed apart, as ``moved``.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from ..model.bom import BomError
from .store import Store, StoredRecord

__all__ = ["Replayed", "differences", "replay", "reread"]

MAX_PATHS = 20  # differences listed per record


@dataclass(frozen=True)
class Replayed:
    record_id: int
    product_id: str
    agreement: str
    as_of: str
    rules_digest: str  # the rules the record was replayed under
    stored_verdict: str
    verdict: str | None = None
    paths: list[str] = field(default_factory=list)  # where the determinations differ
    error: str | None = None  # why it could not be replayed
    moved: list[str] = field(default_factory=list)  # under other rules: only the rule's file:line differs

    @property
    def same(self) -> bool:
        return self.error is None and not self.paths

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.record_id, "product_id": self.product_id, "agreement": self.agreement,
                "as_of": self.as_of, "rules_digest": self.rules_digest, "stored_verdict": self.stored_verdict,
                "verdict": self.verdict, "same": self.same, "differences": self.paths, "moved": self.moved,
                "error": self.error}


def differences(old: Any, new: Any, path: str = "", out: list[str] | None = None,
                limit: int | None = MAX_PATHS) -> list[str]:
    """The JSON paths where two JSON values differ (at most ``limit``; ``None``: all)."""
    out = [] if out is None else out
    if limit is not None and len(out) >= limit:
        return out
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            differences(old.get(key), new.get(key), f"{path}.{key}" if path else str(key), out, limit)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new)):
            differences(a, b, f"{path}[{index}]", out, limit)
    elif old != new:
        out.append(path or "(whole)")
    return out if limit is None else out[:limit]


def reread(record: StoredRecord):
    """The record's BOM, read from the text kept, by the same reader that read it first."""
    from ..files.boms import loads_bom

    fmt = "yaml" if record.bom_format == "yaml" else "json"
    return loads_bom(record.bom_received, format=fmt, file=f"record {record.id}")


class _Books:
    """Rulebooks by digest, loaded from the store once each."""

    def __init__(self, store: Store):
        self.store = store
        self.books: dict[str, Any] = {}

    def get(self, digest: str):
        if digest not in self.books:
            from ..model.diagnostics import RulebookError
            from ..rulebook.book import loads

            files = self.store.rules(digest)
            if files is None:
                self.books[digest] = f"the rule files of {digest} are not in the store"
            else:
                try:
                    book = loads(files)
                except RulebookError as exc:
                    book = f"the stored rule files of {digest} no longer load ({len(exc.diagnostics)} problems)"
                self.books[digest] = book
        return self.books[digest]


MEMO_SIZE = 4096  # distinct (rules, BOM text, name, date) evaluations remembered by a replay


def replay(store: Store, records: Iterable[StoredRecord], book=None) -> Iterator[Replayed]:
    """Re-evaluate each record under its stored rules, or under ``book`` when given.

    Records with the same BOM text, format, name, date and explanation depth under the same
    rules (a batch's repeated shipments, one BOM under several names) are evaluated once: a
    determination depends on nothing else, and each record's stored determination is still
    compared with it. A stored determination whose text is the new one's (under other rules:
    but for the rules digest) is the same without reading it (the store keeps the JSON
    ``to_json`` makes); otherwise the two are compared as JSON, path by path."""
    from ..rulebook.book import UnknownAgreement

    books = _Books(store)
    made: OrderedDict[tuple, tuple[str, str]] = OrderedDict()  # -> (verdict, determination JSON)
    read: OrderedDict[tuple[str, str], Any] = OrderedDict()  # (text, format) -> the BOM, or why it does not read
    for record in records:
        under = book if book is not None else books.get(record.rules_digest)
        base = dict(record_id=record.id, product_id=record.product_id, agreement=record.agreement,
                    as_of=record.as_of.isoformat(), stored_verdict=record.verdict,
                    rules_digest=under.digest if not isinstance(under, str) else record.rules_digest)
        if isinstance(under, str):
            yield Replayed(**base, error=under)
            continue
        key = (id(under), record.bom_received, record.bom_format, record.agreement, record.as_of, record.explain)
        hit = made.get(key)
        if hit is not None:
            made.move_to_end(key)
        else:
            try:
                bom = _remembered(read, (record.bom_received, record.bom_format), lambda: reread(record))
                det = under.evaluate(bom, under=record.agreement, as_of=record.as_of, explain=record.explain)
            except BomError as exc:
                yield Replayed(**base, error=f"the stored BOM no longer reads: {exc}")
                continue
            except UnknownAgreement as exc:
                yield Replayed(**base, error=str(exc))
                continue
            hit = _remembered(made, key, lambda: (det.verdict, det.to_json(indent=None)))
        verdict, text = hit
        if text == record.determination or (book is not None and _same_but_digest(text, under.digest, record)):
            yield Replayed(**base, verdict=verdict)
            continue
        old = json.loads(record.determination)
        new = json.loads(text)
        if book is None:
            yield Replayed(**base, verdict=verdict, paths=differences(old, new))
            continue
        old.pop("rules_digest", None)
        new.pop("rules_digest", None)
        paths = differences(old, new, limit=None)
        moved = [p for p in paths if _is_source(p)]
        yield Replayed(**base, verdict=verdict, paths=[p for p in paths if not _is_source(p)][:MAX_PATHS],
                       moved=moved[:MAX_PATHS])


def _same_but_digest(text: str, digest: str, record: StoredRecord) -> bool:
    """Whether a determination made under other rules is the stored one but for its rules
    digest (which a replay under other rules does not count): the new digest written once,
    and the texts equal once it is the stored one."""
    return text.count(digest) == 1 and text.replace(digest, record.rules_digest) == record.determination


def _remembered(memo: OrderedDict, key: Any, make: Any) -> Any:
    """``memo[key]``, made by ``make()`` when missing (what it raises is not remembered: a
    BOM that no longer reads is read again for each record, whose id its message names);
    the least recently used forgotten past :data:`MEMO_SIZE`."""
    found = memo.get(key)
    if found is not None:
        memo.move_to_end(key)
        return found
    found = memo[key] = make()
    if len(memo) > MEMO_SIZE:
        memo.popitem(last=False)
    return found


def _is_source(path: str) -> bool:
    """Whether a difference's path is a rule's location (``...source``), not what it decided."""
    return path == "source" or path.endswith(".source")
