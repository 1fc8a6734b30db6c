"""A batch on a Dask cluster: the same chunks, evaluated by Dask workers.

In: the address of a Dask scheduler (``tcp://host:8786``), or ``local:N`` for a local
cluster of N worker processes started for the run (a scheduler and N workers, each a
process of its own); the loaded rulebook and the run's options. Out: a pool with the
interface of the local one in :mod:`origin_rules.batch.run` (``submit(chunk)``,
``close(graceful)``, ``workers``): the main process still cuts the input into chunks of
raw records and writes results in input order into one temporary file moved into place at
the end, so the output is the one the local batch writes, byte for byte.

How the rules reach the workers, once: the parsed and checked rule files are packed
(:func:`origin_rules.rulebook.cache.pack`, the restricted format of the rulebook cache,
with the digest of the code that made it) into a worker plugin that Dask installs on
every worker, including a worker that joins or restarts during the run; each worker
compiles its plans on first use. A worker running another version of origin-rules refuses
the package with a clear error rather than guess.

Faults: a chunk is a pure function of its records, so when a worker dies Dask runs its
chunks again on another worker; the main process takes one result per chunk, so no record
is lost or written twice. An interrupted run removes its temporary output as the local
batch does; the worker processes of a local cluster leave Ctrl-C to the main process, as
the local batch's do (a terminal sends it to them all), which closes the cluster. Runs
sharing a long-lived cluster keep apart: each run's setup is keyed by a token of its own
and dropped when the run ends.
"""

from __future__ import annotations

import logging
import signal
import threading
import uuid
from typing import Any

from ..rulebook.book import Rulebook
from ..rulebook.cache import pack, unpack
from .records import Renderer
from .work import Setup, run_jobs

__all__ = ["ClusterError", "ClusterPool", "parse_address", "run_chunk"]

_SETUPS: dict[str, Setup] = {}
_LOCK = threading.Lock()  # one chunk at a time per worker process (the setup's caches are not thread-safe)


class ClusterError(RuntimeError):
    """The cluster cannot be reached or refused the run."""


def parse_address(address: str) -> tuple[str, int | None]:
    """``("local", N)`` for ``local:N``, else ``(address, None)``; ValueError when bad."""
    if address.startswith("local:"):
        count = address.partition(":")[2]
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"`{address}`: expected local:N with N a number of workers (e.g. local:2)")
        return "local", int(count)
    if address.startswith("local"):
        raise ValueError(f"`{address}`: expected local:N (e.g. local:2)")
    return address, None


def _plugin_class():
    from distributed.diagnostics.plugin import WorkerPlugin

    class RulebookPlugin(WorkerPlugin):
        """Installs a run's setup (rulebook, names, date, format) on a worker."""

        def __init__(self, token: str, blob: bytes, setup: dict[str, Any]):
            self.name = f"origin-rules-{token}"
            self.token = token
            self.blob = blob
            self.setup_args = setup

        def setup(self, worker) -> None:  # noqa: D401 - Dask's hook
            install(self.token, self.blob, self.setup_args)

        def teardown(self, worker) -> None:
            _SETUPS.pop(self.token, None)

    return RulebookPlugin


def install(token: str, blob: bytes, args: dict[str, Any]) -> None:
    """Unpack a run's rules and make its setup (on a worker; also used by tests)."""
    book = Rulebook(unpack(blob))
    renderer = Renderer(args["fmt"], args["columns"])
    _SETUPS[token] = Setup(book, args["names"], args["as_of"], renderer, args["figures"], tuple(args.get("rates", ())),
                           bool(args.get("record")))


