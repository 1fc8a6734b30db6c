"""Hypothesis profiles for the whole suite (docs/property-testing.md, "The project's own tests").

* ``ci`` -- the default under ``CI=true`` and under ``make`` (``make test``): random seeds,
  never derandomized, so every run looks at new examples; a failure database in
  ``.hypothesis/examples`` at the top of the repository, so an example that failed once is
  replayed first on the next run until it passes; no deadline (the machine is shared);
  ``print_blob`` so a failure prints the ``@reproduce_failure`` line that replays it anywhere.
* ``dev`` -- the default elsewhere: the same, without the blob.
* ``nightly`` -- five times the examples of every property test that counts its examples with
  :func:`examples`, or the count it names for the nightly run (2,500 for the differential
  test, 300 in ``make test``): ``make nightly`` or
  ``HYPOTHESIS_PROFILE=nightly pytest tests/test_differential.py``.

``HYPOTHESIS_PROFILE`` names the profile explicitly and wins over the defaults.

Also here: the shipped rulebook parsed once per test process (:func:`shipped_rulebook`); the
collector's thresholds of an ``origin-rules`` process (:func:`origin_rules.cli.tune_gc`) set
for the test processes too, which run most commands in process (typer's CliRunner), as the
console script runs them; the app's click command built once per test process, as the
console script builds it once per process (:func:`_command_built_once`); and the order of the
queue (:func:`pytest_collection_modifyitems`): the tests that took a second or more in the
last run (their durations are kept in ``.cache/test-durations.json``), longest first, then the
others in their collected order (the tests marked ``slow`` first when no duration is known,
as on a fresh clone), so that ``make test``'s two xdist workers (``--maxschedchunk 1``: one
test at a time to a free worker) share out the long tests and the quick ones fill in after.

A test sets only what is its own (``max_examples`` through :func:`examples`, health checks);
it never sets ``derandomize`` or ``database``: a minimal example found once is pinned with
``@example`` (or as a plain test) beside the property.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

ROOT = Path(__file__).resolve().parent.parent
DATABASE = DirectoryBasedExampleDatabase(str(ROOT / ".hypothesis" / "examples"))
#: Examples of a profile's unit: a test asking for ``examples(500)`` runs 500 of them under
#: ``ci`` and ``dev``, 2,500 under ``nightly``.
UNIT = 100
NIGHTLY_FACTOR = 5

_COMMON = dict(derandomize=False, database=DATABASE, deadline=None, max_examples=UNIT,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("dev", **_COMMON)
settings.register_profile("ci", **_COMMON, print_blob=True)
settings.register_profile("nightly", **{**_COMMON, "max_examples": UNIT * NIGHTLY_FACTOR}, print_blob=True)


def _profile() -> str:
    named = os.environ.get("HYPOTHESIS_PROFILE", "").strip()
    if named:
        return named
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        return "ci"
    if os.environ.get("MAKELEVEL"):  # run by make: `make test`
        return "ci"
    return "dev"


# The rulebook cache of every `origin-rules` process a test starts (and of the shared
# rulebook above) lives in the checkout, not in the user's cache directory; the cache's own
# tests point it at their temporary folders.
os.environ.setdefault("ORIGIN_RULES_CACHE_DIR", str(ROOT / ".cache" / "rulebooks"))

# The commands run in process as in their own process: with the collector's thresholds that
# `origin-rules` sets (a third less time for the tests that read 50,000-material BOMs).
from origin_rules.cli import tune_gc  # noqa: E402

tune_gc()

PROFILE = _profile()
settings.load_profile(PROFILE)


def pytest_report_header(config) -> str:
    return f"hypothesis profile: {PROFILE} (examples x{settings.default.max_examples // UNIT}, database {DATABASE.path})"


def examples(n: int, nightly: int | None = None) -> int:
    """``n`` examples under ``ci`` and ``dev``, ``nightly`` under ``nightly`` (five times ``n``
    when not given): the count a property test passes to ``settings(max_examples=...)``. A
    test whose examples are costly runs fewer in every ``make test`` and keeps its long run
    for the nightly profile."""
    factor = settings.default.max_examples // UNIT
    if factor == 1:
        return n
    return nightly if nightly is not None else n * factor


@pytest.fixture(scope="session")
def shipped_rulebook():
    """The shipped rules (``rules/``, every agreement and scenario), loaded once per test process.

    Loading parses and checks ~30 rule files (about 2 s); a dozen tests only evaluate BOMs
    against them. Evaluation never changes a rulebook or its input (the engine's contract), so
    sharing one is the same as each test loading its own.
    """
    import origin_rules

    return origin_rules.load([ROOT / "rules"], cache=True)


def _command_built_once() -> None:
    """typer's ``CliRunner.invoke`` builds the app's click command (every command, option and
    help text: about 20 ms) on each call; the console script builds it once per process. Here
    the test process builds it once per app too (again when commands are added to the app),
    and every invocation still parses its arguments and runs the command afresh."""
    import typer.main
    import typer.testing

    if not hasattr(typer.testing, "_get_command"):  # another typer: each call builds it, as before
        return
    build = typer.main.get_command
    built: dict[int, tuple] = {}

    def get_command(typer_instance):
        shape = (tuple(map(id, typer_instance.registered_commands)), tuple(map(id, typer_instance.registered_groups)),
                 id(typer_instance.registered_callback))
        kept = built.get(id(typer_instance))
        if kept is None or kept[0] is not typer_instance or kept[1] != shape:
            kept = built[id(typer_instance)] = (typer_instance, shape, build(typer_instance))
        return kept[2]

    typer.testing._get_command = get_command


_command_built_once()


# ---- the order of the queue ---------------------------------------------------------------------

#: Each test's duration in the last run that ran it (seconds: setup, call and teardown), written
#: by the run (the xdist controller), read by the next one to order its queue.
DURATIONS = ROOT / ".cache" / "test-durations.json"
#: The tests that took this long or more are queued first, longest first; the others after
#: them in their collected order (a module's tests together, its fixtures made once).
LONG = 1.0
_WORKER_INPUT = "origin_rules_durations"


def _read_durations() -> dict[str, float]:
    try:
        data = json.loads(DURATIONS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: float(v) for k, v in data.items() if isinstance(k, str) and isinstance(v, (int, float))}


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """xdist's controller hands every worker the same durations (read once), so that both
    order their collection alike (xdist requires it)."""
    node.workerinput[_WORKER_INPUT] = _read_durations()


def pytest_collection_modifyitems(config, items):
    """The long tests of the last run first, longest first (a new test marked ``slow`` counts
    as long, before them); then the others in their collected order."""
    workerinput = getattr(config, "workerinput", None)
    known = workerinput.get(_WORKER_INPUT, {}) if workerinput is not None else _read_durations()

    def duration(item) -> float:
        if item.nodeid in known:
            return known[item.nodeid]
        return float("inf") if item.get_closest_marker("slow") is not None else 0.0

    long = sorted((item for item in items if duration(item) >= LONG), key=duration, reverse=True)
    chosen = set(map(id, long))
    items[:] = long + [item for item in items if id(item) not in chosen]


class _Durations:
    """The controller's (or a lone process's) record of each test's duration, merged into
    :data:`DURATIONS` at the end of the run; a skipped test keeps its last duration."""

    def __init__(self) -> None:
        self.seen: dict[str, float] = {}
        self.skipped: set[str] = set()

    def pytest_runtest_logreport(self, report) -> None:
        self.seen[report.nodeid] = self.seen.get(report.nodeid, 0.0) + report.duration
        if report.skipped:
            self.skipped.add(report.nodeid)

    def pytest_sessionfinish(self, session) -> None:
        fresh = {k: round(v, 3) for k, v in self.seen.items() if k not in self.skipped}
        if not fresh:
            return
        merged = {**_read_durations(), **fresh}
        try:
            DURATIONS.parent.mkdir(parents=True, exist_ok=True)
            tmp = DURATIONS.with_name(f"{DURATIONS.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(merged, indent=0, sort_keys=True), encoding="utf-8")
            tmp.replace(DURATIONS)
        except OSError:  # a read-only checkout: the next run orders as a fresh clone does
            pass


def pytest_configure(config):
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(_Durations(), "origin-rules-durations")


@pytest.fixture
def parses(monkeypatch) -> list[int]:
    """Counts the cold parses the rulebook cache makes (a hit makes none)."""
    from origin_rules.rulebook import cache as cache_module

    count: list[int] = []
    original = cache_module.parse_texts

    def counting(texts):
        count.append(len(texts))
        return original(texts)

    monkeypatch.setattr(cache_module, "parse_texts", counting)
    return count
