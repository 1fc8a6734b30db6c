"""A CLI that starts at once (docs/performance.md): a rulebook read from the cache reads its
programs and modules only when they are first asked for, and gives then what a cold parse
gives, the same objects wherever they are reached from; what it defers is still refused
when it names anything but the project's values; `import origin_rules.rulebook` and
`check` do not import the engine."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from origin_rules.model import ast
from origin_rules.rulebook import cache as cache_module
from origin_rules.rulebook import sources

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
ON = date(2026, 7, 1)
HEADER = len(cache_module.MAGIC) + 32  # magic and key; the payload's digest follows


@pytest.fixture
def small(tmp_path) -> Path:
    """The CPTPP and EU-UK rulebooks plus a file with a warning (ROO114), in a folder of their own."""
    folder = tmp_path / "rules"
    folder.mkdir()
    for name in ("cptpp.roo", "eu-uk-tca.roo"):
        shutil.copy(RULES / name, folder / name)
    (folder / "extra.roo").write_text("set never_used = [CN]\n", encoding="utf-8")
    return folder


def deferred(parsed: sources.Parsed) -> set[str]:
    """The fields of ``parsed`` not read yet."""
    return {name for name in ("programs", "modules") if callable(parsed.__dict__["_" + name])}


def slot_of(folder: Path) -> Path:
    (slot,) = folder.glob("*" + cache_module.SUFFIX)
    return slot


def test_a_hit_reads_the_programs_and_modules_only_when_asked_for(tmp_path, small, parses):
    cold = sources.parse_paths([str(small)])
    cache_module.parse_cached([str(small)], tmp_path / "cache")  # stores
    hit = cache_module.parse_cached([str(small)], tmp_path / "cache")
    assert len(parses) == 1
    assert deferred(hit) == {"programs", "modules"}
    assert hit.diagnostics == cold.diagnostics and [d.code for d in hit.diagnostics] == ["ROO114"]
    assert hit.sources == cold.sources and hit.digest == cold.digest
    assert list(hit.programs) == list(cold.programs) == ["CPTPP", "EU-UK TCA"]
    assert deferred(hit) == {"modules"}
    assert hit.modules == cold.modules
    assert deferred(hit) == set()
    assert hit.programs is hit.programs and hit.modules is hit.modules  # read once


@pytest.mark.parametrize("first", ["programs", "modules"])
def test_the_modules_agreements_are_the_programs_nodes(tmp_path, small, first):
    """One pickler wrote the parts, one unpickler reads them: the same objects, as in a cold parse."""
    cache_module.parse_cached([str(small)], tmp_path / "cache")
    hit = cache_module.parse_cached([str(small)], tmp_path / "cache")
    getattr(hit, first)
    agreements = [item for module in hit.modules for item in module.items if isinstance(item, ast.Agreement)]
    assert len(agreements) == 2
    for program in hit.programs.values():
        assert any(program.node is agreement for agreement in agreements), program.name
        assert all(placed.scope is program for placed in program.rules)
    cold = sources.parse_paths([str(small)])
    assert hit.modules == cold.modules


def test_a_hit_evaluates_as_a_cold_load(tmp_path, small, monkeypatch):
    import origin_rules
    from origin_rules.files.boms import read_bom

    monkeypatch.setenv(cache_module.ENV_DIR, str(tmp_path / "cache"))
    bom = read_bom(ROOT / "examples" / "boms" / "jp-engine.yaml")
    cold = origin_rules.load([str(small)]).evaluate(bom, under="CPTPP", explain="full", as_of=ON)
    origin_rules.load([str(small)], cache=True)
    book = origin_rules.load([str(small)], cache=True)
    assert deferred(book.parsed) == {"programs", "modules"}  # loading reads neither
    assert book.evaluate(bom, under="CPTPP", explain="full", as_of=ON).to_json() == cold.to_json()
    assert deferred(book.parsed) == {"modules"}  # evaluating needs no module


def _tamper(slot: Path, parts: list[bytes]) -> None:
    """The cache file holding ``parts`` as its payload, under a digest that matches it (as
    only someone writing into the cache folder could make it)."""
    blob = slot.read_bytes()
    payload = b"".join(parts)
    slot.write_bytes(blob[:HEADER] + hashlib.sha256(payload).digest() + payload)


class _System:
    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_a_deferred_part_naming_anything_else_is_refused_when_read_and_the_rules_parsed_again(
        tmp_path, small, parses):
    folder = tmp_path / "cache"
    cold = cache_module.parse_cached([str(small)], folder)
    head = io.BytesIO()
    cache_module._Pickler(head, protocol=pickle.HIGHEST_PROTOCOL).dump(  # noqa: SLF001 - the format under test
        (list(cold.diagnostics), dict(cold.sources), cold.digest))
    marker = tmp_path / "pwned"
    _tamper(slot_of(folder), [head.getvalue(), pickle.dumps(_System(f"touch {marker}"))])
    hit = cache_module.parse_cached([str(small)], folder)
    assert len(parses) == 1 and hit.diagnostics == cold.diagnostics  # the first part is sound
    assert list(hit.programs) == list(cold.programs) and hit.modules == cold.modules  # parsed again
    assert not marker.exists() and len(parses) == 2
    again = cache_module.parse_cached([str(small)], folder)  # the cache file was rewritten
    assert list(again.programs) == list(cold.programs) and len(parses) == 2
    payload = slot_of(folder).read_bytes()[len(cache_module.MAGIC) + 64:]
    _tamper(slot_of(folder), [head.getvalue(), pickle.dumps(_System(f"touch {marker}"))])
    with pytest.raises(pickle.UnpicklingError, match="os.system|posix.system"):
        cache_module._load(slot_of(folder).read_bytes()[len(cache_module.MAGIC) + 64:]).programs  # noqa: B018, SLF001
    assert not marker.exists() and payload


@pytest.mark.parametrize("values", [(1, 2), ("x",) * 9])
def test_a_builder_called_with_the_wrong_values_is_refused_and_the_cache_rebuilt(tmp_path, small, parses, values):
    folder = tmp_path / "cache"
    cache_module.parse_cached([str(small)], folder)
    slot = slot_of(folder)
    good = slot.read_bytes()
    span = cache_module._BUILDERS[ast.Span]  # noqa: SLF001 - the format under test

    class Wrong:
        def __reduce__(self):
            return span, values

    _tamper(slot, [pickle.dumps(Wrong(), protocol=pickle.HIGHEST_PROTOCOL)])
    again = cache_module.parse_cached([str(small)], folder)
    assert len(parses) == 2  # not trusted: parsed again...
    assert list(again.programs) == ["CPTPP", "EU-UK TCA"]
    assert slot.read_bytes() == good  # ...and stored whole again


def test_a_cache_file_of_the_format_before_is_not_read(tmp_path, small, parses):
    folder = tmp_path / "cache"
    cache_module.parse_cached([str(small)], folder)
    slot = slot_of(folder)
    good = slot.read_bytes()
    slot.write_bytes(b"origin-rules rulebook cache 1\n" + good[len(cache_module.MAGIC):])
    cache_module.parse_cached([str(small)], folder)
    assert len(parses) == 2
    assert slot.read_bytes() == good


def test_a_packed_rulebook_unpacks_to_the_same_rulebook(tmp_path, small):
    cold = sources.parse_paths([str(small)])
    hit = cache_module.parse_cached([str(small)], tmp_path / "cache")
    hit = cache_module.parse_cached([str(small)], tmp_path / "cache")
    for packed in (cache_module.pack(cold), cache_module.pack(hit)):  # a hit packs whole, read or not
        back = cache_module.unpack(packed)
        assert back.modules == cold.modules and back.diagnostics == cold.diagnostics
        assert list(back.programs) == list(cold.programs) and back.digest == cold.digest


def test_a_parsed_bundle_set_by_hand_is_as_before():
    parsed = sources.Parsed()
    assert parsed.modules == [] and parsed.programs == {}
    parsed.modules = ["m"]  # type: ignore[list-item]
    assert parsed == sources.Parsed(modules=["m"])  # type: ignore[list-item]
    assert "modules=['m']" in repr(parsed)


IMPORTS = """
import sys
from origin_rules.rulebook import cache
import origin_rules.rulebook as rulebook
parsed = cache.parse_cached([sys.argv[1]], cache.Path(sys.argv[2]))
parsed = cache.parse_cached([sys.argv[1]], cache.Path(sys.argv[2]))
print(len(parsed.diagnostics), sorted(m for m in sys.modules
      if m.startswith("origin_rules.engine") or m in ("origin_rules.rulebook.book", "origin_rules.model.bom", "pydantic")))
