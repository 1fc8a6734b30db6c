"""Batch jobs of the service: an uploaded file evaluated in the background, with progress.

In: an input file saved by the API, the agreements/scenarios, the date, who asked.
Out: :class:`Job` values readable at any time (status, records done, bytes done of total,
the batch summary, the error) and, once done, the output file (JSON Lines, the format of
``origin-rules batch``), the HTML report on demand, and every determination recorded in
the audit store.

Jobs run one at a time, in input order, on one background thread, through
:func:`origin_rules.batch.run_batch` (the batch's setup is process-wide, so two batches
cannot run at once in one process); ``workers`` > 1 gives the batch worker processes.
Each job's state is kept in ``job.json`` in its folder (written atomically at every change
of status), so a server started again on the same ``--jobs-dir`` still answers for the jobs
it took before: finished jobs as they ended, queued ones queued again, and one that was
running or recording when the server stopped as ``failed``, saying so (its determinations
recorded so far stay in the audit store; running it again could record them twice).
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["Job", "Jobs"]

log = logging.getLogger("origin_rules.service")


@dataclass
class Job:
    id: str
    folder: Path
    input: Path
    names: list[str] | None
    as_of: date
    requested_by: str
    status: str = "queued"  # queued -> running -> recording -> done | failed
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    finished_at: datetime | None = None
    records: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    recorded: int = 0
    summary: dict[str, Any] | None = None
    error: str | None = None

    @property
    def output(self) -> Path:
        return self.folder / "results.jsonl"

    @property
    def report(self) -> Path:
        return self.folder / "report.html"

    def save(self) -> None:
        """Keep the job's state in ``job.json`` in its folder (atomically)."""
        import json

        from ..files.atomic import write_text_atomically

        state = {**self.to_dict(), "input": self.input.name, "bytes_total": self.bytes_total}
        write_text_atomically(self.folder / STATE, json.dumps(state, indent=2, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, folder: Path) -> "Job":
        """The job kept in ``folder/job.json`` (:meth:`save`)."""
        import json

        state = json.loads((folder / STATE).read_text(encoding="utf-8"))
        progress = state["progress"]
        finished = state["finished_at"]
        return cls(id=state["id"], folder=folder, input=folder / state["input"], names=state["under"],
                   as_of=date.fromisoformat(state["as_of"]), requested_by=state["requested_by"],
                   status=state["status"], created_at=_instant(state["created_at"]),
                   finished_at=_instant(finished) if finished else None, records=progress["records"],
                   bytes_done=progress["bytes_done"], bytes_total=progress["bytes_total"],
                   recorded=state["recorded"], summary=state["summary"], error=state["error"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "status": self.status, "as_of": self.as_of.isoformat(), "under": self.names,
            "requested_by": self.requested_by,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "finished_at": self.finished_at.isoformat().replace("+00:00", "Z") if self.finished_at else None,
            "progress": {"records": self.records, "bytes_done": self.bytes_done, "bytes_total": self.bytes_total},
            "recorded": self.recorded, "summary": self.summary, "error": self.error,
            "results": f"/batches/{self.id}/results" if self.status == "done" else None,
            "report": f"/batches/{self.id}/report" if self.status == "done" else None,
        }


STATE = "job.json"  # a job's state, in its folder


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _name_sources(output: Path, path: str, name: str) -> None:
    """The output's ``source`` fields name the uploaded file (``input.jsonl``), not the
    server's folder for it."""
    import json
    import os

    old, new = json.dumps(path, ensure_ascii=False), json.dumps(name, ensure_ascii=False)
    temporary = output.with_suffix(".tmp")
    with open(output, encoding="utf-8") as source, open(temporary, "w", encoding="utf-8") as target:
        for line in source:
            target.write(line.replace(old, new, 1))
    os.replace(temporary, output)


def _is_database(exc: Exception) -> bool:
    from sqlalchemy.exc import SQLAlchemyError

    return isinstance(exc, SQLAlchemyError)


def _failure(exc: Exception) -> str:
    """Why a job failed, in one line: a database's own reason, never its statement and
    parameters (the SQL and every record's BOM, which SQLAlchemy's errors hold)."""
    from ..audit.store import first_line

    if _is_database(exc):
        return f"the audit store refused the determinations: {first_line(exc)}"
    return f"{type(exc).__name__}: {first_line(exc)}"


class Jobs:
    """The queue of batch jobs and the thread that runs them."""

    def __init__(self, folder: Path, book_of, store_of, workers: int = 1):
        self.folder = folder
        self._book_of = book_of  # callables: the app's rulebook and store, loaded at start-up
        self._store_of = store_of
        self.workers = workers
        self.jobs: dict[str, Job] = {}
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, data: bytes, suffix: str, names: list[str] | None, as_of: date, requested_by: str) -> Job:
        job_id = uuid.uuid4().hex
        folder = self.folder / job_id
        folder.mkdir(parents=True)
        path = folder / f"input{suffix}"
        path.write_bytes(data)
        job = Job(job_id, folder, path, names, as_of, requested_by, bytes_total=len(data))
        job.save()
        self._enqueue(job)
        return job

    def _enqueue(self, job: Job) -> None:
        with self._lock:
            self.jobs[job.id] = job
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="origin-rules-batches", daemon=True)
                self._thread.start()
        self._queue.put(job)

    def restore(self) -> int:
        """Take back the jobs kept in the folder by an earlier server (oldest first); the
        number taken back. A folder without a readable ``job.json`` is left alone."""
        found = []
        for state in self.folder.glob(f"*/{STATE}"):
            try:
                found.append(Job.load(state.parent))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("batch job folder %s not taken back: %s", state.parent, exc)
        for job in sorted(found, key=lambda j: j.created_at):
            if job.status == "queued":
                self._enqueue(job)
                continue
            if job.status in ("running", "recording"):
                job.error = (f"interrupted: the server stopped while the job was {job.status}; the "
                             f"determinations recorded before that stay in the audit store (request id {job.id}); "
                             f"submit the file again to run it whole")
                job.status = "failed"
                job.finished_at = datetime.now(timezone.utc)
                job.save()
            self.jobs[job.id] = job
        return len(found)

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                self._one(job)
            except Exception as exc:  # noqa: BLE001 - a failed job must not stop the queue
                log.error("batch job %s failed: %s", job.id, _failure(exc), exc_info=not _is_database(exc))
                job.error = _failure(exc)
                job.status = "failed"
            job.finished_at = datetime.now(timezone.utc)
            job.save()

    def _one(self, job: Job) -> None:
        from contextlib import nullcontext

        from ..audit import BatchRecording
        from ..batch import Options, run_batch

        book = self._book_of()
        job.status = "running"
        job.save()

        def progress(records: int, done: int, total: int) -> None:
            job.records, job.bytes_done, job.bytes_total = records, done, total

        options = Options(inputs=[str(job.input)], out=str(job.output), names=job.names, as_of=job.as_of,
                          workers=self.workers)
        store = self._store_of()
        # the determinations are made by the batch's workers as it runs, kept beside the job's
        # output, and appended to the store once the batch is done
        keeping = (BatchRecording(store, book, requested_by=job.requested_by, channel="api batch", request_id=job.id,
                                  folder=str(job.output.parent)) if store is not None else nullcontext())
        with keeping as recording:
            summary = run_batch(book, options, progress=progress, recording=recording)
            _name_sources(job.output, str(job.input), job.input.name)
            data = summary.to_dict()
            data["inputs"] = [job.input.name]
            data["output"] = job.output.name
            job.summary = data
            job.records = summary.records
            if recording is not None:
                job.status = "recording"
                job.save()
                job.recorded = recording.commit()
        job.status = "done"
