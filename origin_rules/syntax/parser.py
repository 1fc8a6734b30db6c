"""The facade of the syntax layer: text in, AST and diagnostics out.

In: the text of a ``.roo`` file and its name. Out: ``(Module | None, [Diagnostic])``. The
module is ``None`` only when the text does not parse; diagnostics found while building the
AST (malformed literals with hints) come with a module. No exception escapes for bad input.
This package is the only place that imports ``lark``.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from importlib import resources

from lark import Lark, Token
from lark.exceptions import UnexpectedInput, VisitError

from .. import ast
from ..diagnostics import Diagnostic, error
from .build import Builder
from .errors import convert

_local = threading.local()


def _collect_comment(token: Token) -> None:
    sink = getattr(_local, "comments", None)
    if sink is not None:
        sink.append(token)


def grammar_text() -> str:
    return resources.files("origin_rules.syntax").joinpath("grammar.lark").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(
        grammar_text(),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=False,
        lexer_callbacks={"COMMENT": _collect_comment},
    )


def build_strict() -> Lark:
    """Build the grammar with ``strict=True`` (no conflicts, no terminal collisions): for tests."""
    return Lark(grammar_text(), parser="lalr", strict=True, propagate_positions=True, maybe_placeholders=False)


def parse(text: str, file: str = "<string>") -> tuple[ast.Module | None, list[Diagnostic]]:
    """Parse one file. Never raises for bad input."""
    _local.comments = comments = []
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        return None, [convert(exc, file, text, text.count("{") - text.count("}"))]
    except RecursionError:
        return None, [error("ROO001", "the file nests too deeply to read", ast.Span(file, 1, 1, 1, 2))]
    finally:
        _local.comments = None
    builder = Builder(file)
    try:
        items = builder.transform(tree)
    except RecursionError:
        return None, [error("ROO001", "the file nests too deeply to read", ast.Span(file, 1, 1, 1, 2))]
    except VisitError as exc:  # a builder bug must not show a traceback, but must not hide either
        if isinstance(exc.orig_exc, RecursionError):
            return None, [error("ROO001", "the file nests too deeply to read", ast.Span(file, 1, 1, 1, 2))]
        raise
    module = ast.Module(
        items=items,
        comments=tuple(ast.Comment(str(t), builder.span(t)) for t in comments),
        file=file,
        source=text,
    )
    return module, builder.diagnostics


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

