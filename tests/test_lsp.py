"""`origin-rules lsp` end to end: a real LSP client (pytest-lsp) talks to the server over
stdio, one capability at a time, on a small rulebook (tests/data/lsp/rules: an agreement
written over two files, a scenario, one rule test), on the shipped rules and on a
deliberately broken rulebook (tests/data/lsp/broken), where the server must publish
exactly what `origin-rules check` prints."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest_lsp = pytest.importorskip("pytest_lsp", reason="pytest-lsp is not installed (pip install -e '.[dev]')")

from lsprotocol import types  # noqa: E402
from pygls.uris import from_fs_path  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402

from origin_rules.formatting.printer import check_format  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "lsp"
SERVER = ClientServerConfig(
    server_command=[sys.executable, str(ROOT / "cli.py"), "lsp"],
    server_env={**os.environ, "PYTHONPATH": str(ROOT)},
)
WAIT = 120  # seconds: a cold start parses and checks the whole shipped rulebook


def uri(path: Path) -> str:
    return from_fs_path(str(path))


def at(text: str, needle: str, offset: int = 0, nth: int = 0) -> types.Position:
    """The position of the ``nth`` occurrence of ``needle`` in ``text`` (plus ``offset``
    characters; the texts here are ASCII where positions are taken)."""
    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    index += offset
    line = text.count("\n", 0, index)
    return types.Position(line, index - (text.rfind("\n", 0, index) + 1))


async def start(client: LanguageClient, folder: Path, **options) -> None:
    await client.initialize_session(types.InitializeParams(
        capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
        workspace_folders=[types.WorkspaceFolder(uri(folder), folder.name)],
        root_uri=uri(folder),
        initialization_options=options or None,
    ))


async def until(condition, what: str, timeout: float = WAIT):
    """Poll ``condition()`` until it is truthy (the server pushes diagnostics when it likes)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = condition()
        if value:
            return value
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def open_doc(client: LanguageClient, path: Path, text: str | None = None) -> str:
    text = path.read_text(encoding="utf-8") if text is None else text
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri(path), language_id="roo", version=1, text=text)))
    return text


def as_cli(diagnostic: types.Diagnostic, file: str, text: str) -> dict:
    """A published diagnostic in the form of `check --format json` (columns back to code points)."""
    lines = text.split("\n")

    def column(line: int, units: int) -> int:
        row = lines[line] if line < len(lines) else ""
        count = 0
        for i, ch in enumerate(row):
            if count >= units:
                return i + 1
            count += len(ch.encode("utf-16-le")) // 2
        return len(row) + 1

    message, _, help_text = diagnostic.message.partition("\nhelp: ")
    assert (diagnostic.data or {}).get("help") == (help_text or None)
    r = diagnostic.range
    return {
        "code": diagnostic.code,
        "severity": "error" if diagnostic.severity == types.DiagnosticSeverity.Error else "warning",
        "message": message,
        "file": file,
        "line": r.start.line + 1,
        "column": column(r.start.line, r.start.character),
        "end_line": r.end.line + 1,
        "end_column": column(r.end.line, r.end.character),
        "help": help_text or None,
    }


