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
        parser, builder = _parser(), _builder()  # made once, under the lock
        _local.comments = comments = []
        builder.reset(file)
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