print(rulebook.load.__module__)
"""


def test_reading_the_cache_for_its_diagnostics_imports_no_engine(tmp_path, small):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", IMPORTS, str(small), str(tmp_path / "cache")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["1 []", "origin_rules.rulebook.book"]


def test_the_rulebook_package_names_only_its_public_names():
    import origin_rules.rulebook as rulebook

    assert rulebook.Rulebook.__module__ == "origin_rules.rulebook.book"
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        rulebook.nothing  # noqa: B018


def test_a_loaded_rulebook_is_kept_out_of_the_collectors_sight(tmp_path, small, monkeypatch):
    """`load_rules` (the CLI's) freezes the rulebook, programs included, before collection
    resumes; on bad rules it freezes nothing; the collector is left enabled as it was."""
    import gc

    import typer

    from origin_rules.cli.common import load_rules

    monkeypatch.setenv(cache_module.ENV_DIR, str(tmp_path / "cache"))
    load_rules([small])  # stores the cache
    gc.unfreeze()
    try:
        book = load_rules([small])
        assert gc.isenabled()
        assert deferred(book.parsed) == {"modules"}  # the programs were read inside, then frozen
        assert gc.get_freeze_count() > 0
        gc.unfreeze()
        empty = tmp_path / "empty"
        empty.mkdir()
        with pytest.raises(typer.Exit):
            load_rules([empty])
        assert gc.isenabled() and gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()


def test_threads_asking_together_get_the_same_programs_and_modules(tmp_path, small):
    from concurrent.futures import ThreadPoolExecutor

    cache_module.parse_cached([str(small)], tmp_path / "cache")
    hit = cache_module.parse_cached([str(small)], tmp_path / "cache")
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda i: hit.modules if i % 2 else hit.programs, range(8)))
    assert all(g is hit.programs for g in got[::2]) and all(g is hit.modules for g in got[1::2])
    assert hit.modules == sources.parse_paths([str(small)]).modules