def check_json(cwd: Path, *paths: str, process: bool = False) -> list[dict]:
    """The diagnostics of `origin-rules check PATHS --format json` run from ``cwd``: in this
    process (typer's CliRunner), or with ``process`` as its own process, as a user runs it."""
    argv = ["check", *paths, "--format", "json", "--max-errors", "0", "--no-cache"]
    if process:
        run = subprocess.run([sys.executable, str(ROOT / "cli.py"), *argv], cwd=cwd, capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
        code, stdout, stderr = run.returncode, run.stdout, run.stderr
    else:
        from typer.testing import CliRunner

        from origin_rules.cli import app

        old = Path.cwd()
        os.chdir(cwd)
        try:
            result = CliRunner().invoke(app, argv)
        finally:
            os.chdir(old)
        code, stdout, stderr = result.exit_code, result.stdout, result.stderr
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert code in (0, 1), stderr
    return json.loads(stdout)["diagnostics"]


def published(client: LanguageClient, folder: Path, files: list[Path]) -> list[dict]:
    out = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(folder).as_posix()
        out += [as_cli(d, name, text) for d in client.diagnostics[uri(path)]]
    return sorted(out, key=lambda d: (d["file"], d["line"], d["column"], d["code"]))


# ---- the acceptance: the server publishes what `check` prints -------------------------------------


@pytest_lsp.fixture(config=SERVER)
async def fresh(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


@pytest.mark.slow
@pytest.mark.asyncio
async def test_opening_the_shipped_rules_publishes_what_check_prints(fresh: LanguageClient):
    folder = ROOT / "rules"
    files = sorted(folder.rglob("*.roo"))
    await start(fresh, folder, ruleTests=False)
    await until(lambda: all(uri(f) in fresh.diagnostics for f in files), "diagnostics for every shipped rule file")
    expected = check_json(folder, ".")
    assert published(fresh, folder, files) == expected
    # and the same named as from the top of the repository (`check rules/`), by the command
    # run as its own process
    assert [{**d, "file": f"rules/{d['file']}"} for d in expected] == check_json(ROOT, "rules/", process=True)


@pytest.mark.slow
@pytest.mark.asyncio
async def test_a_broken_workspace_gets_exactly_the_diagnostics_check_prints(fresh: LanguageClient, tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(DATA / "broken", folder)
    files = sorted(folder.rglob("*.roo"))
    await start(fresh, folder, ruleTests=False)
    await until(lambda: all(uri(f) in fresh.diagnostics for f in files), "diagnostics for every broken file")
    # two rulebooks: each folder of rule files is checked as `check FOLDER` checks it
    expected = sorted(check_json(folder, "rules/") + check_json(folder, "other/"),
                      key=lambda d: (d["file"], d["line"], d["column"], d["code"]))
    got = published(fresh, folder, files)
    assert got == expected
    assert {d["code"] for d in got} >= {"ROO004", "ROO101", "ROO104", "ROO105", "ROO106", "ROO109", "ROO111", "ROO113", "ROO114"}
    # the range past a character outside the BMP is in UTF-16 units
    text = (folder / "rules" / "agreement.roo").read_text(encoding="utf-8")
    roo105 = next(d for d in fresh.diagnostics[uri(folder / "rules" / "agreement.roo")] if d.code == "ROO105")
    row = text.split("\n")[roo105.range.start.line]
    assert roo105.range.start.character == len(row[: row.index("150%")].encode("utf-16-le")) // 2
    assert roo105.range.start.character == row.index("150%") + 1  # the emoji counts two units


# ---- each capability on the small rulebook ------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("workspace") / "demo"
    shutil.copytree(DATA / "rules", folder / "rules")
    return folder


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, demo: Path):
    await start(lsp_client, demo)
    yield
    await lsp_client.shutdown_session()


def files(demo: Path) -> dict[str, Path]:
    return {p.name: p for p in (demo / "rules").glob("*.roo")}


@pytest.mark.asyncio
async def test_diagnostics_on_open_and_on_change(client: LanguageClient, demo: Path):
    path = files(demo)["parts.roo"]
    text = open_doc(client, path)
    await until(lambda: uri(path) in client.diagnostics, "diagnostics on open")
    assert list(client.diagnostics[uri(path)]) == []
    broken = text.replace("except steel", "except steal")
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri(path), version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(broken)]))
    found = await until(lambda: client.diagnostics.get(uri(path)), "a diagnostic after the change")
    assert [(d.code, d.severity, d.source) for d in found] == [("ROO109", types.DiagnosticSeverity.Error, "origin-rules")]
    assert found[0].message == "unknown set `steal`\nhelp: did you mean `steel`?"
    assert found[0].range == types.Range(at(broken, "steal"), at(broken, "steal", 5))
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri(path), version=3),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text)]))
    await until(lambda: len(client.diagnostics.get(uri(path))) == 0, "the diagnostic to go")
    client.text_document_did_close(types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri(path))))


