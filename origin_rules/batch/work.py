"""The worker's side of a batch: raw input records in, rendered results out.

In: a list of *jobs* (raw records cut out of the input by :mod:`origin_rules.batch.inputs`:
a JSON Lines line as bytes, the rows of one CSV/XLSX product, or a record of a YAML/JSON
file parsed but not validated, with the lines of its fields) and the run's :class:`Setup` (rulebook, names, date, output format).
Out: one result per job, in order:

- ``("ok", tail, verdicts, losses, warnings)``: the rendered tail of the output record (see
  :mod:`origin_rules.batch.records`), the ``(name, verdict)`` pairs, the scenarios under
  which the good loses its agreement's qualification and the number of distinct warnings
  about the BOM (for the summary and ``--strict``); when the run records its determinations
  (``batch --record``), two more: the full determinations (:func:`determinations`) and
  whether the record is kept as received (:func:`kept_as_received`);
- ``("error", product_id, problems)``: why the record could not be read, each problem as
  ``(path, message, line offset from the record's first line)``.

Neither depends on where the record sits in the input, so the main process can reuse a
result for every identical record. Records are turned into BOMs by the same functions
:func:`origin_rules.files.boms.read_boms` uses, so a batch reports exactly the errors
``evaluate`` reports. Identical BOMs (same canonical JSON) are evaluated once per worker:
a bounded LRU cache keyed by the BOM's canonical JSON, the rules digest, the date and the
names. The canonical JSON costs about a tenth of an evaluation, and the main process has
already sent each distinct raw record once, so most BOMs a worker meets are new: a cheap
:func:`fingerprint` (equal for equal BOMs) tells those apart first, and the canonical key
is worked out only for a BOM whose fingerprint was met before (and then for the earlier
record too, read again from its raw job).

The setup lives in a module global: set in the parent before the worker processes are
forked (the compiled rulebook is not picklable, and forking shares it for free), or by
:func:`init_worker` from rule paths where processes are spawned.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sys
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..model.bom import BomError
from ..model.currency import with_rates
from ..files.boms import BomRecord, bom_record, csv_group, jsonl_record, not_utf8
from .judge import judge, losses
from .records import Renderer

__all__ = ["Setup", "init_worker", "run_jobs", "set_setup"]

CACHE_SIZE = 4096
MET_MATERIALS = 200_000  # raw records kept for their canonical key, in materials (see _judged)


@dataclass
class Setup:
    """Everything a worker needs, fixed for one run."""

    book: Any
    names: list[str] | None  # None: every applicable agreement/scenario of each BOM
    as_of: date
    renderer: Renderer
    figures: bool = True
    rates: tuple = ()  # --rates: exchange rates added to every BOM (a rate the BOM declares wins)
    record: bool = False  # --record: each result also carries the full determinations (for the audit store)
    cache: "OrderedDict[bytes, tuple]" = field(default_factory=OrderedDict)  # canonical key -> result
    met: "OrderedDict[int, tuple | None]" = field(default_factory=OrderedDict)  # see _judged
    met_materials: int = 0  # the materials of the raw records kept in ``met``
    key_prefix: Any = None

    def __post_init__(self) -> None:
        seed = hashlib.blake2b(digest_size=16)
        seed.update(f"{self.book.digest}\0{self.as_of.isoformat()}\0{self.names}\0{self.figures}\0{self.record}\0".encode())
        self.key_prefix = seed

    def bom_key(self, bom) -> bytes:
        """The cache key of a BOM as evaluated: its canonical JSON under this run's setup."""
        hasher = self.key_prefix.copy()
        hasher.update(bom.model_dump_json(exclude_defaults=True).encode())  # defaults left out: a third cheaper
        return hasher.digest()


_SETUP: Setup | None = None


def set_setup(setup: Setup | None) -> None:
    global _SETUP
    _SETUP = setup


def init_worker(parent: int, rule_paths: list[str], names, as_of: date, fmt: str, columns: list[str],
                figures: bool, cache: bool = True, rates: tuple = (), record: bool = False) -> None:
    """Initializer of each worker: die with the parent (pid ``parent``), leave Ctrl-C to
    the parent, and load the rules when the worker was spawned rather than forked: from the
    rulebook cache (``cache``, which the parent's own load has just filled) rather than
    parsing them again."""
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if _SETUP is not None:
        return
    from ..rulebook.book import load

    set_setup(Setup(load(rule_paths, cache=cache), names, as_of, Renderer(fmt, columns), figures, rates, record))


