"""Hypothesis profiles for the whole suite (docs/property-testing.md, "The project's own tests").

* ``ci`` -- the default under ``CI=true`` and under ``make`` (``make test``): random seeds,
  never derandomized, so every run looks at new examples; a failure database in
  ``.hypothesis/examples`` at the top of the repository, so an example that failed once is
  replayed first on the next run until it passes; no deadline (the machine is shared);
  ``print_blob`` so a failure prints the ``@reproduce_failure`` line that replays it anywhere.
* ``dev`` -- the default elsewhere: the same, without the blob.
* ``nightly`` -- five times the examples of every property test that counts its examples with
  :func:`examples` (2,500 for the differential test): ``make nightly`` or
  ``HYPOTHESIS_PROFILE=nightly pytest tests/test_differential.py``.

``HYPOTHESIS_PROFILE`` names the profile explicitly and wins over the defaults.

Also here: the shipped rulebook parsed once per test process (:func:`shipped_rulebook`); the
collector's thresholds of an ``origin-rules`` process (:func:`origin_rules.cli.tune_gc`) set
for the test processes too, which run most commands in process (typer's CliRunner), as the
console script runs them; and the order of the queue (:func:`pytest_collection_modifyitems`):
the longest tests first, so that ``make test``'s two xdist workers (``--maxschedchunk 1``: one
test at a time to a free worker) share them out and the quick tests fill in after, and neither
worker is left alone with a long test at the end. "Longest" is the time each test took in the
last run on this machine (``.cache/test-durations.json``, written at the end of every run);
before there is one, the tests marked ``slow`` (end to end) first.

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


def examples(n: int) -> int:
    """``n`` examples under ``ci`` and ``dev``, five times ``n`` under ``nightly``: the count a
    property test passes to ``settings(max_examples=...)``."""
    return n * settings.default.max_examples // UNIT


@pytest.fixture(scope="session")
def shipped_rulebook():
    """The shipped rules (``rules/``, every agreement and scenario), loaded once per test process.

    Loading parses and checks ~30 rule files (about 2 s); a dozen tests only evaluate BOMs
    against them. Evaluation never changes a rulebook or its input (the engine's contract), so
    sharing one is the same as each test loading its own.
    """
    import origin_rules

    return origin_rules.load([ROOT / "rules"], cache=True)


# ---------------------------------------------------------------------------- the order of the queue

#: Seconds each test took in the last run that ran it (setup, call and teardown), by node id.
DURATIONS = ROOT / ".cache" / "test-durations.json"
#: What a test marked ``slow`` is taken to last when it has no recorded time (a new test).
SLOW_GUESS = 20.0
_KNOWN = pytest.StashKey[dict]()


def _read_durations() -> dict[str, float]:
    try:
        data = json.loads(DURATIONS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: float(v) for k, v in data.items() if isinstance(k, str) and isinstance(v, (int, float))}


def pytest_configure(config) -> None:
    """The recorded times, read once by the process that runs the session; its xdist workers
    are handed the same (:func:`pytest_configure_node`), so every worker sorts its collection
    the same way (xdist requires it) even if another run rewrites the file meanwhile."""
    worker = getattr(config, "workerinput", None)
    config.stash[_KNOWN] = worker.get("test_durations", {}) if worker is not None else _read_durations()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    node.workerinput["test_durations"] = node.config.stash[_KNOWN]


def pytest_collection_modifyitems(config, items):
    """The longest tests first (by the last recorded times; a test with none counts as
    :data:`SLOW_GUESS` seconds if marked ``slow``, else as quick), the others in their
    collected order."""
    known = config.stash[_KNOWN]

    def seconds(item) -> float:
        if item.nodeid in known:
            return known[item.nodeid]
        return SLOW_GUESS if item.get_closest_marker("slow") is not None else 0.0

    items.sort(key=lambda item: -seconds(item))


_TIMES: dict[str, float] = {}  # this run's: node id -> seconds of setup, call and teardown


def pytest_runtest_logreport(report) -> None:
    _TIMES[report.nodeid] = _TIMES.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session, exitstatus) -> None:
    """Record the times of this run (the process that runs the session, which gets every
    worker's reports), keeping those of the tests it did not run; written atomically."""
    if getattr(session.config, "workerinput", None) is not None or not _TIMES:
        return
    merged = {**session.config.stash[_KNOWN], **{k: round(v, 3) for k, v in _TIMES.items()}}
    try:
        DURATIONS.parent.mkdir(parents=True, exist_ok=True)
        tmp = DURATIONS.with_name(f"{DURATIONS.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(merged, indent=0, sort_keys=True), encoding="utf-8")
        tmp.replace(DURATIONS)
    except OSError:
        pass  # a read-only checkout: the next run sorts by the `slow` marker