async def hover(client: LanguageClient, path: Path, position: types.Position) -> str:
    result = await client.text_document_hover_async(types.HoverParams(text_document=types.TextDocumentIdentifier(uri(path)), position=position))
    assert result is not None
    return result.contents.value


@pytest.mark.asyncio
async def test_hover(client: LanguageClient, demo: Path):
    path = files(demo)["agreement.roo"]
    text = open_doc(client, path)
    # an HS code: its HS 2022 description, under its chapter and heading
    shown = await hover(client, path, at(text, "8708.30", 2))
    assert "`8708.30` (subheading): Vehicle parts; brakes, servo-brakes and parts thereof" in shown
    assert "heading `87.08`: Motor vehicles; parts and accessories" in shown
    # a range: what it covers
    shown = await hover(client, path, at(text, "..72.29", 1))
    assert "range `72.08..72.29`: 22 headings" in shown
    assert "`72.08` (heading): Iron or non-alloy steel; flat-rolled products" in shown
    # a set name: its members
    shown = await hover(client, path, at(text, "steel", 1))
    assert "**set** `steel` = 72.08..72.29, 73.01..73.26 (declared at rules/agreement.roo:8)" in shown
    assert "`73.01..73.26`: 26 headings" in shown
    shown = await hover(client, path, at(text, "partners", 1))
    assert "- `US` United States\n- `MX` Mexico" in shown
    # an agreement: its parties, and the files it is written over
    shown = await hover(client, path, at(text, '"Demo"', 2))
    assert shown.startswith('**agreement** "Demo"')
    assert "parties: `CA` Canada, `MX` Mexico, `US` United States" in shown
    assert "written over 2 files: `rules/agreement.roo`, `rules/parts.roo`" in shown
    # a rule: its citation and the rule-test cases that exercise it (run in the background)
    position = at(text, "rule 8708.30", 1)
    for _ in range(WAIT * 10):
        shown = await hover(client, path, position)
        if "running" not in shown:
            break
        await asyncio.sleep(0.1)
    assert shown.startswith('**rule 8708.30 "Brakes and servo-brakes; parts thereof"**')
    assert "- Demo Annex 4-B, 8708.30" in shown
    assert "Exercised by 1 rule-test case" in shown
    assert "- rules/demo.test.yaml:4 brakes from a heading change [Demo]" in shown
    # a scenario: what it extends
    scenario = files(demo)["scenario.roo"]
    text = open_doc(client, scenario)
    shown = await hover(client, scenario, at(text, "Demo 2026", 1))
    assert shown.startswith('**scenario** "Demo 2026"') and '- extends "Demo"' in shown
    shown = await hover(client, scenario, at(text, '"Demo" {', 1))
    assert shown.startswith('**agreement** "Demo"')


@pytest.mark.asyncio
async def test_definition_and_references_across_files(client: LanguageClient, demo: Path):
    agreement, parts, scenario = (files(demo)[n] for n in ("agreement.roo", "parts.roo", "scenario.roo"))
    a_text, p_text, s_text = (open_doc(client, p) for p in (agreement, parts, scenario))
    # a set used in one file, declared in another part of the same agreement
    found = await client.text_document_definition_async(types.DefinitionParams(
        text_document=types.TextDocumentIdentifier(uri(parts)), position=at(p_text, "steel", 2)))
    assert list(found) == [types.Location(uri(agreement), types.Range(at(a_text, "steel"), at(a_text, "steel", 5)))]
    refs = await client.text_document_references_async(types.ReferenceParams(
        text_document=types.TextDocumentIdentifier(uri(agreement)), position=at(a_text, "partners"),
        context=types.ReferenceContext(include_declaration=True)))
    assert list(refs) == [
        types.Location(uri(agreement), types.Range(at(a_text, "partners"), at(a_text, "partners", 8))),
        types.Location(uri(parts), types.Range(at(p_text, "partners"), at(p_text, "partners", 8))),
    ]
    # `extends "Demo"`: the head (the block with parties) first, then the other part
    found = await client.text_document_definition_async(types.DefinitionParams(
        text_document=types.TextDocumentIdentifier(uri(scenario)), position=at(s_text, '"Demo" {', 2)))
    assert [(loc.uri, loc.range.start) for loc in found] == [
        (uri(agreement), at(a_text, '"Demo"')), (uri(parts), at(p_text, '"Demo"'))]
    refs = await client.text_document_references_async(types.ReferenceParams(
        text_document=types.TextDocumentIdentifier(uri(agreement)), position=at(a_text, '"Demo"', 1),
        context=types.ReferenceContext(include_declaration=False)))
    assert list(refs) == [types.Location(uri(scenario), types.Range(at(s_text, '"Demo" {'), at(s_text, '"Demo" {', 6)))]


