"""The rulebook cache (origin_rules/rulebook/cache.py): a hit is the cold load, an edit is a
miss, a damaged or hostile cache file is rebuilt without running anything, ``--no-cache``
bypasses it, and two processes storing at once leave a whole file."""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

import origin_rules
from origin_rules.cli import app
from origin_rules.files.boms import read_bom
from origin_rules.rulebook import cache as cache_module
from origin_rules.rulebook import sources

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"
BOMS = ROOT / "examples" / "boms"
ON = date(2026, 7, 1)
HEADER = len(cache_module.MAGIC) + 32  # magic and key; the payload's digest follows

# An unused set: the checker warns (ROO114), and a cached load must warn the same.
UNUSED_SET = 'set never_used = [CN]\n'


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(cache_module.ENV_DIR, str(folder))
    return folder


@pytest.fixture
def small(tmp_path) -> Path:
    """A copy of the CPTPP rulebook plus a file with a warning, in a folder of its own."""
    folder = tmp_path / "rules"
    folder.mkdir()
    shutil.copy(RULES / "cptpp.roo", folder / "cptpp.roo")
    (folder / "extra.roo").write_text(UNUSED_SET, encoding="utf-8")
    return folder


def only_file(folder: Path) -> Path:
    files = [p for p in folder.iterdir() if p.suffix == cache_module.SUFFIX]
    assert len(files) == 1, files
    return files[0]


def dets(book, cases):
    return [book.evaluate(read_bom(BOMS / bom), under=under, as_of=ON, explain="full").to_json()
            for bom, under in cases]


def test_a_hit_gives_the_determinations_of_a_cold_load(cache_dir, parses):
    cases = [("brake-assembly.yaml", "USMCA"), ("brake-assembly.yaml", "USMCA review 2026: China content cap"),
             ("jp-engine.yaml", "CPTPP"), ("de-brake-assembly.yaml", "EU-UK TCA")]
    cold = origin_rules.load([str(RULES)])
    stored = origin_rules.load([str(RULES)], cache=True)
    assert len(parses) == 1  # miss: parsed once, stored
    only_file(cache_dir)
    hit = origin_rules.load([str(RULES)], cache=True)
    assert len(parses) == 1  # hit: not parsed again
    assert hit.digest == cold.digest
    assert hit.names == cold.names
    assert hit.parsed.sources == cold.parsed.sources
    assert hit.parsed.modules == cold.parsed.modules
    # the programs (scenarios' members refer back to their programs: compared without recursing)
    assert hit.parsed.programs == cold.parsed.programs
    assert hit.parsed.diagnostics == cold.parsed.diagnostics
    expected = dets(cold, cases)
    assert dets(hit, cases) == expected
    assert dets(stored, cases) == expected


def test_warnings_of_a_cached_load_are_those_of_a_cold_one(cache_dir, small, parses):
    cold = sources.parse_paths([str(small)])
    assert [d.code for d in cold.diagnostics] == ["ROO114"]
    cache_module.parse_cached([str(small)])
    hit = cache_module.parse_cached([str(small)])
    assert len(parses) == 1
    assert hit.diagnostics == cold.diagnostics
    assert hit.diagnostics[0].span.line == 1 and hit.diagnostics[0].span.file.endswith("extra.roo")
    runner = CliRunner()
    outputs = [runner.invoke(app, ["check", str(small)]) for _ in range(2)]
    assert len(parses) == 1  # both runs of the command read the cache
    assert outputs[0].exit_code == outputs[1].exit_code == 0
    assert "ROO114" in outputs[0].output
    assert outputs[0].output == outputs[1].output == runner.invoke(app, ["check", str(small), "--no-cache"]).output


def test_editing_a_rule_file_misses(cache_dir, small, parses):
    bom = read_bom(BOMS / "jp-engine.yaml")
    before = origin_rules.load([str(small)], cache=True).evaluate(bom, under="CPTPP", as_of=ON)
    file = small / "cptpp.roo"
    text = file.read_text(encoding="utf-8")
    # the same rulebook without the rule of the engine (8407.34): the verdict must be no_rule
    edited = _without_rule(text, "8407.33..8407.34")
    file.write_text(edited, encoding="utf-8")
    after = origin_rules.load([str(small)], cache=True).evaluate(bom, under="CPTPP", as_of=ON)
    assert len(parses) == 2
    assert before.verdict != "no_rule" and after.verdict == "no_rule"
    assert origin_rules.load([str(small)], cache=True).digest == origin_rules.load([str(small)]).digest
    assert len(parses) == 2  # the edited rulebook is what the cache holds now


