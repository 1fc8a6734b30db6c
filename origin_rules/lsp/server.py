"""The language server over stdio (pygls): LSP requests -> the analysis -> LSP answers.

In: JSON-RPC messages on standard input. Out: answers and notifications on standard output
(nothing else may write there); logs on standard error. Capabilities:

- diagnostics, pushed on open, change, save and close for every file of the rulebook the
  document belongs to (and, after ``initialized``, for every rulebook of the workspace):
  exactly what ``origin-rules check`` prints for the same files, each with its range, code
  and help (after the message, and in ``data.help``);
- hover, go to definition, find references, completion, document symbols
  (:mod:`~origin_rules.lsp.index`, :mod:`~origin_rules.lsp.hover`,
  :mod:`~origin_rules.lsp.complete`);
- whole-document formatting through the formatter; a file ``fmt`` refuses (syntax errors, a
  layout that would change its meaning) is refused with ``fmt``'s reason (a failed request).

Initialization options: ``rulebooks`` (folders, relative to the first workspace folder,
each checked as one rulebook; default: found, see :mod:`~origin_rules.lsp.workspace`) and
``ruleTests`` (false: do not run the rule tests for the hover of rules).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import traceback
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from urllib.parse import unquote

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcInvalidRequest
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import from_fs_path, to_fs_path

from .. import __version__
from ..formatting.printer import check_format
from ..model import ast
from ..model.diagnostics import Diagnostic, Severity
from .complete import complete
from .exercise import Exercised, exercised, has_tests, quiet
from .hover import hover_markdown
from .workspace import Analysis, Workspace, unencodable

log = logging.getLogger("origin_rules.lsp")

REQUEST_FAILED = -32803  # LSP's RequestFailed: the request was valid, the server declines it

_SYMBOL_KINDS = {
    "agreement": lsp.SymbolKind.Namespace,
    "scenario": lsp.SymbolKind.Namespace,
    "set": lsp.SymbolKind.Constant,
    "rule": lsp.SymbolKind.Function,
    "require": lsp.SymbolKind.Event,
    "fallback": lsp.SymbolKind.Event,
    "de_minimis": lsp.SymbolKind.Property,
}
_COMPLETION_KINDS = {
    "keyword": lsp.CompletionItemKind.Keyword,
    "method": lsp.CompletionItemKind.Function,
    "code": lsp.CompletionItemKind.Value,
    "country": lsp.CompletionItemKind.EnumMember,
    "set": lsp.CompletionItemKind.Variable,
    "agreement": lsp.CompletionItemKind.Module,
    "figure": lsp.CompletionItemKind.Field,
}


# ---- positions: the AST's 1-based lines and columns (code points) <-> LSP's 0-based units -------


def _units(text: str, encoding: str) -> int:
    if text.isascii() or encoding == "utf-32":
        return len(text)
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    return len(text.encode("utf-16-le")) // 2


def _column(line: str, units: int, encoding: str) -> int:
    """The code-point index of a client's column on a line."""
    if line.isascii() or encoding == "utf-32":
        return units
    count = 0
    for i, ch in enumerate(line):
        if count >= units:
            return i
        count += _units(ch, encoding)
    return len(line)


class Lines:
    """A text's lines, to turn spans into ranges."""

    def __init__(self, text: str, encoding: str):
        self.lines = text.split("\n")
        self.encoding = encoding

    def position(self, line: int, column: int) -> lsp.Position:
        if line < 1:
            return lsp.Position(0, 0)
        if line > len(self.lines):
            return lsp.Position(len(self.lines), 0)
        row = self.lines[line - 1]
        return lsp.Position(line - 1, _units(row[: max(column - 1, 0)], self.encoding))

    def range(self, span: ast.Span) -> lsp.Range:
        start = self.position(span.line, span.column)
        if span.end_line < 1:
            return lsp.Range(start, start)
        return lsp.Range(start, self.position(span.end_line, span.end_column))

    def end(self) -> lsp.Position:
        last = self.lines[-1]
        return lsp.Position(len(self.lines) - 1, _units(last, self.encoding))


# ---- every request is answered ------------------------------------------------------------------


