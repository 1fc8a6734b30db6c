"""Running a batch: inputs streamed through worker processes into one output file.

In: a loaded rulebook and :class:`Options` (inputs, names, date, output path and format,
workers). Out: the output file (one record per input record, in input order; see
:mod:`origin_rules.batch.records`) and a :class:`~origin_rules.batch.summary.Summary`.

How memory stays flat and nothing is lost:

- The main process cuts the input into records (:mod:`origin_rules.batch.inputs`) without
  parsing them, and groups them into chunks of ``chunk`` records. At most ``2 x workers``
  chunks are in flight; results are written in input order as soon as the oldest chunk is
  done, so memory holds a bounded window whatever the size of the input.
- Identical records are evaluated once: a record whose raw text was seen before (a bounded
  LRU of digests in the main process, plus the records still in flight) takes the earlier
  result and never reaches a worker; workers also reuse results for BOMs with the same
  canonical JSON (see :mod:`origin_rules.batch.work`).
- Output goes to a temporary file in the output's folder, moved into place with
  :func:`os.replace` only once every record is written; on any error or interruption the
  temporary file is removed, so a partial output never sits under the output's name.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
from collections import Counter, OrderedDict, deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Callable, Iterator

from ..files.atomic import write_atomically
from .inputs import Item, read_items, total_size
from .records import Renderer, error_problems
from .summary import Summary
from .work import Setup, init_worker, ping, run_jobs, set_setup

__all__ = ["Options", "run_batch", "write_atomically"]

KNOWN_SIZE = 20_000  # results kept in the main process for reuse (LRU)


@dataclass
class Options:
    inputs: list[str]
    out: str
    names: list[str] | None = None  # None: every applicable agreement/scenario
    as_of: date = field(default_factory=date.today)
    workers: int = 1
    chunk: int = 500
    figures: bool = True
    rule_paths: list[str] = field(default_factory=list)  # for workers that are spawned, not forked
    cache: bool = False  # spawned workers read the rules through the rulebook cache, as load(cache=True)
    cluster: str | None = None  # a Dask scheduler's address, or "local:N" (batch.cluster); None: local workers
    rates: tuple = ()  # --rates FILE: exchange rates added to every BOM (model.currency.with_rates)
    record: bool = False  # set by run_batch when it is given a recording (batch --record): workers add the determinations

    @property
    def output(self) -> str:
        """The output file's format: ``jsonl``, ``csv`` or ``parquet`` (by extension)."""
        suffix = Path(self.out).suffix.lower()
        return {".csv": "csv", ".parquet": "parquet"}.get(suffix, "jsonl")

    @property
    def fmt(self) -> str:
        """The format workers render records in (Parquet is converted from JSON Lines)."""
        return "csv" if self.output == "csv" else "jsonl"


class _Chunk:
    """Records on their way through a worker. ``entries`` are (item, kind, ref): kind 0, a
    result known already; 1, the result of this chunk's job number ``ref``; 2, the result
    of an identical record still in flight in an earlier chunk, delivered through the
    one-element list ``ref`` (a slot), so that chunks never hold on to each other."""

    __slots__ = ("entries", "jobs", "keys", "slots", "future", "results", "evaluated")

    def __init__(self) -> None:
        self.entries: list[tuple[Item, int, object]] = []
        self.jobs: list[tuple] | None = []
        self.keys: list[bytes | None] = []
        self.slots: list[list | None] = []
        self.future: Future | None = None
        self.results: list[tuple] = []
        self.evaluated = 0

    def ready(self) -> bool:
        return self.future is None or self.future.done()

    def wait(self) -> None:
        if self.future is not None:
            self.results, self.evaluated = self.future.result()
            self.future = None