def _die_with_parent(parent: int) -> None:
    """A worker must not outlive a batch that was killed (Linux: PR_SET_PDEATHSIG)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


# ---------------------------------------------------------------------------- reading


def _read(job: tuple) -> tuple[BomRecord, int | None]:
    """The job as a BomRecord, and the line its problems are relative to."""
    kind = job[0]
    if kind == "jsonl":
        _, file, lineno, raw = job
        try:
            text = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
        except UnicodeDecodeError:
            return BomRecord(file, lineno, error=BomError(not_utf8(file, lineno)), line=lineno), lineno
        return jsonl_record(file, lineno, text), lineno
    if kind == "rows":
        _, file, columns, rows, repeated_key = job
        seen = {repeated_key} if repeated_key is not None else set()
        return csv_group(file, rows, columns, seen), rows[0][0]
    _, file, position, data, lines, line = job  # "data": a record of a YAML/JSON file, parsed
    return bom_record(file, position, data, lines=lines, line=line), line


def _problems(error: BomError, base: int | None) -> list[tuple[str, str, int | None]]:
    out = []
    for p in error.problems:
        message = p.message + (f" (column {p.column})" if p.column is not None else "")
        offset = None if p.line is None or base is None else p.line - base
        out.append((p.path, message, offset))
    return out


# ---------------------------------------------------------------------------- judging


def fingerprint(bom) -> int:
    """A cheap summary of a BOM (a hash: its size does not grow with the BOM's), equal for
    BOMs with the same canonical JSON; the converse need not hold: it only tells BOMs met
    for the first time apart (see :func:`_judged`)."""
    p = bom.product
    return hash((p.id, p.hs, p.produced_in, p.transaction_value, p.net_cost, len(bom.materials),
                 tuple((m.id, m.hs, m.origin, m.value) for m in bom.materials)))


def _as_evaluated(setup: Setup, bom):
    return with_rates(bom, setup.rates) if setup.rates else bom  # the key sees the rates added


def _judged(setup: Setup, bom, job: tuple) -> tuple[tuple, bool]:
    """The ok-result for a valid record's BOM as evaluated (:func:`_as_evaluated`), and
    whether it had to be evaluated (cache miss).

    ``setup.met`` maps the fingerprints of the BOMs judged to ``(job, result, materials)``
    while no other BOM with that fingerprint was met (no canonical key worked out: the first
    BOM of a fingerprint is surely new), then to ``None`` once both are in ``setup.cache``
    under their canonical keys. The raw records kept are bounded by their materials
    (:data:`MET_MATERIALS`), so a batch of very large BOMs keeps few of them; a BOM too large
    to keep goes under its canonical key at once.

    The results kept leave out the full determinations of ``batch --record`` (a BOM's take
    tens of kilobytes: thousands kept would weigh hundreds of megabytes per worker); a BOM
    met again under its canonical key, which only a text written otherwise brings here (the
    main process reuses the results of identical records), has them made again."""
    mark = fingerprint(bom)
    met, cache = setup.met, setup.cache
    if mark not in met:
        result = _evaluated(setup, bom)
        size = _count(bom.materials)
        if size > MET_MATERIALS // 8:
            met[mark] = None
            _remember(cache, setup.bom_key(bom), _kept(result))
        else:
            met[mark] = (job, _kept(result), size)
            setup.met_materials += size
        while len(met) > CACHE_SIZE or setup.met_materials > MET_MATERIALS:
            _, dropped = met.popitem(last=False)
            if dropped is not None:
                setup.met_materials -= dropped[2]
        return result, True
    met.move_to_end(mark)
    first = met[mark]
    if first is not None:  # the fingerprint's first BOM goes under its canonical key now
        met[mark] = None
        setup.met_materials -= first[2]
        earlier, _ = _read(first[0])
        _remember(cache, setup.bom_key(_as_evaluated(setup, earlier.bom)), first[1])
    key = setup.bom_key(bom)
    hit = cache.get(key)
    if hit is not None:
        cache.move_to_end(key)
        return (hit + (determinations(setup, bom),) if setup.record else hit), False
    result = _evaluated(setup, bom)
    _remember(cache, key, _kept(result))
    return result, True


def _kept(result: tuple) -> tuple:
    """A result as a worker's caches keep it: without the determinations of ``--record``."""
    return result[:5]


def _count(materials) -> int:
    return len(materials) + sum(_count(m.materials) for m in materials if m.materials)


def _remember(cache: "OrderedDict[bytes, tuple]", key: bytes, result: tuple) -> None:
    cache[key] = result
    if len(cache) > CACHE_SIZE:
        cache.popitem(last=False)


def _evaluated(setup: Setup, bom) -> tuple:
    outcomes: dict | None = {} if setup.record else None
    entries = judge(setup.book, bom, setup.names, setup.as_of, setup.figures, outcomes)
    p = bom.product
    tail = setup.renderer.tail(p.id, p.hs, p.produced_in, entries)
    warned = len({(w["code"], w["path"], w["message"]) for e in entries for w in e.get("warnings", ())})
    result = ("ok", tail, tuple((e["agreement"], e["verdict"]) for e in entries), losses(entries), warned)
    return result + (determinations(setup, bom, outcomes),) if setup.record else result


def determinations(setup: Setup, bom, outcomes: dict | None = None) -> tuple:
    """What the audit store keeps of a BOM as evaluated (``batch --record``): its product id
    and HS code, its full determination under each name (``(agreement, as_of, verdict, JSON,
    rules digest)``; every applicable name when the run names none), and its JSON (kept for a
    record that is not a JSON Lines line as received). The same for BOMs with the same
    canonical JSON, so a worker's cached result serves them all. ``outcomes``: the engine's
    outcomes the batch entries were made from, by name (each determination is made from its
    name's, as :meth:`Rulebook.evaluate` makes it from the one it computes)."""
    book = setup.book
    on = setup.as_of
    chosen = setup.names or book.applicable(bom)
    known = outcomes or {}
    dets = [book.determination(bom, name, on, known.get(name) or book.outcome(bom, name, on)) for name in chosen]
    return (bom.product.id, bom.product.hs,
            tuple((d.agreement, d.as_of, d.verdict, d.to_json(indent=None), d.rules_digest) for d in dets),
            bom.to_json(indent=None))


def kept_as_received(record: BomRecord, evaluated, job: tuple) -> bool:
    """Whether the audit store keeps a record's text as received: a line of a JSON Lines file
    whose BOM the run's rates left as it was; otherwise it keeps the BOM's JSON as evaluated
    (a CSV/XLSX product, a YAML/JSON list item, a Parquet row; a BOM given rates), so that a
    replay needs neither the reader nor the rates file. ``evaluated``: the record's BOM as
    evaluated (:func:`_as_evaluated`)."""
    return job[0] == "jsonl" and job[1].lower().endswith((".jsonl", ".ndjson")) and evaluated is record.bom


def run_one(setup: Setup, job: tuple) -> tuple[tuple, bool]:
    record, base = _read(job)
    if record.error is not None or record.bom is None:
        error = record.error or BomError([])
        return ("error", record.product_id, _problems(error, base)), False
    try:
        evaluated = _as_evaluated(setup, record.bom)
        result, fresh = _judged(setup, evaluated, job)
        if setup.record:
            result += (kept_as_received(record, evaluated, job),)
        return result, fresh
    except Exception as exc:  # noqa: BLE001 - an evaluator bug must not lose the other records
        message = f"internal error while evaluating this BOM ({type(exc).__name__}: {exc}); please report it"
        return ("error", record.product_id, [("", message, None)]), False


def run_jobs(jobs: list[tuple], setup: Setup | None = None) -> tuple[list[tuple], int]:
    """Results for a chunk of jobs, in order, and how many BOMs were actually evaluated
    (under ``setup``, else the process's own, :func:`set_setup`)."""
    setup = setup or _SETUP
    if setup is None:
        raise RuntimeError("batch worker used before its setup")
    results = []
    evaluated = 0
    for job in jobs:
        result, fresh = run_one(setup, job)
        results.append(result)
        evaluated += fresh
    return results, evaluated


def ping() -> int:
    return 0
