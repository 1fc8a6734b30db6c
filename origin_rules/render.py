"""Render diagnostics for people and machines.

In: a list of :class:`~origin_rules.diagnostics.Diagnostic` and the source texts by file name.
Out: strings: text (``file:line:col``, the source line and a caret), JSON, GitHub Actions
workflow commands, or a SARIF 2.1.0 log.
"""

from __future__ import annotations

import json

from .diagnostics import Diagnostic, Severity

FORMATS = ("text", "json", "github", "sarif")


def _caret_block(diag: Diagnostic, sources: dict[str, str]) -> list[str]:
    text = sources.get(diag.span.file)
    if text is None or diag.span.line < 1:
        return []
    lines = text.splitlines()
    if diag.span.line > len(lines):
        return []
    src = lines[diag.span.line - 1].expandtabs(1)
    gutter = f"{diag.span.line:>4} | "
    start = max(diag.span.column, 1)
    if diag.span.end_line == diag.span.line and diag.span.end_column > start:
        width = diag.span.end_column - start
    else:
        width = max(1, len(src) - start + 1) if start <= len(src) else 1
    width = max(1, min(width, max(1, len(src) - start + 1)))
    return [gutter + src, " " * (len(gutter) + start - 1) + "^" * width]


def render_one(diag: Diagnostic, sources: dict[str, str]) -> str:
    head = f"{diag.span.file}:{diag.span.line}:{diag.span.column}: {diag.severity.value}[{diag.code}]: {diag.message}"
    out = [head, *_caret_block(diag, sources)]
    if diag.help:
        out.append(f"     = help: {diag.help}")
    return "\n".join(out)


def render_text(diags: list[Diagnostic], sources: dict[str, str]) -> str:
    return "\n\n".join(render_one(d, sources) for d in diags)


def summary_line(diags: list[Diagnostic]) -> str:
    errors = sum(d.severity is Severity.ERROR for d in diags)
    warnings = len(diags) - errors
    return f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}"


def render_json(diags: list[Diagnostic]) -> str:
    return json.dumps([d.to_dict() for d in diags], indent=2)


def _escape_github(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def render_github(diags: list[Diagnostic]) -> str:
    lines = []
    for d in diags:
        level = "error" if d.severity is Severity.ERROR else "warning"
        message = d.message + (f" (help: {d.help})" if d.help else "")
        props = f"file={d.span.file},line={d.span.line},col={d.span.column}"
        if d.span.end_line:
            props += f",endLine={d.span.end_line},endColumn={d.span.end_column}"
        lines.append(f"::{level} {props},title={d.code}::{_escape_github(message)}")
    return "\n".join(lines)


def render_sarif(diags: list[Diagnostic], version: str = "0.1.0") -> str:
    from . import diagnostic_codes

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
        if d.span.end_line:
            region["endLine"] = d.span.end_line
            region["endColumn"] = d.span.end_column
        results.append(
            {
                "ruleId": d.code,
                "level": "error" if d.severity is Severity.ERROR else "warning",
                "message": {"text": d.message + (f" (help: {d.help})" if d.help else "")},
                "locations": [
                    {"physicalLocation": {"artifactLocation": {"uri": d.span.file}, "region": region}}
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