async def complete(client: LanguageClient, path: Path, text: str, position: types.Position) -> dict[str, types.CompletionItem]:
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri(path), version=10),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text)]))
    result = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri(path)), position=position))
    return {item.label: item for item in result.items}


@pytest.mark.asyncio
async def test_completion(client: LanguageClient, demo: Path):
    path = files(demo)["parts.roo"]
    text = open_doc(client, path)
    # a body line being written: keywords, measures, figures and the sets in scope
    edited = text.replace("    change from any other heading except steel\n", "    change from any other heading except steel\n    rv\n")
    items = await complete(client, path, edited, at(edited, "    rv\n", 6))
    assert {"rvc(net_cost)", "rvc(build_down, fob)", "max_nom(ex_works)", "change", "wholly_obtained",
            "steel", "partners", "transaction_value"} <= set(items)
    assert items["rvc(net_cost)"].text_edit.range == types.Range(at(edited, "    rv\n", 4), at(edited, "    rv\n", 6))
    assert items["steel"].detail == "set of HS codes (rules/agreement.roo:8)"
    # HS codes with their descriptions
    edited = text.replace("except steel", "except 8708.3")
    items = await complete(client, path, edited, at(edited, "8708.3", 6))
    assert items["8708.30"].detail == "Vehicle parts; brakes, servo-brakes and parts thereof"
    assert items["8708.30"].text_edit.new_text == "8708.30"
    assert "8708.99" not in items and "87.08" not in items
    # country codes inside a list
    edited = text.replace("origin in partners", "origin in [U")
    items = await complete(client, path, edited, at(edited, "[U", 2))
    assert items["US"].detail == "United States" and items["US"].kind == types.CompletionItemKind.EnumMember
    # agreements after `extends "`
    scenario = files(demo)["scenario.roo"]
    s_text = open_doc(client, scenario)
    edited = s_text.replace('extends "Demo"', 'extends "')
    items = await complete(client, scenario, edited, at(edited, 'extends "', 9))
    assert set(items) == {"Demo"}  # (the scenario being edited does not parse: it defines nothing yet)


@pytest.mark.asyncio
async def test_formatting_and_its_refusal(client: LanguageClient, demo: Path):
    path = demo / "rules" / "messy.roo"
    messy = 'agreement "Messy" {\nparties=[US,MX]\n   rule 87.03 {rvc(net_cost)>=50%}\n}'
    open_doc(client, path, messy)
    edits = await client.text_document_formatting_async(types.DocumentFormattingParams(
        text_document=types.TextDocumentIdentifier(uri(path)), options=types.FormattingOptions(tab_size=2, insert_spaces=True)))
    assert list(edits) == [types.TextEdit(types.Range(types.Position(0, 0), types.Position(3, 1)),
                                    check_format(messy, "rules/messy.roo").formatted)]
    assert edits[0].new_text == 'agreement "Messy" {\n  parties = [US, MX]\n\n  rule 87.03 { rvc(net_cost) >= 50% }\n}\n'
    # formatted already: no edit
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri(path), version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(edits[0].new_text)]))
    assert await client.text_document_formatting_async(types.DocumentFormattingParams(
        text_document=types.TextDocumentIdentifier(uri(path)), options=types.FormattingOptions(tab_size=2, insert_spaces=True))) in ([], ())
    # a file with a syntax error is refused, with fmt's reason
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri(path), version=3),
        content_changes=[types.TextDocumentContentChangeWholeDocument(messy[:-1])]))
    with pytest.raises(Exception) as refused:
        await client.text_document_formatting_async(types.DocumentFormattingParams(
            text_document=types.TextDocumentIdentifier(uri(path)), options=types.FormattingOptions(tab_size=2, insert_spaces=True)))
    assert "refusing to format: `rules/messy.roo` was not formatted: line 1: this `{` is never closed" in str(refused.value)
    client.text_document_did_close(types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri(path))))