class _Pool:
    """Worker processes, or the main process itself when there is one worker."""

    def __init__(self, workers: int, options: Options, names_for_csv: list[str]):
        self.executor: ProcessPoolExecutor | None = None
        if workers > 1:
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            self.executor = ProcessPoolExecutor(
                workers, mp_context=context, initializer=init_worker,
                initargs=(os.getpid(), options.rule_paths, options.names, options.as_of, options.fmt, names_for_csv,
                          options.figures, options.cache, options.rates, options.record),
            )
            # forked workers then share the compiled rulebook's pages instead of copying them;
            # a caller that froze objects itself (the CLI freezes the rulebook it loads) keeps
            # them frozen, or the parent's last collection at exit walks and frees them all
            # (72,000 objects of the shipped rules: 55 ms); others get the collector as it was
            frozen_before = gc.get_freeze_count()
            gc.freeze()
            try:
                self.executor.submit(ping).result()  # start the workers now, before any thread of ours
            finally:
                if not frozen_before:
                    gc.unfreeze()

    def submit(self, chunk: _Chunk) -> None:
        jobs, chunk.jobs = chunk.jobs, None  # the raw records are the executor's now
        if not jobs:
            return
        if self.executor is None:
            chunk.results, chunk.evaluated = run_jobs(jobs)
        else:
            chunk.future = self.executor.submit(run_jobs, jobs)

    def close(self, graceful: bool) -> None:
        if self.executor is None:
            return
        if graceful:
            self.executor.shutdown(wait=True)
            return
        self.executor.shutdown(wait=False, cancel_futures=True)
        kill = getattr(self.executor, "kill_workers", None)  # Python 3.14+
        if kill is not None:
            kill()
            return
        for process in list((getattr(self.executor, "_processes", None) or {}).values()):
            try:
                process.kill()
            except (OSError, ValueError):
                pass


class _Writer:
    """Writes finished chunks in order and keeps the tallies and the reuse cache; with a
    recording, hands it each record's determinations in the same order (see run_batch)."""

    def __init__(self, handle, renderer: Renderer, summary: Summary, recording=None):
        self.handle = handle
        self.renderer = renderer
        self.summary = summary
        self.recording = recording
        self.known: OrderedDict[bytes, tuple] = OrderedDict()
        self.pending: dict[bytes, tuple[_Chunk, int, list]] = {}
        self.verdicts: Counter = Counter()
        self.losses: Counter = Counter()
        self.warned = 0

    def write(self, chunk: _Chunk) -> None:
        chunk.wait()
        recording = self.recording
        if recording is not None:  # each new result's determinations go to the recording once, then by
            # reference: ("ok", tail, verdicts, losses, warned, determinations, as received) (batch.work)
            chunk.results = [r[:5] + (recording.determinations(r[5]), r[6]) if r[0] == "ok" else r
                             for r in chunk.results]
        render = self.renderer
        lines = []
        errors = 0
        for item, kind, ref in chunk.entries:
            if kind == 0:
                result = ref
            elif kind == 1:
                result = chunk.results[ref]
            else:
                result = ref[0]
            if result[0] == "ok":
                tail = result[1]
                self.verdicts[result[2]] += 1
                if result[3]:
                    self.losses[result[3]] += 1
                if result[4]:
                    self.warned += 1
                if recording is not None:  # (the line as received, or the BOM's JSON as evaluated)
                    job = item.job
                    recording.record(job[3].decode("utf-8-sig" if job[2] == 1 else "utf-8") if result[6] else None,
                                     result[5])
            else:
                errors += 1
                tail = render.error_tail(result[1], error_problems(result[2], item.line))
            lines.append(render.line(item.source, item.position, item.line, tail))
        self.handle.write("".join(lines))
        s = self.summary
        s.records += len(chunk.entries)
        s.errors += errors
        s.warned, self.warned = s.warned + self.warned, 0
        s.evaluated += chunk.evaluated
        known = self.known
        for key, slot, result in zip(chunk.keys, chunk.slots, chunk.results):
            if key is None:
                continue
            slot[0] = result
            self.pending.pop(key, None)
            known[key] = result
            if len(known) > KNOWN_SIZE:
                known.popitem(last=False)
        chunk.entries = chunk.results = chunk.slots = []  # nothing of a written chunk is kept

    def place(self, chunk: _Chunk, item: Item) -> None:
        """Add a record to a chunk: a known result, a reference, or a new job."""
        if item.final is not None:
            chunk.entries.append((item, 0, item.final))
            return
        key = item.key
        if key is not None:
            hit = self.known.get(key)
            if hit is not None:
                chunk.entries.append((item, 0, hit))
                self.summary.reused += 1
                return
            ref = self.pending.get(key)
            if ref is not None:
                owner, index, slot = ref
                chunk.entries.append((item, 1, index) if owner is chunk else (item, 2, slot))
                self.summary.reused += 1
                return
        index = len(chunk.jobs)
        slot = [None] if key is not None else None
        if key is not None:
            self.pending[key] = (chunk, index, slot)
        chunk.entries.append((item, 1, index))
        chunk.jobs.append(item.job)
        chunk.keys.append(key)
        chunk.slots.append(slot)

    def tally(self) -> None:
        for pairs, count in self.verdicts.items():
            for name, verdict in pairs:
                self.summary.count(name, verdict, count)
        for names, count in self.losses.items():
            for name in names:
                self.summary.losses[name] = self.summary.losses.get(name, 0) + count


