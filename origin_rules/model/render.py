"""Render diagnostics for people and machines.

In: a list of :class:`~origin_rules.model.diagnostics.Diagnostic` and the source texts by file name.
Out: strings: text (``file:line:col``, the source line and a caret), JSON, GitHub Actions
workflow commands, or a SARIF 2.1.0 log.
"""

from __future__ import annotations

import json
from pathlib import PurePath
from urllib.parse import quote

from . import diagnostic_codes
from .diagnostics import Diagnostic, Severity, render_one, render_text  # noqa: F401 (the text form lives with the type)

FORMATS = ("text", "json", "github", "sarif")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def summary_line(diags: list[Diagnostic], files: int | None = None) -> str:
    """``2 errors, 1 warning`` (``... in 3 files`` when the number of files is given)."""
    errors = sum(d.severity is Severity.ERROR for d in diags)
    warnings = len(diags) - errors
    line = f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}"
    return line if files is None else f"{line} in {_plural(files, 'file')}"


def render_json(diags: list[Diagnostic]) -> str:
    """The diagnostics as a JSON array."""
    return json.dumps([d.to_dict() for d in diags], indent=2)


def render_json_report(diags: list[Diagnostic], files: int, shown: list[Diagnostic] | None = None) -> str:
    """A JSON object: counts (of all diagnostics) and the diagnostics shown."""
    errors = sum(d.severity is Severity.ERROR for d in diags)
    report = {
        "files": files,
        "errors": errors,
        "warnings": len(diags) - errors,
        "diagnostics": [d.to_dict() for d in (diags if shown is None else shown)],
    }
    return json.dumps(report, indent=2)


def _escape_github(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_github(text).replace(":", "%3A").replace(",", "%2C")


def render_github(diags: list[Diagnostic]) -> str:
    """GitHub Actions workflow commands (``::error file=...::message``), one per line."""
    lines = []
    for d in diags:
        level = "error" if d.severity is Severity.ERROR else "warning"
        message = d.message + (f" (help: {d.help})" if d.help else "")
        props = f"file={_escape_property(d.span.file)}"
        if d.span.line >= 1:
            props += f",line={d.span.line},col={d.span.column}"
        if d.span.end_line >= 1:
            props += f",endLine={d.span.end_line},endColumn={d.span.end_column}"
        lines.append(f"::{level} {props},title={d.code}::{_escape_github(message)}")
    return "\n".join(lines)


def render_sarif(diags: list[Diagnostic], version: str = "0.1.0") -> str:
    codes = sorted({d.code for d in diags})
    rules = [
        {
            "id": code,
            "shortDescription": {"text": diagnostic_codes.TITLES.get(code, code)},
            "helpUri": f"https://origin-rules.readthedocs.io/errors/#{code.lower()}",
        }
        for code in codes
    ]
    results = []
    for d in diags:
        region = {"startLine": max(d.span.line, 1), "startColumn": max(d.span.column, 1)}
        if d.span.end_line >= 1:
            region["endLine"] = d.span.end_line
            region["endColumn"] = d.span.end_column
        results.append(
            {
                "ruleId": d.code,
                "level": "error" if d.severity is Severity.ERROR else "warning",
                "message": {"text": d.message + (f" (help: {d.help})" if d.help else "")},
                "locations": [
                    {"physicalLocation": {"artifactLocation": {"uri": sarif_uri(d.span.file)}, "region": region}}
                ],
            }
        )
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "origin-rules", "version": version, "rules": rules}},
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2)


def sarif_uri(file: str) -> str:
    """A file's path as SARIF's ``artifactLocation.uri``, a URI reference (RFC 3986): a
    relative path percent-encoded (`sp ace/ü%2C.roo` -> `sp%20ace/%C3%BC%252C.roo`), an
    absolute one a ``file:`` URI; a raw path with a space, a `%` or a non-ASCII letter named
    another file or none."""
    path = PurePath(file)
    if path.is_absolute():
        return path.as_uri()
    return quote(path.as_posix(), safe="/")