@pytest.mark.asyncio
async def test_document_symbols(client: LanguageClient, demo: Path):
    path = files(demo)["agreement.roo"]
    open_doc(client, path)
    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(
        text_document=types.TextDocumentIdentifier(uri(path))))
    assert [(s.name, s.kind, s.detail) for s in symbols] == [("Demo", types.SymbolKind.Namespace, "agreement: US, MX, CA")]
    assert [(c.name, c.detail) for c in symbols[0].children] == [
        ("steel", "set of HS codes"), ("partners", "set of countries"),
        ("rule 8708.30", "Brakes and servo-brakes; parts thereof")]


def test_help_does_not_import_pygls():
    code = ("import sys; from origin_rules.cli import app; from typer.testing import CliRunner; "
            "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output; assert 'lsp' in r.output; "
            "r = CliRunner().invoke(app, ['lsp', '--help']); assert r.exit_code == 0, r.output; "
            "print(sorted(m for m in ('pygls', 'lsprotocol', 'origin_rules.lsp') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_without_pygls_the_command_says_how_to_install_it():
    code = ("import sys; sys.modules['pygls'] = None; from origin_rules.cli import app; "
            "from typer.testing import CliRunner; r = CliRunner().invoke(app, ['lsp']); "
            "print(r.exit_code); print(r.output)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.split("\n")[0] == "2"
    assert "error: the language server needs pygls: pip install 'origin-rules[lsp]'" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr


@pytest.mark.asyncio
async def test_a_folder_added_to_the_workspace_is_checked(client: LanguageClient, tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(DATA / "broken", folder)
    client.workspace_did_change_workspace_folders(types.DidChangeWorkspaceFoldersParams(
        event=types.WorkspaceFoldersChangeEvent(added=[types.WorkspaceFolder(uri(folder), folder.name)], removed=[])))
    target = uri(folder / "other" / "a.roo")
    found = await until(lambda: client.diagnostics.get(target), "diagnostics of the added folder")
    assert sorted(d.code for d in found) == ["ROO106", "ROO114"]


# ---- every request is answered, whatever comes ---------------------------------------------------


class Raw:
    """The server as its own process, spoken to in raw JSON-RPC (what a typed client cannot send)."""

    def __init__(self):
        self.process = subprocess.Popen(SERVER.server_command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, env=SERVER.server_env)

    def send(self, message: dict) -> None:
        body = json.dumps(message).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.process.stdin.flush()

    def read(self) -> dict | None:
        """The next message of the server (None: it closed its output)."""
        length = None
        while True:
            line = self.process.stdout.readline()
            if not line:
                return None
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode().partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        return json.loads(self.process.stdout.read(length))

    def replies_until(self, last: int) -> dict:
        """The replies to requests (by id) up to the one with id ``last`` (or the end of the output)."""
        replies: dict = {}
        while last not in replies:
            message = self.read()
            if message is None:
                break
            if "method" not in message:
                replies[message.get("id")] = message
        return replies


def test_every_request_gets_an_answer(tmp_path):
    (tmp_path / "a.roo").write_text('agreement "X" {\n  parties = [US]\n}\n', encoding="utf-8")
    document = {"uri": uri(tmp_path / "a.roo")}
    server = Raw()
    try:
        server.send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                     "params": {"processId": None, "rootUri": uri(tmp_path), "capabilities": {}}})
        assert "result" in server.replies_until(1)[1]
        server.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        server.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
            **document, "languageId": "roo", "version": 1, "text": (tmp_path / "a.roo").read_text(encoding="utf-8")}}})
        # params that do not read as the method's: InvalidParams (pygls only logged them)
        server.send({"jsonrpc": "2.0", "id": 2, "method": "textDocument/hover",
                     "params": {"textDocument": document, "position": {"line": -1, "character": 0}}})
        server.send({"jsonrpc": "2.0", "id": 3, "method": "textDocument/hover", "params": None})
        # not JSON-RPC 2.0, or a method that is no string: InvalidRequest
        server.send({"id": 4, "method": "textDocument/documentSymbol", "params": {"textDocument": document}})
        server.send({"jsonrpc": "2.0", "id": 5, "method": 5})
        server.send({"jsonrpc": "2.0", "id": 6, "method": "textDocument/documentSymbol",
                     "params": {"textDocument": document}})
        replies = server.replies_until(6)
        assert replies[2]["error"] == {"code": -32602, "message": "Invalid Params for textDocument/hover: "
                                       "invalid value @ $.params.position"}
        assert replies[3]["error"]["code"] == -32602
        assert replies[3]["error"]["message"].startswith("Invalid Params for textDocument/hover: ")
        assert replies[4]["error"] == {"code": -32600, "message":
                                       'Invalid Request: not a JSON-RPC 2.0 request ("jsonrpc": "2.0" is missing)'}
        assert replies[5]["error"] == {"code": -32600, "message": "Invalid Request: the method is not a string"}
        assert [s["name"] for s in replies[6]["result"]] == ["X"]  # and the server goes on
        # after shutdown: InvalidRequest, as the LSP specification says (pygls said nothing)
        server.send({"jsonrpc": "2.0", "id": 7, "method": "shutdown"})
        server.send({"jsonrpc": "2.0", "id": 8, "method": "textDocument/hover",
                     "params": {"textDocument": document, "position": {"line": 0, "character": 0}}})
        server.send({"jsonrpc": "2.0", "method": "exit"})
        replies = server.replies_until(8)
        assert replies[7] == {"jsonrpc": "2.0", "id": 7, "result": None}
        assert replies[8]["error"] == {"code": -32600, "message": "Invalid Request: the server is shutting down "
                                       "(no request after shutdown)"}
        assert server.process.wait(WAIT) == 0
    finally:
        if server.process.poll() is None:
            server.process.kill()
        server.process.communicate()


