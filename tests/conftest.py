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
console script runs them; and the tests marked ``slow`` (end to end) queued first, so that
``make test``'s two xdist workers (``--maxschedchunk 1``: one test at a time to a free worker)
both start on them and the quick tests fill in after.

A test sets only what is its own (``max_examples`` through :func:`examples`, health checks);
it never sets ``derandomize`` or ``database``: a minimal example found once is pinned with
``@example`` (or as a plain test) beside the property.
"""

from __future__ import annotations

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


def pytest_collection_modifyitems(config, items):
    """The tests marked ``slow`` first (in their collected order), then the others."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
