"""Processes of the kill and interrupt tests (Linux ``/proc``): started as from a terminal,
found, and told apart from a later process given the same pid.

* :data:`PYTHON_CLI` -- the ``origin-rules`` command as a test starts it, with Ctrl-C at its
  default: a process started in the background (``make test &``, a CI runner without job
  control) inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler,
  so the batch would never see the test's SIGINT.
* A process is a :class:`Proc`, its pid and its start time (clock ticks since boot): a pid
  freed by a worker that exited can be given to a new process, which is not the worker.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import NamedTuple

PYTHON_CLI = ("import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
              "from origin_rules.cli import main; main()")


class Proc(NamedTuple):
    pid: int
    started: int  # /proc/PID/stat field 22: clock ticks after boot


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (field 3 first), or None."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    except (OSError, IndexError):
        return None


def proc(pid: int) -> Proc | None:
    fields = _stat(pid)
    return Proc(pid, int(fields[19])) if fields else None


def children(pid: int, every_thread: bool = False) -> list[Proc]:
    """The direct children of ``pid`` (of its every thread with ``every_thread``: Dask starts
    processes from threads of its own)."""
    tasks = Path(f"/proc/{pid}/task").glob("*") if every_thread else [Path(f"/proc/{pid}/task/{pid}")]
    found = []
    for task in tasks:
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return [p for p in map(proc, found) if p is not None]


def descendants(pid: int) -> list[Proc]:
    out, stack = [], [pid]
    while stack:
        kids = children(stack.pop(), every_thread=True)
        out += kids
        stack += [k.pid for k in kids]
    return out


def alive(p: Proc) -> bool:
    """``p`` still runs: its pid is in use, by the process that started then, not a zombie."""
    fields = _stat(p.pid)
    return fields is not None and int(fields[19]) == p.started and fields[0] != "Z"


def wait_gone(procs: list[Proc], seconds: float = 15) -> list[Proc]:
    """The processes of ``procs`` still alive after up to ``seconds`` (none, when all went)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(alive(p) for p in procs):
            return []
        time.sleep(0.1)
    return [p for p in procs if alive(p)]