@pytest.mark.asyncio
async def test_a_document_that_is_not_open_is_not_formatted(client: LanguageClient, demo: Path):
    for target, name in [(uri(demo / "rules" / "never-written.roo"), "rules/never-written.roo"),
                         ("untitled:Untitled-1", "untitled:Untitled-1"),
                         (uri(demo / "rules"), "rules")]:
        with pytest.raises(Exception) as refused:  # pygls read the file from disk: FileNotFoundError, a traceback
            await client.text_document_formatting_async(types.DocumentFormattingParams(
                text_document=types.TextDocumentIdentifier(target), options=types.FormattingOptions(2, True)))
        assert (refused.value.code, refused.value.message, refused.value.data) == (
            -32803, f"refusing to format: `{name}` is not open", None)
    # the other requests about it answer nothing
    assert await client.text_document_hover_async(types.HoverParams(
        types.TextDocumentIdentifier(uri(demo / "rules")), types.Position(0, 0))) is None
    assert await client.text_document_document_symbol_async(types.DocumentSymbolParams(
        types.TextDocumentIdentifier(uri(demo / "rules" / "never-written.roo")))) is None


def test_a_document_that_is_no_rule_file_makes_no_rulebook(monkeypatch):
    """``file:///x.roo`` (or a folder) made the folder above a rulebook: the whole disk read."""
    from origin_rules.lsp import server as lsp_server
    from origin_rules.lsp.workspace import Workspace

    def analysis(self, root):
        raise AssertionError(f"{root} read as a rulebook")

    monkeypatch.setattr(Workspace, "analysis", analysis)
    ls = lsp_server.RulesServer()
    for target in ("file:///x.roo", "file:///", "file:///tmp/"):
        at_start = types.Position(0, 0)
        document = types.TextDocumentIdentifier(target)
        assert lsp_server.hover(ls, types.HoverParams(document, at_start)) is None
        assert lsp_server.definition(ls, types.DefinitionParams(document, at_start)) is None
        assert lsp_server.completion(ls, types.CompletionParams(document, at_start)) is None
        assert lsp_server.symbols(ls, types.DocumentSymbolParams(document)) is None


