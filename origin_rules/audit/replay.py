"""Replaying audit records: re-evaluate a stored BOM and say what, if anything, changed.

In: stored records and, for each, the rules to evaluate under: the rule files kept in the
store under the record's rules digest (the default: does the engine still give what it
gave?), or a rulebook given by the caller (the rules of today: what would change?).
Out: one :class:`Replayed` per record: the stored and the new verdict and the JSON paths
at which the two determinations differ (``figures.rvc_net_cost``,
``explanation.children[0].result``). Under a given rulebook the rules digest differs by
construction and is not counted as a difference, and neither is a rule's place in its file
(a ``source`` such as ``rules/usmca/section-17-transport.roo:954`` that moved because lines
were added above it): those paths are listed apart, as ``moved``. A record that cannot be
read (an :class:`~origin_rules.audit.store.UnreadableRecord`, a stored determination that is
not JSON) cannot be replayed: it says so, and the others are replayed all the same.
"""

from __future__ import annotations

import json
import multiprocessing
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Iterable, Iterator

from ..model.bom import BomError
from .store import Store, StoredRecord, UnreadableRecord

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


MEMO_SIZE = 4096  # distinct (rules, BOM text, name, date) evaluations remembered by a replay (their JSON)
READ_SIZE = 64  # BOMs kept read (a BOM's records under several names follow each other)


def replay(store: Store, records: Iterable[StoredRecord], book=None, workers: int = 1) -> Iterator[Replayed]:
    """Re-evaluate each record under its stored rules, or under ``book`` when given; in
    ``workers`` processes when more than one (and the platform forks, and the store is not
    in memory, out of the workers' reach): the records are read and compared here, in
    order, and the results are the same.

    Records with the same BOM text, format, name, date and explanation depth under the same
    rules (a batch's repeated shipments, one BOM under several names) are evaluated once: a
    determination depends on nothing else, and each record's stored determination is still
    compared with it. A stored determination whose text is the new one's (under other rules:
    but for the rules digest) is the same without reading it (the store keeps the JSON
    ``to_json`` makes); otherwise the two are compared as JSON, path by path."""
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods() and ":memory:" not in store.url:
        yield from _replay_in_workers(store, records, book, workers)
        return
    books = _Books(store)
    made: OrderedDict[tuple, tuple[str, str]] = OrderedDict()  # -> (verdict, determination JSON)
    read: OrderedDict[tuple[str, str], Any] = OrderedDict()  # (text, format) -> the BOM
    for record in records:
        if isinstance(record, UnreadableRecord):
            yield _unreadable(record)
            continue
        under = book if book is not None else books.get(record.rules_digest)
        base = _base(record, book)
        if isinstance(under, str):
            yield Replayed(**base, error=under)
            continue
        key = _key(record)
        hit = made.get(key)
        if hit is not None:
            made.move_to_end(key)
        else:
            found = _evaluated(under, record, read)
            if found[0] != "ok":
                yield Replayed(**base, error=found[1])
                continue
            hit = _keep(made, key, found[1:])
        yield _compared(record, base, hit[0], hit[1], book)


def _unreadable(record: UnreadableRecord) -> Replayed:
    return Replayed(record_id=record.id, product_id="", agreement="", as_of="", rules_digest="", stored_verdict="",
                    error=f"the record cannot be read: {record.reason}")


def _base(record: StoredRecord, book) -> dict[str, Any]:
    return dict(record_id=record.id, product_id=record.product_id, agreement=record.agreement,
                as_of=record.as_of.isoformat(), stored_verdict=record.verdict,
                rules_digest=book.digest if book is not None else record.rules_digest)


def _key(record: StoredRecord) -> tuple:
    """What a determination depends on besides the rules (the rules digest stands for them,
    or the one rulebook given)."""
    return (record.rules_digest, record.bom_received, record.bom_format, record.agreement, record.as_of,
            record.explain)


def _evaluated(under, record: StoredRecord, read: OrderedDict) -> tuple:
    """``("ok", verdict, determination JSON)``, or ``("error", why)``: the stored BOM no
    longer reads (the message names the record), or the agreement is unknown to the rules."""
    from ..rulebook.book import UnknownAgreement

    try:
        bom = _remembered(read, (record.bom_received, record.bom_format), lambda: reread(record), READ_SIZE)
        det = under.evaluate(bom, under=record.agreement, as_of=record.as_of, explain=record.explain)
    except BomError as exc:
        return ("error", f"the stored BOM no longer reads: {exc}")
    except UnknownAgreement as exc:
        return ("error", str(exc))
    return ("ok", det.verdict, det.to_json(indent=None))


def _compared(record: StoredRecord, base: dict[str, Any], verdict: str, text: str, book) -> Replayed:
    """The record's replay, given the determination made again (``text``, its JSON)."""
    if text == record.determination or (book is not None and _same_but_digest(text, book.digest, record)):
        return Replayed(**base, verdict=verdict)
    try:
        old = json.loads(record.determination)
    except ValueError as exc:
        return Replayed(**base, verdict=verdict, error=f"the stored determination is not JSON ({exc})")
    new = json.loads(text)
    if book is None:
        return Replayed(**base, verdict=verdict, paths=differences(old, new))
    old.pop("rules_digest", None)
    new.pop("rules_digest", None)
    paths = differences(old, new, limit=None)
    moved = [p for p in paths if _is_source(p)]
    return Replayed(**base, verdict=verdict, paths=[p for p in paths if not _is_source(p)][:MAX_PATHS],
                    moved=moved[:MAX_PATHS])


# ---------------------------------------------------------------------------- in worker processes

CHUNK = 1000  # records read and compared at a time; their evaluations go to the workers meanwhile

