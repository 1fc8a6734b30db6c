"""The facade of the syntax layer: text in, AST and diagnostics out.

In: the text of a ``.roo`` file and its name. Out: ``(Module | None, [Diagnostic])``. The
module is ``None`` only when the text does not parse; diagnostics found while building the
AST (malformed literals with hints) come with a module. No exception escapes for bad input.
This package is the only place that imports ``lark``; it is imported on the first parse, so
that a run that reads its rulebook from the cache never loads it.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

from ..model import ast
from ..model.diagnostics import Diagnostic, error

if TYPE_CHECKING:
    from lark import Lark, Token

    from .build import Builder

_local = threading.local()


def _collect_comment(token: Token) -> None:
    sink = getattr(_local, "comments", None)
    if sink is not None:
        sink.append(token)


def grammar_text() -> str:
    return resources.files("origin_rules.syntax").joinpath("grammar.lark").read_text(encoding="utf-8")


_LOCK = threading.Lock()  # one builder is shared by the parser: one parse at a time


@lru_cache(maxsize=1)
def _builder() -> Builder:
    from .build import Builder

    return Builder()


@lru_cache(maxsize=1)
def _parser() -> Lark:
    """The LALR parser, building the AST as it reduces (no parse tree is kept). The grammar
    analysis is cached on disk by Lark (keyed by the grammar's hash)."""
    from lark import Lark

    options = dict(
        parser="lalr",
        maybe_placeholders=False,
        lexer_callbacks={"COMMENT": _collect_comment},
        transformer=_builder(),
    )
    try:
        return Lark(grammar_text(), cache=True, **options)
    except OSError:  # an unwritable temporary folder: build without the cache
        return Lark(grammar_text(), **options)


class _Fast:
    """Lark's own contextual lexers and LALR table, driven by one tight loop: in each parser
    state the text is matched by the regular expression of that state's lexer (the
    terminals the state accepts, in Lark's order, keywords told from names as Lark tells
    them), and the token goes straight into the table, with the builder's callbacks as Lark
    calls them. So a text that parses gives what Lark gives, token for token; at the first
    thing that does not parse the loop stops and :func:`parse` asks Lark, which words the
    error. A Lark whose lexers or tables use anything this loop does not know makes
    :func:`_fast` None, and Lark parses everything, as before."""

    def __init__(self, lark: Lark) -> None:
        from lark.lexer import PatternStr, UnlessCallback
        from lark.parsers.lalr_analysis import Shift

        self._PatternStr, self._UnlessCallback = PatternStr, UnlessCallback
        frontend = lark.parser
        self.lexers = frontend.lexer.lexers  # parser state -> its basic lexer
        self.scanners: dict[int, tuple] = {}  # parser state -> (match, keywords, ignore, newline types)
        parser = frontend.parser.parser
        table = parser.parse_table
        callbacks = parser.callbacks
        if any(isinstance(key, str) for key in callbacks):
            raise ValueError("terminal callbacks")
        self.start, self.end = table.start_states["start"], table.end_states["start"]
        # per state: terminal -> (True, next state) | (False, size, callback, rule name); rule name -> next state
        self.actions: dict[int, dict[str, tuple]] = {}
        self.gotos: dict[int, dict[str, int]] = {}
        light = {rule: _light(rule.origin.name, callback) for rule, callback in callbacks.items()}
        for state, row in table.states.items():
            actions, gotos = {}, {}
            for symbol, (action, arg) in row.items():
                if action is not Shift:
                    actions[symbol] = (False, len(arg.expansion), light[arg], arg.origin.name)
                elif symbol.isupper() or symbol == "$END":
                    actions[symbol] = (True, arg)
                else:
                    gotos[symbol] = arg
            self.actions[state], self.gotos[state] = actions, gotos
        for state in (self.start,):
            self.scanner(state)

    def scanner(self, state: int) -> tuple:
        """The lexer of a parser state, as the loop uses it (built when first needed)."""
        found = self.scanners.get(state)
        if found is not None:
            return found
        lexer = self.lexers[state]
        scanner = lexer.scanner  # builds lexer.callback too
        if len(scanner._mres) != 1:
            raise ValueError("more terminals than one regular expression holds")
        keywords: dict[str, dict[str, str]] = {}
        for name, callback in lexer.callback.items():
            if name == "COMMENT" and callback is _collect_comment:
                continue
            if not isinstance(callback, self._UnlessCallback):
                raise ValueError(f"a lexer callback for {name}")
            for terminal in callback.scanner.terminals:
                if not isinstance(terminal.pattern, self._PatternStr) or terminal.pattern.flags:
                    raise ValueError(f"keyword {terminal.name} is not a plain string")
                keywords.setdefault(name, {}).setdefault(terminal.pattern.value, terminal.name)
        found = (scanner._mres[0].match, keywords, frozenset(lexer.ignore_types), frozenset(lexer.newline_types))
        self.scanners[state] = found
        return found

    def run(self, text: str) -> tuple[list, list[Token]] | None:
        """The items of the file and its comments (as tokens), or None: ask Lark."""
        from lark import Token

        make = Token._future_new
        actions, gotos, end_state, scanners = self.actions, self.gotos, self.end, self.scanners
        states, values = [self.start], []
        comments = []
        pos, line, line_start, size = 0, 1, 0, len(text)
        while True:
            if pos < size:
                lexer = scanners.get(states[-1]) or self.scanner(states[-1])
                found = lexer[0](text, pos)
                if found is None:
                    return None
                kind, value, end = found.lastgroup, found.group(), found.end()
                column = pos - line_start + 1
                start_line = line
                if kind in lexer[3]:
                    newlines = value.count("\n")
                    if newlines:
                        line += newlines
                        line_start = pos + value.rindex("\n") + 1
                if kind in lexer[2]:
                    if kind == "COMMENT":
                        comments.append(make(kind, value, pos, start_line, column, line, end - line_start + 1, end))
                    pos = end
                    continue
                named = lexer[1].get(kind)
                if named is not None:
                    kind = named.get(value, kind)
                token = make(kind, value, pos, start_line, column, line, end - line_start + 1, end)
                pos = end
            else:  # the end of the text: reduce until the start symbol is complete
                kind, token = "$END", None
            while True:
                step = actions[states[-1]].get(kind)
                if step is None or (step[0] and token is None):
                    return None
                if step[0]:
                    states.append(step[1])
                    values.append(token)
                    break
                _, count, callback, origin = step
                if count:
                    children = values[-count:]
                    del states[-count:]
                    del values[-count:]
                else:
                    children = []
                values.append(callback(children))
                states.append(gotos[states[-1]][origin])
                if token is None and states[-1] == end_state:
                    return values[-1], comments


def _inlined(children: list) -> list:
    """What an inlined rule (``_member``, ``_line``...) stands for: its children, which the
    rule around it splices in."""
    return children


def _light(name: str, callback):
    """The callback of a rule for the fast loop. Lark builds a parse-tree node for each inlined
    rule (``_name``) only for the rule around it to take its children out again; here an
    inlined rule gives the list of its children and the rules around it splice lists in. Every
    other callback is Lark's own. ValueError for a callback of a kind this does not know."""
    from lark.parse_tree_builder import ChildFilterLALR_NoPlaceholders

    def is_default(builder) -> bool:
        return getattr(builder, "func", None) is not None and getattr(builder.func, "__name__", "") == "default_callback" \
            and builder.args == (name,)

    if type(callback) is ChildFilterLALR_NoPlaceholders:
        builder = callback.node_builder
        if name.startswith("_"):
            if not is_default(builder):
                raise ValueError(f"inlined rule {name} with a callback of its own")
            builder = _inlined
        return _splicer(callback.to_include, builder)
    if name.startswith("_"):
        if not is_default(callback):
            raise ValueError(f"inlined rule {name} with a callback of its own")
        return _inlined
    return callback


def _splicer(to_include: list[tuple[int, bool]], builder):
    """Lark's child filter (``ChildFilterLALR_NoPlaceholders``) for children that are lists
    where Lark's are trees: the children kept, the inlined rules' children spliced in."""
    def build(children: list):
        kept: list = []
        for index, splice in to_include:
            if splice:
                if kept:
                    kept += children[index]
                else:  # left recursion: take the list over
                    kept = children[index]
            else:
                kept.append(children[index])
        return builder(kept)
    return build


@lru_cache(maxsize=1)
def _fast() -> _Fast | None:
    try:
        return _Fast(_parser())
    except (ValueError, AttributeError, KeyError, TypeError, ImportError):  # another Lark: parse with Lark itself
        return None


def build_strict() -> Lark:
    """Build the grammar with ``strict=True`` (no conflicts, no terminal collisions): for tests."""
    from lark import Lark

    return Lark(grammar_text(), parser="lalr", strict=True, propagate_positions=True, maybe_placeholders=False)


def parse(text: str, file: str = "<string>") -> tuple[ast.Module | None, list[Diagnostic]]:
    """Parse one file. Never raises for bad input."""
    from lark.exceptions import UnexpectedInput

    from .errors import convert

    nowhere = ast.Span(file, 1, 1, 1, 2)
    with _LOCK:
        parser, builder, fast = _parser(), _builder(), _fast()  # made once, under the lock
        builder.reset(file)
        try:
            done = fast.run(text) if fast is not None else None
        except Exception:  # noqa: BLE001 - Lark's own parse below says (or raises) the same
            done = None
        if done is not None:
            items, comments = done
        else:
            builder.reset(file)
            _local.comments = comments = []
            try:
                items = parser.parse(text)
            except UnexpectedInput as exc:
                return None, [convert(exc, file, text, text.count("{") - text.count("}"))]
            except RecursionError:
                return None, [error("ROO001", "the file nests too deeply to read", nowhere)]
            finally:
                _local.comments = None
        diagnostics = builder.diagnostics
        spans = [builder.span(t) for t in comments]
    module = ast.Module(
        items=items,
        comments=tuple(ast.Comment(str(t), span) for t, span in zip(comments, spans)),
        file=file,
        source=text,
    )
    return module, diagnostics


def parse_file(path: str) -> tuple[ast.Module | None, list[Diagnostic], str]:
    """Read and parse a file; an unreadable file is a diagnostic too (returned text is '')."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return None, [error("ROO000", f"cannot read `{path}`: {reason}", ast.Span(path, 0, 0, 0, 0))], ""
    module, diags = parse(text, path)
    return module, diags, text