@pytest.mark.asyncio
async def test_a_lone_surrogate_is_reported_where_it_is(client: LanguageClient, demo: Path):
    path = demo / "rules" / "surrogate.roo"
    text = open_doc(client, path, 'agreement "S" {\n  parties = [QQ]\n}\n')
    found = await until(lambda: client.diagnostics.get(uri(path)), "the diagnostics of the new file")
    assert [d.code for d in found] == ["ROO104"]
    # JSON carries a lone surrogate ("\udcff"); no file holds it: `check` would find the file
    # the editor saves instead unreadable (ROO000), and that is what is published, at its place
    # (the check failed on digesting the text, and the old diagnostics stayed)
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri(path), version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument("# \udcff\n" + text)]))
    found = await until(lambda: [d for d in client.diagnostics.get(uri(path)) if d.code == "ROO000"], "ROO000")
    assert [(d.code, d.range, d.message) for d in client.diagnostics[uri(path)]] == [(
        "ROO000", types.Range(types.Position(0, 2), types.Position(0, 3)),
        "cannot read `rules/surrogate.roo`: U+DCFF at line 1, column 3 is a lone surrogate, which UTF-8 cannot "
        "encode\nhelp: delete it: a surrogate stands only in a pair, for a character outside the Basic "
        "Multilingual Plane")]
    with pytest.raises(Exception) as refused:
        await client.text_document_formatting_async(types.DocumentFormattingParams(
            text_document=types.TextDocumentIdentifier(uri(path)), options=types.FormattingOptions(2, True)))
    assert refused.value.message.startswith("refusing to format: cannot read `rules/surrogate.roo`: U+DCFF at line 1")
    assert await client.text_document_hover_async(types.HoverParams(  # the file is not read: nothing to show
        types.TextDocumentIdentifier(uri(path)), at("# x\n" + text, '"S"', 1))) is None
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri(path), version=3),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text)]))
    await until(lambda: [d.code for d in client.diagnostics.get(uri(path))] == ["ROO104"], "ROO104 again")
    client.text_document_did_close(types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri(path))))


def test_the_outline_of_a_long_file_reads_its_text_once(tmp_path):
    """The outline took each rule's selector from the file's text split again for each rule:
    n rules cost n splits of n lines (20,000 rules: minutes without an answer)."""
    from origin_rules.lsp.workspace import Workspace

    class Counted(str):
        splits = 0

        def split(self, *args, **kwargs):
            Counted.splits += 1
            return super().split(*args, **kwargs)

    path = tmp_path / "a.roo"
    path.write_text('agreement "X" {\n  parties = [US]\n' + "  rule 87.03 { rvc(net_cost) >= 60% }\n" * 300 + "}\n",
                    encoding="utf-8")
    analysis = Workspace([tmp_path]).analysis_of(path.resolve())
    analysis.parsed.sources["a.roo"] = Counted(analysis.parsed.sources["a.roo"])
    outline = analysis.index.symbols("a.roo")
    assert [c.name for c in outline[0].children] == ["rule 87.03"] * 300
    assert Counted.splits == 1