def _without_rule(text: str, code: str) -> str:
    """The text without the rule whose selector starts with ``code`` (to its closing brace)."""
    start = text.index(f"rule {code}")
    end = text.index("\n  }\n", start) + len("\n  }\n")
    return text[:start] + text[end:]


@pytest.mark.parametrize("damage", ["truncated", "flipped byte", "flipped letter of a title", "empty",
                                    "payload digest recomputed"])
def test_a_damaged_cache_file_is_detected_and_rebuilt(cache_dir, small, parses, damage):
    cold = origin_rules.load([str(small)])
    origin_rules.load([str(small)], cache=True)
    slot = only_file(cache_dir)
    blob = slot.read_bytes()
    if damage == "truncated":
        slot.write_bytes(blob[: len(blob) // 2])
    elif damage == "flipped byte":
        middle = len(blob) // 2
        slot.write_bytes(blob[:middle] + bytes([blob[middle] ^ 0x01]) + blob[middle + 1:])
    elif damage == "flipped letter of a title":  # still a valid pickle: only the digest tells
        at = blob.index(b"Polymers of ethylene", HEADER + 32)
        slot.write_bytes(blob[:at] + b"Q" + blob[at + 1:])
    elif damage == "empty":
        slot.write_bytes(b"")
    else:  # the payload cut short, with a digest that matches it: the pickle itself is broken
        payload = blob[HEADER + 32:][: 1000]
        slot.write_bytes(blob[:HEADER] + hashlib.sha256(payload).digest() + payload)
    rebuilt = origin_rules.load([str(small)], cache=True)
    assert len(parses) == 2  # not trusted: parsed again
    assert rebuilt.parsed.modules == cold.parsed.modules
    assert rebuilt.parsed.diagnostics == cold.parsed.diagnostics
    assert slot.read_bytes() == blob  # and stored whole again
    origin_rules.load([str(small)], cache=True)
    assert len(parses) == 2


class _System:
    """Unpickled by a plain pickle.loads, this would run a shell command."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _Popen:
    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (subprocess.Popen, (["sh", "-c", self.command],))


@pytest.mark.parametrize("hostile", [_System, _Popen])
def test_a_pickle_that_would_run_a_command_is_refused_and_rebuilt(cache_dir, small, parses, tmp_path, hostile):
    origin_rules.load([str(small)], cache=True)
    slot = only_file(cache_dir)
    blob = slot.read_bytes()
    marker = tmp_path / "pwned"
    # A well-formed cache file in every respect (magic, key of these very rules, digest of
    # the payload): only the restricted unpickler stands between it and the shell.
    evil = pickle.dumps(hostile(f"touch {marker}"), protocol=pickle.HIGHEST_PROTOCOL)
    assert b"system" in evil or b"Popen" in evil
    slot.write_bytes(blob[:HEADER] + hashlib.sha256(evil).digest() + evil)
    book = origin_rules.load([str(small)], cache=True)
    assert not marker.exists()
    assert len(parses) == 2  # refused, parsed again
    assert book.names == ["CPTPP"]
    assert slot.read_bytes() == blob  # and the cache rebuilt


def test_the_unpickler_names_only_the_projects_values():
    allowed = cache_module._ALLOWED  # noqa: SLF001 - the allowlist is what this test checks
    modules = {module for module, _ in allowed}
    assert modules == {"origin_rules.model.ast", "origin_rules.model.hs", "origin_rules.model.diagnostics",
                       "origin_rules.semantics.resolve", "origin_rules.rulebook.sources",
                       "origin_rules.rulebook.cache", "decimal", "datetime"}
    assert ("builtins", "eval") not in allowed and ("os", "system") not in allowed
    for module, name in [("builtins", "getattr"), ("os", "system"), ("posix", "system"), ("subprocess", "Popen"),
                         ("origin_rules.rulebook.cache", "parse_cached"), ("builtins", "object")]:
        with pytest.raises(pickle.UnpicklingError):
            cache_module._Unpickler(__import__("io").BytesIO(b"")).find_class(module, name)


def test_no_cache_bypasses_the_cache(cache_dir, small, parses):
    runner = CliRunner()
    args = ["evaluate", str(BOMS / "jp-engine.yaml"), "--rules", str(small), "--under", "CPTPP",
            "--as-of", "2026-07-01", "--format", "json"]
    bypassed = runner.invoke(app, args + ["--no-cache"])
    assert bypassed.exit_code == 0, bypassed.output
    assert not cache_dir.exists()  # neither written...
    cached = runner.invoke(app, args)
    assert cached.exit_code == 0 and len(parses) == 1
    slot = only_file(cache_dir)
    slot.write_bytes(b"garbage")
    again = runner.invoke(app, args + ["--no-cache"])
    assert slot.read_bytes() == b"garbage"  # ...nor read, nor repaired
    assert bypassed.stdout == cached.stdout == again.stdout


def test_deleting_the_cache_is_safe(cache_dir, small, parses):
    origin_rules.load([str(small)], cache=True)
    shutil.rmtree(cache_dir)
    book = origin_rules.load([str(small)], cache=True)
    assert book.names == ["CPTPP"] and len(parses) == 2
    only_file(cache_dir)


def test_an_unwritable_cache_folder_is_no_error(tmp_path, monkeypatch, small):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv(cache_module.ENV_DIR, str(blocker / "cache"))
    assert origin_rules.load([str(small)], cache=True).names == ["CPTPP"]


WRITER = """
import sys
import origin_rules
from origin_rules.rulebook import cache
from pathlib import Path
rules, slot_dir, rounds, expected = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
for _ in range(rounds):
    for old in slot_dir.glob("*" + cache.SUFFIX):
        try:
            old.unlink()
        except FileNotFoundError:
            pass
    book = origin_rules.load([rules], cache=True)
    assert book.digest == expected and book.names == ["CPTPP"], book.digest
print("ok")
"""


def test_two_processes_storing_at_once_leave_a_whole_file(cache_dir, small, parses):
    expected = origin_rules.load([str(small)]).digest
    env = {**os.environ, cache_module.ENV_DIR: str(cache_dir), "PYTHONPATH": str(ROOT)}
    cache_dir.mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(small), str(cache_dir), "4", expected],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    for proc in procs:
        out, errors = proc.communicate(timeout=300)
        assert proc.returncode == 0 and out.strip() == "ok", errors
    assert [p.name for p in cache_dir.iterdir() if p.name.startswith(".")] == []  # no partial file left
    book = origin_rules.load([str(small)], cache=True)
    assert len(parses) == 0  # what they left is whole and valid: a hit
    assert book.digest == expected


def test_loading_leaves_garbage_collection_as_it_found_it(cache_dir, small):
    import gc

    from origin_rules.syntax.parser import parse

    assert gc.isenabled()
    assert parse("agreement {", "broken.roo")[0] is None  # a syntax error ends the parse early
    assert gc.isenabled()
    origin_rules.load([str(small)], cache=True)  # miss
    origin_rules.load([str(small)], cache=True)  # hit
    assert gc.isenabled()
    gc.disable()
    try:
        parse('agreement "A" { parties = [US] }', "a.roo")
        origin_rules.load([str(small)], cache=True)
        assert not gc.isenabled()  # the caller's choice is kept
    finally:
        gc.enable()


def test_the_cache_keeps_the_most_recently_used_rulebooks_and_drops_the_rest(cache_dir, tmp_path, monkeypatch, parses):
    """One cache file per rulebook location: rules in ever-new folders would pile up, so the
    folder keeps MOST_ENTRIES files, the least recently used (read or written) going first."""
    monkeypatch.setattr(cache_module, "MOST_ENTRIES", 3)
    folders = []
    for index in range(5):
        folder = tmp_path / f"rules-{index}"
        folder.mkdir()
        shutil.copy(RULES / "cptpp.roo", folder / "cptpp.roo")
        folders.append(folder)
    stamp = 1_000_000_000
    for folder in folders[:3]:
        origin_rules.load([str(folder)], cache=True)
        # the file just written, set apart in time from the others (whatever the clock's grain)
        os.utime(max(cache_dir.glob("*" + cache_module.SUFFIX), key=os.path.getmtime), (stamp, stamp))
        stamp += 10
    assert len(list(cache_dir.glob("*" + cache_module.SUFFIX))) == 3 and len(parses) == 3
    origin_rules.load([str(folders[0])], cache=True)  # a hit: folder 0 becomes the most recent
    assert len(parses) == 3
    origin_rules.load([str(folders[3])], cache=True)  # a fourth location: the oldest (folder 1) goes
    assert len(list(cache_dir.glob("*" + cache_module.SUFFIX))) == 3
    origin_rules.load([str(folders[0])], cache=True)
    origin_rules.load([str(folders[2])], cache=True)
    assert len(parses) == 4  # folders 0 and 2 were kept
    origin_rules.load([str(folders[1])], cache=True)
    assert len(parses) == 5  # folder 1 was dropped: parsed again