def _chunks(items: Iterator[Item], writer: _Writer, size: int) -> Iterator[tuple[_Chunk, int]]:
    chunk = _Chunk()
    done = 0
    for item in items:
        writer.place(chunk, item)
        done = item.done
        if len(chunk.entries) >= size:
            yield chunk, done
            chunk = _Chunk()
    if chunk.entries:
        yield chunk, done


def _write_parquet(out: str, write: Callable) -> None:
    """The records as JSON Lines in a temporary file beside ``out``, then converted into the
    Parquet table moved into place (:func:`origin_rules.files.parquet.write_results`); the
    temporary file is removed whatever happens."""
    import tempfile

    from ..files.parquet import write_results

    target = Path(out)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".jsonl.part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            write(handle)
        with open(tmp, "rb") as lines:
            write_atomically(out, lambda handle: write_results(lines, handle), binary=True)
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def run_batch(book, options: Options, progress: Callable[[int, int, int], None] | None = None,
              started: Callable[[int], None] | None = None, recording=None) -> Summary:
    """Run the batch; ``progress(records, bytes done, bytes total)`` after each chunk;
    ``started(total bytes)`` once the workers are up (start a progress display there).

    ``recording`` (``batch --record``; :class:`origin_rules.audit.capture.BatchRecording`):
    the workers also make each distinct BOM's full determinations, and the recording is
    given them once per distinct result (``determinations(payload)`` returns the reference
    it keeps) and then each valid record in input order (``record(text, reference)``: the
    record's text as received, or None to keep the BOM's JSON). The caller stores them once
    the batch is done, so an interrupted batch records nothing."""
    options = replace(options, record=recording is not None)
    columns = list(options.names) if options.names else list(book.names)
    renderer = Renderer(options.fmt, columns)
    summary = Summary(book.digest, options.as_of, list(options.inputs), options.out, columns)
    set_setup(Setup(book, options.names, options.as_of, renderer, options.figures, options.rates, options.record))
    clock = time.perf_counter()
    summary.workers = max(1, options.workers)
    total = total_size(options.inputs)
    graceful = False
    pool: _Pool | None = None

    def write(handle) -> None:
        handle.write(renderer.header())
        writer = _Writer(handle, renderer, summary, recording)
        window: deque[_Chunk] = deque()
        limit = 2 * max(1, summary.workers)
        done = 0
        if started is not None:
            started(total)
        for chunk, done in _chunks(read_items(options.inputs), writer, options.chunk):
            pool.submit(chunk)
            window.append(chunk)
            while window and (len(window) > limit or window[0].ready()):
                writer.write(window.popleft())
                if progress is not None:
                    progress(summary.records, done, total)
        while window:
            writer.write(window.popleft())
        if progress is not None:
            progress(summary.records, total, total)
        writer.tally()

    try:
        if options.cluster:
            from .cluster import ClusterPool

            pool = ClusterPool(options.cluster, book, options, columns)
            summary.workers = pool.workers
        else:
            if summary.workers > 1:  # plans built before the fork are shared, not built again in each worker
                for name in options.names or book.names:
                    if name in book.names:
                        book.plan(name)
            pool = _Pool(summary.workers, options, columns)
        if options.output == "parquet":
            _write_parquet(options.out, write)
        else:
            write_atomically(options.out, write)
        graceful = True
    finally:
        if pool is not None:
            pool.close(graceful)
        set_setup(None)
    summary.seconds = time.perf_counter() - clock
    return summary