class _Refused:
    """A request that cannot be handled as it came (its params do not read as the method's):
    what :meth:`RulesProtocol.handle_message` answers it with."""

    def __init__(self, msg_id: int | str, error: JsonRpcException):
        self.id = msg_id
        self.error = error


def _request_id(data) -> int | str | None:
    """The id of a message that is a request (a method and an id a reply can carry), else None."""
    if not isinstance(data, dict) or "method" not in data:
        return None
    msg_id = data.get("id")
    return msg_id if isinstance(msg_id, (int, str)) and not isinstance(msg_id, bool) else None


class RulesProtocol(LanguageServerProtocol):
    """pygls's protocol, except that every request with an id gets an answer. pygls only logs
    (and never answers) a request whose params do not read as the method's
    (``JsonRpcInvalidParams`` while deserializing: a negative line, ``"params": null``), a
    request that is not JSON-RPC 2.0, and every request after ``shutdown`` ("No more
    requests!"): the client would wait for ever. Those are answered with InvalidParams
    (-32602) or InvalidRequest (-32600), as the LSP specification says."""

    def structure_message(self, data):
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            msg_id = _request_id(data)
            if msg_id is None or data.get("jsonrpc") != self.VERSION:
                raise
            if not isinstance(data["method"], str):
                return _Refused(msg_id, JsonRpcInvalidRequest(f"{JsonRpcInvalidRequest.MESSAGE}: the method is not a string"))
            if isinstance(exc, JsonRpcInvalidParams):
                return _Refused(msg_id, JsonRpcInvalidParams(f"{exc.MESSAGE} for {data['method']}: {_why(exc)}"))
            return _Refused(msg_id, exc)

    def handle_message(self, message):
        if isinstance(message, _Refused):
            self._send_response(message.id, error=message.error.to_response_error())
            return
        msg_id = _request_id(message) if isinstance(message, dict) else getattr(message, "id", None)
        method = message.get("method") if isinstance(message, dict) else getattr(message, "method", None)
        if msg_id is not None and method is not None and not hasattr(message, "result"):
            version = message.get("jsonrpc") if isinstance(message, dict) else getattr(message, "jsonrpc", None)
            if version != self.VERSION:  # pygls passes it on as it came (a dict), or ignores it
                self._send_response(msg_id, error=JsonRpcInvalidRequest(
                    f'{JsonRpcInvalidRequest.MESSAGE}: not a JSON-RPC 2.0 request ("jsonrpc": "2.0" is missing)',
                ).to_response_error())
                return
            if self._shutdown and method != lsp.EXIT:
                self._send_response(msg_id, error=JsonRpcInvalidRequest(
                    f"{JsonRpcInvalidRequest.MESSAGE}: the server is shutting down (no request after shutdown)",
                ).to_response_error())
                return
        super().handle_message(message)


def _why(exc: JsonRpcException) -> str:
    """What was wrong with the params, from the deserializer's error (cattrs's own words)."""
    cause = exc.__cause__
    try:
        from cattrs import transform_error

        found = transform_error(cause, path="$") if cause is not None else []
    except Exception:  # noqa: BLE001 (only the wording of the answer depends on it)
        found = []
    return "; ".join(found) or "they do not read as the method's parameters"


