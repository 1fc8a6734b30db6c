"""The language server's diagnostics latency (issue 17: within 200 ms for a 2,000-line file).

A real client (pytest-lsp's, over stdio) starts `origin-rules lsp` on a temporary
workspace, opens a file of about 2,000 lines, then edits it: each edit alternately puts an
unknown set name into a rule and takes it out again, and the time from sending the change
to receiving the file's new diagnostics is measured (the server re-parses the file and
checks its whole rulebook again). Two cases:

- alone: a generated rulebook of one 2,000-line file (bench/generate.py, one rule a line);
- in the shipped rulebook: `rules/usmca/section-16-electrical-85.roo` (2,348 lines) edited
  inside a copy of `rules/` (28 files, about 18,000 lines checked together on every edit).

Run: python -m bench.lsp [--edits N]; part of `python -m bench --only lsp`.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


async def _latencies(folder: Path, file: Path, edits: int) -> tuple[float, list[float]]:
    from lsprotocol import types
    from pygls.uris import from_fs_path
    from pytest_lsp import client_capabilities, make_test_lsp_client

    uri = from_fs_path(str(file))

    client = make_test_lsp_client()
    await client.start_io(sys.executable, str(ROOT / "cli.py"), "lsp", env={**os.environ, "PYTHONPATH": str(ROOT)})

    async def new_diagnostics(before, timeout: float) -> None:
        """Until the client holds diagnostics for the file other than ``before`` (polled each ms)."""
        end = time.perf_counter() + timeout
        while client.diagnostics.get(uri) is before:
            if time.perf_counter() > end:
                raise TimeoutError(f"no diagnostics for {file} within {timeout} s")
            await asyncio.sleep(0.001)

    await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        workspace_folders=[types.WorkspaceFolder(from_fs_path(str(folder)), folder.name)],
        initialization_options={"ruleTests": False},
    ))
    text = file.read_text(encoding="utf-8")
    started = time.perf_counter()
    await new_diagnostics(None, 120)  # the whole workspace checked after `initialized`
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="roo", version=1, text=text)))
    opened = time.perf_counter() - started
    found = re.search(r"^ +(or )?change from any other heading$", text, re.M)  # a body line, not a comment
    assert found is not None, f"no body line `change from any other heading` in {file}"
    broken = text[: found.end()] + " except no_such_set" + text[found.end():]
    out = []
    for i in range(edits):
        new = broken if i % 2 == 0 else text
        before = client.diagnostics.get(uri)
        started = time.perf_counter()
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=i + 2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(new)]))
        await new_diagnostics(before, 60)
        out.append(time.perf_counter() - started)
        want_error = i % 2 == 0
        assert any(d.code == "ROO109" for d in client.diagnostics[uri]) == want_error
    await client.shutdown_session()
    await client.stop()
    return opened, out


def _in_process(folder: Path, file: Path, edits: int, new_line: bool = False) -> list[float]:
    """The same edits straight on the server's analysis (no protocol): CPU seconds each, the
    figure a loaded machine changes least. ``new_line``: the edit puts the unknown set on a
    line of its own (the number of lines changes: the whole file is parsed again)."""
    from origin_rules.lsp.workspace import Workspace

    workspace = Workspace([folder])
    root = workspace.rulebook_of(file)
    workspace.analysis(root)
    text = file.read_text(encoding="utf-8")
    found = re.search(r"^ +(or )?change from any other heading$", text, re.M)
    added = ("\n    except no_such_set" if new_line else " except no_such_set")
    broken = text[: found.end()] + added + text[found.end():]
    out = []
    for i in range(edits):
        workspace.set_text(file, broken if i % 2 == 0 else text)
        started = time.process_time()
        workspace.analysis(root).diagnostics_by_file()
        out.append(time.process_time() - started)
    return out


def _alone(tmp: Path) -> tuple[Path, Path]:
    from .generate import rulebook

    folder = tmp / "alone"
    folder.mkdir()
    text = rulebook(1990)
    lines = text.count("\n")
    file = folder / "generated.roo"
    file.write_text(text, encoding="utf-8")
    assert lines >= 2000, lines
    return folder, file


def _shipped(tmp: Path) -> tuple[Path, Path]:
    folder = tmp / "shipped"
    shutil.copytree(ROOT / "rules", folder / "rules")
    return folder, folder / "rules" / "usmca" / "section-16-electrical-85.roo"


def main(quick: bool = False, edits: int = 10) -> list[str]:
    edits = 4 if quick else edits
    out = ["", "== the language server: diagnostics after an edit (issue 17: under 200 ms for a 2,000-line file) =="]
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        for label, make in (("alone", _alone), ("in the shipped rulebook", _shipped)):
            folder, file = make(tmp)
            lines = file.read_text(encoding="utf-8").count("\n")
            opened, times = asyncio.run(_latencies(folder, file, edits))
            ms = [t * 1000 for t in times]
            cpu = [t * 1000 for t in _in_process(folder, file, edits)]
            whole = [t * 1000 for t in _in_process(folder, file, edits, new_line=True)]
            out.append(f"{label} -- {file.name} ({lines} lines):")
            out.append(f"  over stdio: first diagnostics {opened * 1000:.0f} ms after initialize (cold start); after an "
                       f"edit median {statistics.median(ms):.0f} ms, max {max(ms):.0f} ms ({edits} edits)")
            out.append(f"  in process: re-parse and check after an edit, CPU median {statistics.median(cpu):.0f} ms, "
                       f"max {max(cpu):.0f} ms; an edit that adds a line (the whole file parsed): median "
                       f"{statistics.median(whole):.0f} ms, max {max(whole):.0f} ms")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    out.append(f"(load average {load:.1f} on {os.cpu_count()} cores while measured)")
    return out


if __name__ == "__main__":
    n = int(sys.argv[sys.argv.index("--edits") + 1]) if "--edits" in sys.argv else 10
    for line in main("--quick" in sys.argv, n):
        print(line)
