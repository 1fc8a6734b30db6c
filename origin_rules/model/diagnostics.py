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
        from .render import render_text

        return render_text(self.diagnostics, self.sources)