class RulesServer(LanguageServer):
    """The server's state: the workspace's rulebooks, what was last published, rule tests."""

    def __init__(self):
        super().__init__("origin-rules", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental,
                         protocol_cls=RulesProtocol)
        self.rules = Workspace()
        self.options: dict = {}
        self.published: dict[str, list] = {}
        self.tests: dict[Path, Exercised] = {}
        self.pool: ProcessPoolExecutor | None = None
        self.flush_pending = False

    # ---- helpers ------------------------------------------------------------------------------

    @property
    def encoding(self) -> str:
        value = self.workspace.position_encoding
        return str(getattr(value, "value", value) or "utf-16")

    def lines(self, analysis: Analysis, file: str) -> Lines:
        return Lines(analysis.parsed.sources.get(file, ""), self.encoding)

    def location(self, analysis: Analysis, span: ast.Span) -> lsp.Location:
        path = analysis.paths.get(span.file)
        uri = from_fs_path(str(path)) if path is not None else span.file
        return lsp.Location(uri, self.lines(analysis, span.file).range(span))

    def diagnostic(self, d: Diagnostic, lines: Lines) -> lsp.Diagnostic:
        severity = lsp.DiagnosticSeverity.Error if d.severity is Severity.ERROR else lsp.DiagnosticSeverity.Warning
        message = d.message + (f"\nhelp: {d.help}" if d.help else "")
        return lsp.Diagnostic(range=lines.range(d.span), message=message, severity=severity, code=d.code,
                              source="origin-rules", data={"help": d.help})

    def publish(self, analysis: Analysis) -> None:
        for file, diags in analysis.diagnostics_by_file().items():
            path = analysis.paths.get(file)
            if path is None:
                continue
            uri = from_fs_path(str(path))
            lines = self.lines(analysis, file)
            out = [self.diagnostic(d, lines) for d in diags]
            key = [(x.range, x.message, x.code, x.severity) for x in out]
            if self.published.get(uri) == key:
                continue
            self.published[uri] = key
            self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=out))

    def flush(self) -> None:
        """Check every rulebook marked dirty again and publish what changed."""
        self.flush_pending = False
        for root in sorted(self.rules.dirty):
            self.publish(self.rules.analysis(root))

    def schedule_flush(self) -> None:
        """Check soon: edits that arrive before then are checked together."""
        if not self.flush_pending:
            self.flush_pending = True
            asyncio.get_running_loop().call_soon(self.flush)

    def path_of(self, uri: str) -> Path | None:
        """The file of a document (None for a document that is no file: ``untitled:``...)."""
        if not uri.startswith("file:"):
            return None
        fs = to_fs_path(uri)
        return Path(fs).resolve() if fs else None

    def document_of(self, uri: str) -> Path | None:
        """The file of a document a request may be about: one open in the editor, or a rule file
        on disk; None for any other (a folder, a file that does not exist, ``untitled:``), which
        is no rulebook's (``file:///x.roo`` would otherwise make the whole disk one)."""
        path = self.path_of(uri)
        if path is None or path in self.rules.open or (path.suffix == ".roo" and path.is_file()):
            return path
        return None

    def where(self, uri: str, position: lsp.Position):
        """(analysis, file name, 1-based line, 1-based column) of a position in a document."""
        path = self.document_of(uri)
        if path is None:
            return None
        analysis = self.rules.analysis_of(path)
        file = self.rules.name_of(path)
        text = analysis.parsed.sources.get(file, "")
        rows = text.split("\n")
        row = rows[position.line] if position.line < len(rows) else ""
        return analysis, file, position.line + 1, _column(row, position.character, self.encoding) + 1, row

    def occurrence_at(self, uri: str, position: lsp.Position):
        """(analysis, the name or code under the cursor) at a position, or None."""
        found = self.where(uri, position)
        if found is None:
            return None
        analysis, file, line, column, _ = found
        occurrence = analysis.index.at(file, line, column)
        return None if occurrence is None else (analysis, file, occurrence)

    # ---- rule tests -----------------------------------------------------------------------------

    def run_tests(self, root: Path) -> None:
        """Run the rulebook's rule tests in the worker (once more after this run, if one is under way)."""
        if self.options.get("ruleTests") is False or not has_tests(root):
            return
        state = self.tests.setdefault(root, Exercised(root))
        if state.running:
            state.again = True
            return
        state.running = True
        if self.pool is None:
            self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=quiet)
        base = self.rules.folder_of(root)
        future = self.pool.submit(exercised, str(root), str(base) if base else None)
        loop = asyncio.get_running_loop()

        def done(f) -> None:
            if not loop.is_closed():  # the server may have stopped meanwhile
                loop.call_soon_threadsafe(self._tests_done, state, f)

        future.add_done_callback(done)

    def _tests_done(self, state: Exercised, future) -> None:
        try:
            state.finish(future.result())
        except Exception as exc:  # a broken test file must not stop the server
            log.warning("the rule tests under %s could not run: %s", state.root, exc)
            state.finish(None, str(exc))
        if state.again:
            state.again = False
            self.run_tests(state.root)


