"""origin_rules.files.atomic: every file the tool writes appears whole or not at all."""

from __future__ import annotations

import json
import os
import stat

import pytest
from typer.testing import CliRunner

from origin_rules.cli import app
from origin_rules.files import atomic
from origin_rules.files.atomic import write_atomically, write_text_atomically


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def test_the_text_replaces_the_file_through_a_synced_temporary_file_beside_it(tmp_path, monkeypatch):
    target = tmp_path / "out.txt"
    target.write_text("old\n", encoding="utf-8")
    calls = []
    real_replace, real_fsync = os.replace, os.fsync
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(atomic.os, "replace",
                        lambda src, dst: (calls.append(("replace", os.path.dirname(src), str(dst))), real_replace(src, dst))[1])
    write_text_atomically(target, "new\nline\n")
    assert target.read_text(encoding="utf-8") == "new\nline\n"
    # synced before the one rename, from the same directory (no crossing of file systems)
    assert calls == ["fsync", ("replace", str(tmp_path), str(target))]
    assert leftovers(tmp_path) == []


def test_a_failing_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old\n", encoding="utf-8")

    def half(handle):
        handle.write("half of the ")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, half)
    assert target.read_text(encoding="utf-8") == "old\n"
    assert leftovers(tmp_path) == []


def test_an_existing_file_keeps_its_permissions_and_a_new_one_is_not_private(tmp_path):
    kept = tmp_path / "kept.roo"
    kept.write_text("x", encoding="utf-8")
    kept.chmod(0o640)
    write_text_atomically(kept, "y")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    new = tmp_path / "new.txt"
    mask = os.umask(0o022)
    try:
        write_text_atomically(new, "z")
    finally:
        os.umask(mask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o644  # 0o666 less the umask 0o022, not mkstemp's 0o600


def test_fmt_write_replaces_the_rule_file_atomically(tmp_path, monkeypatch):
    rule = tmp_path / "a.roo"
    rule.write_text('agreement "Demo" {\nparties = [US, MX, CA]\n  rule 87.08 {   CTH }\n}\n', encoding="utf-8")
    replaced = []
    real_replace = os.replace
    monkeypatch.setattr(atomic.os, "replace", lambda src, dst: (replaced.append(str(dst)), real_replace(src, dst))[1])
    result = CliRunner().invoke(app, ["fmt", "--write", str(rule)])
    assert result.exit_code == 0, result.output
    assert replaced == [str(rule)]
    assert "rule 87.08 { CTH }" in rule.read_text(encoding="utf-8")
    assert leftovers(tmp_path) == []


def _read_in_thread(path):
    """Read a named pipe to its end in another thread (its writer blocks until then)."""
    import threading

    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(open(path, "rb").read()), daemon=True)  # noqa: SIM115
    reader.start()
    return reader, got


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_or_a_link_to_one_is_written_in_place_not_replaced(tmp_path):
    """A target that is no regular file (``-o /dev/null``, ``/dev/stdout``, a named pipe) is
    written as a stream: renaming a file over it replaced the device itself (a batch run as
    root with ``--summary /dev/null`` left a regular file at /dev/null). Played here with a
    named pipe, and a symbolic link to it as /dev/stdout is one."""
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    link = tmp_path / "stdout"
    link.symlink_to(pipe)
    for target, text in ((pipe, "first\n"), (link, "second\n")):
        reader, got = _read_in_thread(pipe)
        write_text_atomically(target, text)
        reader.join(timeout=10)
        assert got == [text.encode()]
    assert stat.S_ISFIFO(os.stat(pipe).st_mode) and link.is_symlink()
    assert leftovers(tmp_path) == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_batch_writes_its_output_and_summary_into_named_pipes(tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    out, summary = tmp_path / "out.jsonl", tmp_path / "summary"
    os.mkfifo(out)
    os.mkfifo(summary)
    readers = [_read_in_thread(out), _read_in_thread(summary)]
    result = CliRunner().invoke(app, ["batch", str(root / "examples" / "boms" / "brake-assembly.yaml"), "-o", str(out),
                                      "--summary", str(summary), "-r", str(root / "rules"), "-u", "USMCA",
                                      "--as-of", "2026-07-01", "--workers", "1"])
    assert result.exit_code == 0, result.output
    for reader, _ in readers:
        reader.join(timeout=10)
    (records,), (written,) = readers[0][1], readers[1][1]
    assert [json.loads(line)["determinations"][0]["agreement"] for line in records.splitlines()] == ["USMCA"]
    assert json.loads(written)["records"] == 1
    assert stat.S_ISFIFO(os.stat(out).st_mode) and stat.S_ISFIFO(os.stat(summary).st_mode)


def test_a_symbolic_link_is_followed_and_kept(tmp_path):
    """The file a link points to is replaced (beside it, in its own folder), not the link."""
    real = tmp_path / "data" / "results.jsonl"
    real.parent.mkdir()
    real.write_text("old\n", encoding="utf-8")
    real.chmod(0o640)
    link = tmp_path / "results.jsonl"
    link.symlink_to(real)
    write_text_atomically(link, "new\n")
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert real.read_text(encoding="utf-8") == "new\n" and stat.S_IMODE(real.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == [] and leftovers(real.parent) == []


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="Linux's /proc")
def test_a_pipe_named_through_proc_is_written_in_place():
    """``--summary /dev/stdout`` in a shell pipeline: /dev/stdout links to /proc/self/fd/1,
    which links to ``pipe:[…]``, no path at all: the stream is written through the link."""
    read_end, write_end = os.pipe()
    try:
        write_text_atomically(f"/proc/self/fd/{write_end}", "through the pipe\n")
        os.close(write_end)
        write_end = -1
        assert os.read(read_end, 100) == b"through the pipe\n"
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)
