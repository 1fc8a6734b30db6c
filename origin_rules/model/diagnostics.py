"""The one diagnostic type, and the exception that carries a list of them.

In: a code (``ROO101``), a severity, a message, a span and an optional hint, produced by the
syntax layer and the checker. Out: values that renderers (``origin_rules.model.render``) turn into
text with the source line and a caret, JSON, GitHub annotations or SARIF.
Messages are lowercase, name the user's thing in backticks and say what would be right.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from .ast import Span


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    span: Span
    help: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple:
        return (self.span.file, self.span.line, self.span.column, self.code)

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "file": self.span.file,
            "line": self.span.line,
            "column": self.span.column,
            "end_line": self.span.end_line,
            "end_column": self.span.end_column,
            "help": self.help,
        }


def error(code: str, message: str, span: Span, help: str | None = None) -> Diagnostic:
    return Diagnostic(code, Severity.ERROR, message, span, help)


def warning(code: str, message: str, span: Span, help: str | None = None) -> Diagnostic:
    return Diagnostic(code, Severity.WARNING, message, span, help)


@dataclass
class RulebookError(Exception):
    """Raised by ``origin_rules.load`` when rule files have errors; carries all of them."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return render_text(self.diagnostics, self.sources)


def _caret_block(diag: Diagnostic, sources: dict[str, str]) -> list[str]:
    """The source line of the span and a caret under the span (to the end of the line when
    the span runs over several lines)."""
    text = sources.get(diag.span.file)
    if text is None or diag.span.line < 1:
        return []
    lines = text.splitlines()
    if diag.span.line > len(lines):
        return []
    src = lines[diag.span.line - 1].expandtabs(1).rstrip()
    gutter = f"{diag.span.line:>4} | "
    start = max(diag.span.column, 1)
    if diag.span.end_line == diag.span.line and diag.span.end_column > start:
        width = diag.span.end_column - start
    else:
        width = len(src) - start + 1
    width = max(1, min(width, len(src) - start + 1))
    return [gutter + src, " " * (len(gutter) + start - 1) + "^" * width]


def location(diag: Diagnostic) -> str:
    """``file:line:col`` (the file alone when the span has no line)."""
    if diag.span.line < 1:
        return diag.span.file
    return f"{diag.span.file}:{diag.span.line}:{diag.span.column}"


def render_one(diag: Diagnostic, sources: dict[str, str]) -> str:
    """One diagnostic as text: location, severity and code, message, caret, help."""
    head = f"{location(diag)}: {diag.severity.value}[{diag.code}]: {diag.message}"
    out = [head, *_caret_block(diag, sources)]
    if diag.help:
        out.append(f"     = help: {diag.help}")
    return "\n".join(out)


def render_text(diags: list[Diagnostic], sources: dict[str, str]) -> str:
    """Diagnostics as text for people (``origin_rules.model.render`` has the other formats)."""
    return "\n\n".join(render_one(d, sources) for d in diags)