def dask_setup(worker) -> None:
    """Preload of a local cluster's workers (Dask calls it as a worker starts): leave Ctrl-C to
    the main process. A terminal's Ctrl-C reaches every process of its group, and a worker
    would end in tracebacks (CancelledError, KeyboardInterrupt) while the main process closes
    the cluster anyway. Workers of a cluster of the user's own are left as they are."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _worker_preloads() -> dict[str, list]:
    """The workers' preloads of a local cluster: the configured ones (``distributed.worker.preload``)
    and :func:`dask_setup`."""
    import dask

    preload = dask.config.get("distributed.worker.preload", None) or []
    preload = [preload] if isinstance(preload, str) else list(preload)
    argv = list(dask.config.get("distributed.worker.preload-argv", None) or [])
    if argv and isinstance(argv[0], str):  # one argument list for every preload
        argv = [argv] * len(preload)
    argv = argv or [[]] * len(preload)
    return {"preload": preload + [__name__], "preload_argv": argv + [[]]}


def run_chunk(token: str, jobs: list[tuple]) -> tuple[list[tuple], int]:
    """A worker's task: the results of one chunk under the run ``token``."""
    setup = _SETUPS.get(token)
    if setup is None:
        raise ClusterError(f"this worker has no setup for run {token} (its plugin did not install)")
    with _LOCK:
        return run_jobs(jobs, setup)


class _InterruptRace(logging.Filter):
    """Drops the one error tornado logs when Ctrl-C comes as distributed's ``sync()`` starts:
    its ``cancel`` callback then finds no future yet (a race in distributed, harmless:
    nothing was running) and tornado prints the traceback, after which the batch ends as
    interrupted. Every other record passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "sync.<locals>.cancel" not in record.getMessage()


_QUIET_RACE = _InterruptRace()


class ClusterPool:
    """Chunks evaluated on a Dask cluster (see the module doc)."""

    def __init__(self, address: str, book: Rulebook, options, columns: list[str], timeout: str = "20s"):
        try:
            from distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - distributed is a dependency
            raise ClusterError("--cluster needs Dask: pip install 'dask[distributed]'") from None
        where, count = parse_address(address)
        logging.getLogger("tornado.application").addFilter(_QUIET_RACE)  # (removed by close)
        self.cluster = None
        self.token = uuid.uuid4().hex
        try:
            if count is not None:  # the scheduler's HTTP server on any free port: local runs side by side never clash
                self.cluster = LocalCluster(n_workers=count, threads_per_worker=1, processes=True,
                                            dashboard_address=":0", silence_logs=logging.ERROR,
                                            **_worker_preloads())
                self.client = Client(self.cluster)
            else:
                self.client = Client(where, timeout=timeout)
        except (OSError, TimeoutError) as err:
            self._close_cluster()
            raise ClusterError(f"cannot reach the Dask scheduler at `{address}`: {err}") from None
        try:
            setup = {"names": options.names, "as_of": options.as_of, "fmt": options.fmt, "columns": columns,
                     "figures": options.figures, "rates": tuple(options.rates), "record": options.record}
            plugin = _plugin_class()(self.token, pack(book.parsed), setup)
            self.plugin = plugin.name
            replies = self.client.register_plugin(plugin)
            failed = {w: r for w, r in (replies or {}).items() if isinstance(r, dict) and r.get("status") == "error"}
            if failed:
                worker, reply = next(iter(failed.items()))
                raise ClusterError(f"worker {worker} could not install the rules: {reply.get('exception') or reply}")
            info = self.client.scheduler_info()
            self.workers = max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))
        except BaseException:
            self.close(False)
            raise

    def submit(self, chunk) -> None:
        jobs, chunk.jobs = chunk.jobs, None
        if not jobs:
            return
        chunk.future = self.client.submit(run_chunk, self.token, jobs, pure=False)

    def close(self, graceful: bool) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            try:
                if getattr(self, "plugin", None):
                    client.unregister_worker_plugin(self.plugin)
            except Exception:  # noqa: BLE001 - the cluster may be gone already
                pass
            client.close()
            self.client = None
        self._close_cluster()

    def _close_cluster(self) -> None:
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None
        logging.getLogger("tornado.application").removeFilter(_QUIET_RACE)