_WORKER: dict[str, Any] = {}  # a worker's store URL, rulebook given, rulebooks by digest, BOMs read


def _start_worker(url: str, book) -> None:
    _WORKER.clear()
    _WORKER.update(url=url, book=book, books=None, read=OrderedDict())


def _evaluate_in_worker(jobs: list[tuple]) -> list[tuple]:
    """Each job ``(record id, key)`` evaluated as :func:`_evaluated` does (the rules of a
    digest read from the worker's own connection to the store)."""
    book = _WORKER["book"]
    if book is None and _WORKER["books"] is None:
        _WORKER["books"] = _Books(Store(_WORKER["url"], migrate=False))
    out = []
    for record_id, (digest, text, fmt, agreement, as_of, explain) in jobs:
        under = book if book is not None else _WORKER["books"].get(digest)
        if isinstance(under, str):
            out.append(("error", under))
            continue
        record = SimpleNamespace(id=record_id, bom_received=text, bom_format=fmt, agreement=agreement, as_of=as_of,
                                 explain=explain)
        out.append(_evaluated(under, record, _WORKER["read"]))
    return out


def _replay_in_workers(store: Store, records: Iterable[StoredRecord], book, workers: int) -> Iterator[Replayed]:
    """:func:`replay` with the evaluations in forked worker processes. Each chunk of records
    sends its keys not made yet to the workers (a BOM text to the same worker each time, so
    that it reads each BOM once) while the previous chunk is compared; a record whose BOM no
    longer reads is read again here, so that its message names it."""
    from concurrent.futures import ProcessPoolExecutor

    made: OrderedDict[tuple, tuple[str, str]] = OrderedDict()
    store.engine.dispose()  # no connection of ours goes into the workers; they open their own
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=_start_worker, initargs=(store.url, book))
    try:
        for future in [pool.submit(len, ()) for _ in range(workers)]:  # fork them now, before any cursor opens
            future.result()
        window: deque = deque()
        chunk: list[StoredRecord] = []
        for record in records:
            chunk.append(record)
            if len(chunk) == CHUNK:
                window.append(_send(pool, chunk, made, workers))
                chunk = []
                if len(window) > 1:
                    yield from _receive(pool, *window.popleft(), made, book)
        if chunk:
            window.append(_send(pool, chunk, made, workers))
        while window:
            yield from _receive(pool, *window.popleft(), made, book)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _send(pool, chunk: list[StoredRecord], made: OrderedDict, workers: int) -> tuple:
    buckets: list[list[tuple]] = [[] for _ in range(workers)]
    sent: dict[tuple, tuple[int, int]] = {}  # key -> (bucket, index)
    for record in chunk:
        if isinstance(record, UnreadableRecord):
            continue
        key = _key(record)
        if key in made or key in sent:
            continue
        bucket = hash(record.bom_received) % workers
        sent[key] = (bucket, len(buckets[bucket]))
        buckets[bucket].append((record.id, key))
    futures = [pool.submit(_evaluate_in_worker, jobs) if jobs else None for jobs in buckets]
    return chunk, sent, futures


def _receive(pool, chunk: list[StoredRecord], sent: dict, futures: list, made: OrderedDict,
             book) -> Iterator[Replayed]:
    answers = [f.result() if f is not None else [] for f in futures]
    found = {key: answers[bucket][index] for key, (bucket, index) in sent.items()}
    again = {}  # made before this chunk was sent and forgotten since (the memo is bounded): again
    for record in chunk:
        if isinstance(record, UnreadableRecord):
            continue
        key = _key(record)
        if key in found:
            continue
        hit = made.get(key)
        if hit is None:
            again.setdefault(key, (record.id, key))
        else:
            found[key] = ("ok", *hit)
    if again:
        found.update(zip(again, pool.submit(_evaluate_in_worker, list(again.values())).result()))
    for key, answer in found.items():
        if answer[0] == "ok":
            _keep(made, key, answer[1:])
    for record in chunk:
        if isinstance(record, UnreadableRecord):
            yield _unreadable(record)
            continue
        base = _base(record, book)
        answer = found[_key(record)]
        if answer[0] == "ok":
            yield _compared(record, base, answer[1], answer[2], book)
            continue
        why = answer[1]
        if why.startswith("the stored BOM no longer reads"):  # read again here, to name this record
            try:
                reread(record)
            except BomError as exc:
                why = f"the stored BOM no longer reads: {exc}"
        yield Replayed(**base, error=why)


def _same_but_digest(text: str, digest: str, record: StoredRecord) -> bool:
    """Whether a determination made under other rules is the stored one but for its rules
    digest (which a replay under other rules does not count): the new digest written once,
    and the texts equal once it is the stored one."""
    return text.count(digest) == 1 and text.replace(digest, record.rules_digest) == record.determination


def _remembered(memo: OrderedDict, key: Any, make: Any, size: int | None = None) -> Any:
    """``memo[key]``, made by ``make()`` when missing (what it raises is not remembered: a
    BOM that no longer reads is read again for each record, whose id its message names)."""
    found = memo.get(key)
    if found is not None:
        memo.move_to_end(key)
        return found
    return _keep(memo, key, make(), size)


def _keep(memo: OrderedDict, key: Any, value: Any, size: int | None = None) -> Any:
    """``value`` kept under ``key`` as the most recently used; the least recently used
    forgotten past ``size`` (default :data:`MEMO_SIZE`)."""
    memo[key] = value
    memo.move_to_end(key)
    if len(memo) > (MEMO_SIZE if size is None else size):
        memo.popitem(last=False)
    return value


def _is_source(path: str) -> bool:
    """Whether a difference's path is a rule's location (``...source``), not what it decided."""
    return path == "source" or path.endswith(".source")
