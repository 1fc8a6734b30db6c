"""The facade of the syntax layer: text in, AST and diagnostics out.

In: the text of a ``.roo`` file and its name. Out: ``(Module | None, [Diagnostic])``. The
module is ``None`` only when the text does not parse; diagnostics found while building the
AST (malformed literals with hints) come with a module. No exception escapes for bad input.
This package is the only place that imports ``lark``; it is imported on the first parse, so
that a run that reads its rulebook from the cache never loads it.
"""

from __future__ import annotations

import gc
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


#: The whitespace Lark's ``%import common.WS`` matches: the scanner skips it before each token.
_WS = "(?:[ \t\x0c\r\n])+"
_WS_CHARS = frozenset(" \t\x0c\r\n")


class _Fast:
    """Lark's own contextual lexers and LALR table, driven by one tight loop: in each parser
    state the text is matched by the regular expression of that state's lexer (the
    terminals the state accepts, in Lark's order, keywords told from names as Lark tells
    them), and the token goes straight into the table, with the builder's callbacks as Lark
    calls them. So a text that parses gives what Lark gives, token for token; at the first
    thing that does not parse the loop stops and :func:`parse` asks Lark, which words the
    error. A Lark whose lexers or tables use anything this loop does not know makes
    :func:`_fast` None, and Lark parses everything, as before.

    Whitespace is not a token of its own here: each state's expression starts with a
    possessive run of it (``[ \\t\\f\\r\\n]*+``), which is what Lark's lexer does in one
    more step, since no other terminal can begin with whitespace (checked on the grammar by
    :func:`_may_begin_with_whitespace`). A reduction by a ``?rule`` of one symbol
    (``?c_or: c_and``) only changes the state: its value is its child's, as Lark's
    ``ExpandSingleChild`` gives. Tokens are made in the loop, field by field, as
    ``Token._future_new`` makes them (a Token with other fields: no fast loop)."""

    def __init__(self, lark: Lark) -> None:
        from lark import Token
        from lark.lexer import PatternStr, UnlessCallback
        from lark.parse_tree_builder import ExpandSingleChild
        from lark.parsers.lalr_analysis import Shift

        self._PatternStr, self._UnlessCallback = PatternStr, UnlessCallback
        if Token.__slots__ != ("type", "start_pos", "value", "line", "column", "end_line", "end_column", "end_pos"):
            raise ValueError("a Token this loop does not know how to make")
        frontend = lark.parser
        self.lexers = frontend.lexer.lexers  # parser state -> its basic lexer (states share them)
        self._by_lexer: dict[int, tuple] = {}  # id of a basic lexer -> its scanner
        parser = frontend.parser.parser
        table = parser.parse_table
        callbacks = parser.callbacks
        if any(isinstance(key, str) for key in callbacks):
            raise ValueError("terminal callbacks")
        self.start, self.end = table.start_states["start"], table.end_states["start"]
        size = max(max(table.states), max(self.lexers)) + 1
        if min(table.states) < 0 or any(not isinstance(state, int) for state in table.states):
            raise ValueError("parser states that are not small integers")
        # per state: terminal -> (True, next state) | (False, size, callback or None, rule name); rule name -> next state
        # (a callback of None: a `?rule` of one symbol, whose value is its child's)
        self.actions: list[dict[str, tuple] | None] = [None] * size
        self.gotos: list[dict[str, int] | None] = [None] * size
        light = {}
        for rule, callback in callbacks.items():
            if type(callback) is ExpandSingleChild and len(rule.expansion) == 1:
                light[rule] = None
            else:
                light[rule] = _light(rule.origin.name, callback)
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
        self.scanners: list[tuple | None] = [None] * size  # parser state -> (match, keywords, newline types)
        self.scanner(self.start)

    def scanner(self, state: int) -> tuple:
        """The lexer of a parser state, as the loop uses it (built when first needed, once
        per Lark lexer: many states share one)."""
        found = self.scanners[state]
        if found is not None:
            return found
        lexer = self.lexers[state]
        found = self._by_lexer.get(id(lexer))
        if found is None:
            found = self._by_lexer[id(lexer)] = self._build(lexer)
        self.scanners[state] = found
        return found

    def _build(self, lexer) -> tuple:
        import re

        scanner = lexer.scanner  # builds lexer.callback too
        if len(scanner._mres) != 1 or lexer.re is not re or lexer.g_regex_flags:
            raise ValueError("a lexer this loop does not know")
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
        if lexer.ignore_types != {"WS", "COMMENT"}:
            raise ValueError("ignored terminals other than whitespace and comments")
        alternatives = []
        for terminal in scanner.terminals:
            regexp = terminal.pattern.to_regexp()
            if terminal.name == "WS":
                if regexp != _WS:
                    raise ValueError(f"whitespace is {regexp!r}")
                continue
            if terminal.pattern.flags or _may_begin_with_whitespace(regexp):
                raise ValueError(f"{terminal.name} may begin with whitespace")
            alternatives.append(f"(?P<{terminal.name}>{regexp})")
        pattern = re.compile("[ \t\x0c\r\n]*+(?:" + "|".join(alternatives) + ")")
        return (pattern.match, keywords, frozenset(lexer.newline_types) - {"WS"})

    def run(self, text: str) -> tuple[list, list[Token]] | None:
        """The items of the file and its comments (as tokens), or None: ask Lark."""
        from lark import Token

        make, new_str = Token._future_new, str.__new__
        actions, gotos, scanners = self.actions, self.gotos, self.scanners
        states, values = [self.start], []
        comments = []
        pos, line, line_start, size = 0, 1, 0, len(text)
        count, rindex = text.count, text.rindex
        end_state, state = self.end, self.start
        while True:
            if pos < size:
                lexer = scanners[state] or self.scanner(state)
                found = lexer[0](text, pos)
                if found is None:
                    if text[pos:].strip(" \t\x0c\r\n"):
                        return None
                    pos = size  # whitespace to the end
                    continue
                kind = found.lastgroup
                value = found[kind]
                end = found.end()
                start = end - len(value)
                if start != pos:  # whitespace first
                    newlines = count("\n", pos, start)
                    if newlines:
                        line += newlines
                        line_start = rindex("\n", pos, start) + 1
                column = start - line_start + 1
                start_line = line
                if kind in lexer[2]:
                    newlines = value.count("\n")
                    if newlines:
                        line += newlines
                        line_start = start + value.rindex("\n") + 1
                pos = end
                if kind == "COMMENT":
                    comments.append(make(kind, value, start, start_line, column, line, end - line_start + 1, end))
                    continue
                named = lexer[1].get(kind)
                if named is not None:
                    kind = named.get(value, kind)
                token = new_str(Token, value)  # what Token._future_new does, without the call
                token.type, token.start_pos, token.value = kind, start, value
                token.line, token.column, token.end_line, token.end_column, token.end_pos = \
                    start_line, column, line, end - line_start + 1, end
            else:  # the end of the text: reduce until the start symbol is complete
                kind, token = "$END", None
            while True:
                step = actions[state].get(kind)
                if step is None:
                    return None
                if step[0]:
                    if token is None:
                        return None
                    state = step[1]
                    states.append(state)
                    values.append(token)
                    break
                _, length, callback, origin = step
                if callback is None:  # `?rule: child`: the child is the value
                    del states[-1]
                elif length:
                    children = values[-length:]
                    del states[-length:]
                    del values[-length:]
                    values.append(callback(children))
                else:
                    values.append(callback([]))
                state = gotos[states[-1]][origin]
                states.append(state)
                if token is None and state == end_state:
                    return values[-1], comments