server = RulesServer()


def _set_up(ls: RulesServer) -> None:
    """The workspace's folders and rulebooks (again), every rulebook checked and published."""
    folders = [Path(p) for p in (to_fs_path(uri) for uri in ls.workspace.folders) if p]
    if not folders and ls.workspace.root_path:
        folders = [Path(ls.workspace.root_path)]
    base = folders[0] if folders else Path.cwd()
    rulebooks = [base / r for r in ls.options.get("rulebooks") or []]
    opened = ls.rules.open
    ls.rules = Workspace(folders, rulebooks)
    for path, text in opened.items():
        ls.rules.set_text(path, text)
    for root in ls.rules.scan():
        ls.publish(ls.rules.analysis(root))
    ls.flush()


@server.feature(lsp.INITIALIZED)
def initialized(ls: RulesServer, params: lsp.InitializedParams) -> None:
    _set_up(ls)


@server.feature(lsp.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
def folders_changed(ls: RulesServer, params: lsp.DidChangeWorkspaceFoldersParams) -> None:
    _set_up(ls)


@server.feature(lsp.INITIALIZE)
def initialize(ls: RulesServer, params: lsp.InitializeParams) -> None:
    ls.options = params.initialization_options if isinstance(params.initialization_options, dict) else {}


@server.feature(lsp.SHUTDOWN)
def shutdown(ls: RulesServer, params) -> None:
    if ls.pool is not None:
        ls.pool.shutdown(wait=False, cancel_futures=True)
        ls.pool = None


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: RulesServer, params: lsp.DidOpenTextDocumentParams) -> None:
    path = ls.path_of(params.text_document.uri)
    if path is not None:
        root = ls.rules.set_text(path, params.text_document.text)
        ls.flush()
        if root not in ls.tests:  # the rule tests of a rulebook run when one of its files is first opened
            ls.run_tests(root)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: RulesServer, params: lsp.DidChangeTextDocumentParams) -> None:
    path = ls.path_of(params.text_document.uri)
    if path is not None:
        ls.rules.set_text(path, ls.workspace.get_text_document(params.text_document.uri).source)
        ls.schedule_flush()


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: RulesServer, params: lsp.DidSaveTextDocumentParams) -> None:
    path = ls.path_of(params.text_document.uri)
    if path is not None and ls.rules.rulebook_of(path) in ls.tests:
        ls.run_tests(ls.rules.rulebook_of(path))


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: RulesServer, params: lsp.DidCloseTextDocumentParams) -> None:
    path = ls.path_of(params.text_document.uri)
    if path is not None:
        ls.rules.set_text(path, None)
        if not path.exists():  # an unsaved new file: it leaves the rulebook
            ls.published.pop(params.text_document.uri, None)
            ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(params.text_document.uri, []))
        ls.flush()


@server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def watched(ls: RulesServer, params: lsp.DidChangeWatchedFilesParams) -> None:
    for change in params.changes:
        path = ls.path_of(change.uri)
        if path is None:
            continue
        if path.name.endswith(".roo"):
            created_or_deleted = change.type != lsp.FileChangeType.Changed
            ls.rules.touch(path, listing=created_or_deleted)
            if change.type == lsp.FileChangeType.Deleted and change.uri in ls.published:
                ls.published.pop(change.uri)
                ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(change.uri, []))
        if ls.rules.rulebook_of(path) in ls.tests:
            ls.run_tests(ls.rules.rulebook_of(path))
    ls.flush()


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
def hover(ls: RulesServer, params: lsp.HoverParams) -> lsp.Hover | None:
    found = ls.occurrence_at(params.text_document.uri, params.position)
    if found is None:
        return None
    analysis, file, occurrence = found
    text = hover_markdown(analysis.index, occurrence, ls.tests.get(analysis.root))
    if text is None:
        return None
    return lsp.Hover(lsp.MarkupContent(lsp.MarkupKind.Markdown, text), ls.lines(analysis, file).range(occurrence.span))


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
def definition(ls: RulesServer, params: lsp.DefinitionParams) -> list[lsp.Location] | None:
    found = ls.occurrence_at(params.text_document.uri, params.position)
    if found is None:
        return None
    analysis, _, occurrence = found
    return [ls.location(analysis, s) for s in analysis.index.definition(occurrence)] or None


