"""``fmt`` skips files whose very bytes it found formatted before (origin_rules.formatting.known):
never a file that is not formatted, an edited file, another formatter's finding, or with
``--no-cache``; a broken cache file is taken as empty."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from origin_rules.cli import app
from origin_rules.formatting import known as known_module
from origin_rules.syntax import parser

FORMATTED = '''agreement "Mini" {
  parties = [US, MX]

  rule 87.08 "Parts" { CTH }
}
'''
UNFORMATTED = FORMATTED.replace("  rule", "      rule")


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("ORIGIN_RULES_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def parses(monkeypatch) -> list[str]:
    """The files ``fmt`` parses, in order."""
    seen: list[str] = []
    real = parser.parse

    def counting(text, file="<string>", *args, **kwargs):
        seen.append(file)
        return real(text, file, *args, **kwargs)

    monkeypatch.setattr(parser, "parse", counting)
    return seen


def fmt(*args: str):
    return CliRunner().invoke(app, ["fmt", *args])


def test_a_formatted_file_is_parsed_once_then_skipped(tmp_path, cache, parses):
    rules = tmp_path / "mini.roo"
    rules.write_text(FORMATTED, encoding="utf-8")
    first = fmt("--check", str(rules))
    assert first.exit_code == 0, first.output
    assert parses == [str(rules)]
    assert (cache / "formatted").read_text().splitlines()[0] == known_module.MAGIC
    parses.clear()
    again = fmt("--check", str(rules))
    assert again.exit_code == 0 and "0 files would be reformatted, 1 already formatted" in again.output
    assert parses == []
    for mode in ("--diff", "--write"):
        assert fmt(mode, str(rules)).exit_code == 0
    assert parses == [] and rules.read_text(encoding="utf-8") == FORMATTED


def test_files_not_formatted_or_broken_are_never_recorded(tmp_path, cache, parses):
    rules, broken = tmp_path / "mini.roo", tmp_path / "broken.roo"
    rules.write_text(UNFORMATTED, encoding="utf-8")
    broken.write_text('agreement "B" { rule 87.08 { CTH ', encoding="utf-8")
    for _ in range(2):
        result = fmt("--check", str(rules), str(broken))
        assert result.exit_code == 2  # the broken file: exit 2 as ever
        assert f"would reformat {rules}" in result.output and "syntax errors" in result.output
    assert parses == [str(rules), str(broken)] * 2
    assert not (cache / "formatted").exists()


def test_an_edit_or_another_formatter_means_a_new_parse(tmp_path, cache, parses, monkeypatch):
    rules = tmp_path / "mini.roo"
    rules.write_text(FORMATTED, encoding="utf-8")
    assert fmt("--check", str(rules)).exit_code == 0
    rules.write_text(UNFORMATTED, encoding="utf-8")  # an edit: not formatted any more
    result = fmt("--check", str(rules))
    assert result.exit_code == 1 and f"would reformat {rules}" in result.output
    assert fmt("--write", str(rules)).exit_code == 0 and rules.read_text(encoding="utf-8") == FORMATTED
    parses.clear()
    assert fmt("--check", str(rules)).exit_code == 0 and parses == []  # the first run's finding again
    monkeypatch.setattr(known_module, "_formatter_digest", lambda code: b"another formatter")
    assert fmt("--check", str(rules)).exit_code == 0 and parses == [str(rules)]


def test_the_same_bytes_under_another_name_are_parsed(tmp_path, cache, parses):
    one, other = tmp_path / "one.roo", tmp_path / "other.roo"
    for path in (one, other):
        path.write_text(FORMATTED, encoding="utf-8")
    assert fmt("--check", str(one)).exit_code == 0
    assert fmt("--check", str(other)).exit_code == 0
    assert parses == [str(one), str(other)]


def test_no_cache_neither_reads_nor_writes_it(tmp_path, cache, parses):
    rules = tmp_path / "mini.roo"
    rules.write_text(FORMATTED, encoding="utf-8")
    assert fmt("--check", "--no-cache", str(rules)).exit_code == 0
    assert not (cache / "formatted").exists()
    assert fmt("--check", str(rules)).exit_code == 0
    recorded = (cache / "formatted").read_text()
    parses.clear()
    assert fmt("--check", "--no-cache", str(rules)).exit_code == 0
    assert parses == [str(rules)] and (cache / "formatted").read_text() == recorded


@pytest.mark.parametrize("content", [b"garbage\n" + b"a" * 64 + b"\n", b"\xff\xfe not text", b""])
def test_a_broken_cache_file_is_taken_as_empty_and_replaced(tmp_path, cache, parses, content):
    rules = tmp_path / "mini.roo"
    rules.write_text(FORMATTED, encoding="utf-8")
    cache.mkdir()
    (cache / "formatted").write_bytes(content)
    assert fmt("--check", str(rules)).exit_code == 0 and parses == [str(rules)]
    lines = (cache / "formatted").read_text().splitlines()
    assert lines[0] == known_module.MAGIC and len(lines) == 2 and "a" * 64 not in lines


def test_the_newest_keys_are_kept(tmp_path, cache, parses, monkeypatch):
    monkeypatch.setattr(known_module, "MOST", 2)
    files = []
    for name in ("a", "b", "c"):
        path = tmp_path / f"{name}.roo"
        path.write_text(FORMATTED, encoding="utf-8")
        files.append(path)
        assert fmt("--check", str(path)).exit_code == 0
    assert len((cache / "formatted").read_text().splitlines()) == 3  # the first line and two keys
    parses.clear()
    assert fmt("--check", *map(str, files)).exit_code == 0
    assert parses == [str(files[0])]  # the oldest was dropped