def _may_begin_with_whitespace(regexp: str) -> bool:
    """Can a match of ``regexp`` begin with a whitespace character (or be empty)? True when in
    doubt. The scanner skips whitespace before a token only if this is False for every
    terminal but whitespace itself; otherwise Lark parses everything."""
    try:
        from re import _constants as c, _parser as sre
    except ImportError:  # before Python 3.11
        import sre_constants as c  # type: ignore[no-redef]
        import sre_parse as sre  # type: ignore[no-redef]

    not_space = {c.CATEGORY_DIGIT, c.CATEGORY_WORD, c.CATEGORY_NOT_SPACE}
    repeats = {c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", c.MAX_REPEAT)}

    def first(items) -> tuple[bool, bool]:  # (may it begin with whitespace?, may it match nothing?)
        for op, arg in items:
            if op is c.LITERAL:
                return chr(arg) in _WS_CHARS, False
            if op is c.IN:
                for kind, what in arg:
                    if kind is c.LITERAL:
                        space = chr(what) in _WS_CHARS
                    elif kind is c.RANGE:
                        space = any(what[0] <= ord(ch) <= what[1] for ch in _WS_CHARS)
                    elif kind is c.CATEGORY:
                        space = what not in not_space
                    else:  # NEGATE and anything else: maybe
                        space = True
                    if space:
                        return True, False
                return False, False
            if op is c.SUBPATTERN:
                space, empty = first(arg[-1])
            elif op is c.BRANCH:
                found = [first(branch) for branch in arg[1]]
                space, empty = any(f[0] for f in found), any(f[1] for f in found)
            elif op in repeats:
                space, empty = first(arg[2])
                empty = empty or arg[0] == 0
            elif op is c.AT:  # \b, ^, $: no character
                continue
            else:  # ANY, NOT_LITERAL, lookarounds, back references...: maybe
                return True, False
            if space or not empty:
                return space, empty
        return False, True

    space, empty = first(sre.parse(regexp))
    return space or empty


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
    """Parse one file. Never raises for bad input.

    The cyclic garbage collector is paused meanwhile (as ``rulebook.cache`` pauses it while
    it loads a rulebook): the tokens and nodes of a parse make no cycles, and every
    collection pass the allocations would set off walks all of them again (an eighth of the
    parse of a large file). Cycles made meanwhile are collected after."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _parse(text, file)
    finally:
        if collecting:
            gc.enable()


def _parse(text: str, file: str) -> tuple[ast.Module | None, list[Diagnostic]]:
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