@server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
def references(ls: RulesServer, params: lsp.ReferenceParams) -> list[lsp.Location] | None:
    found = ls.occurrence_at(params.text_document.uri, params.position)
    if found is None:
        return None
    analysis, _, occurrence = found
    spans = analysis.index.references(occurrence, params.context.include_declaration)
    return [ls.location(analysis, s) for s in spans] or None


@server.feature(lsp.TEXT_DOCUMENT_COMPLETION,
                lsp.CompletionOptions(trigger_characters=[".", "(", "[", '"', ",", " "]))
def completion(ls: RulesServer, params: lsp.CompletionParams) -> lsp.CompletionList | None:
    found = ls.where(params.text_document.uri, params.position)
    if found is None:
        return None
    analysis, file, line, column, row = found
    before = row[: column - 1]
    index = analysis.index
    items, incomplete = complete(before, index, index.block_at(file, line))
    word = len(before) - len(before.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_."))
    start = lsp.Position(params.position.line, params.position.character - _units(before[len(before) - word:], ls.encoding))
    replace = lsp.Range(start, params.position)
    out = [lsp.CompletionItem(
        label=i.label, kind=_COMPLETION_KINDS[i.kind], detail=i.detail or None, filter_text=i.filter,
        text_edit=lsp.TextEdit(replace, i.insert if i.insert is not None else i.label),
    ) for i in items]
    return lsp.CompletionList(is_incomplete=incomplete, items=out)


@server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
def formatting(ls: RulesServer, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit] | None:
    uri = params.text_document.uri
    path = ls.path_of(uri)
    name = ls.rules.name_of(path) if path is not None else uri
    document = ls.workspace.text_documents.get(unquote(uri))
    if document is None:  # pygls would read it from disk (or fail to): the editor's text is what counts
        raise JsonRpcException(f"refusing to format: `{name}` is not open", REQUEST_FAILED)
    text = document.source
    unreadable = unencodable(text, name) if not text.isascii() else None
    if unreadable is not None:  # `fmt` could not read the file it would be saved as
        raise JsonRpcException(f"refusing to format: {unreadable.message}", REQUEST_FAILED)
    result = check_format(text, name)
    if result.error:
        raise JsonRpcException(f"refusing to format: {result.error}", REQUEST_FAILED)
    if not result.changed:
        return []
    end = Lines(text, ls.encoding).end()
    return [lsp.TextEdit(lsp.Range(lsp.Position(0, 0), end), result.formatted)]


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def symbols(ls: RulesServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol] | None:
    path = ls.document_of(params.text_document.uri)
    if path is None:
        return None
    analysis = ls.rules.analysis_of(path)
    file = ls.rules.name_of(path)
    lines = ls.lines(analysis, file)

    def convert(symbol) -> lsp.DocumentSymbol:
        whole = lines.range(symbol.span)
        name = lines.range(symbol.name_span)
        if not (_before(whole.start, name.start) and _before(name.end, whole.end)):
            name = whole
        return lsp.DocumentSymbol(name=symbol.name, detail=symbol.detail or None, kind=_SYMBOL_KINDS[symbol.kind],
                                  range=whole, selection_range=name,
                                  children=[convert(c) for c in symbol.children] or None)

    return [convert(s) for s in analysis.index.symbols(file)]


def _before(a: lsp.Position, b: lsp.Position) -> bool:
    return (a.line, a.character) <= (b.line, b.character)


def main() -> None:
    """Serve on standard input and output until the client says exit."""
    logging.basicConfig(level=logging.WARNING, format="origin-rules lsp: %(message)s")
    try:
        server.start_io()
    except Exception:  # noqa: BLE001 (the client sees the server gone; standard error says why)
        log.error("the language server stopped: %s", traceback.format_exc())
        raise
