"""Lark's parse errors -> diagnostics a person can act on.

In: a ``lark`` exception (unexpected token, character or end of input) and the source text.
Out: one :class:`~origin_rules.diagnostics.Diagnostic` saying, in words, what was found and
what was expected, with a hint for the common slips (a misspelt keyword, a missing ``}``).
"""

from __future__ import annotations

import difflib

from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ..ast import Span
from ..diagnostics import Diagnostic, error

#: How each terminal is named in messages (never ``__ANON_0`` or ``RBRACE``).
TERMINAL_WORDS: dict[str, str] = {
    "LBRACE": "`{`", "RBRACE": "`}`", "LPAR": "`(`", "RPAR": "`)`", "LSQB": "`[`", "RSQB": "`]`",
    "COMMA": "`,`", "DOTDOT": "`..`", "GE": "`>=`", "LE": "`<=`", "GT": "`>`", "LT": "`<`",
    "EQ": "`=`", "EQEQ": "`==`",
    "DATE": "a date (2026-07-01)", "PERCENT": "a percentage (60%)",
    "CODE": "an HS code (87.08) or a number", "STRING": "a quoted text (\"...\")",
    "NAME": "a name", "ALIAS": "`CC`, `CTH` or `CTSH`",
    "VALUE_OPEN": "`value(`", "WEIGHT_OPEN": "`weight(`", "TRACED_ARG": "`, traced`",
    "$END": "the end of the file",
}

KEYWORDS = (
    "agreement", "scenario", "extends", "parties", "effective", "hs_version", "cite", "set", "rule",
    "require", "from", "until", "for", "when", "except", "exclude", "de_minimis", "change", "any",
    "other", "chapter", "heading", "subheading", "tariff", "item", "and", "or", "not", "in", "of",
    "rvc", "max_nom", "value", "weight", "performed", "wholly_obtained", "originating",
    "non_originating", "origin", "hs", "kind", "traced",
)

_CLOSERS = {"RBRACE": "}", "RPAR": ")", "RSQB": "]"}


def describe(terminal: str) -> str:
    if terminal in TERMINAL_WORDS:
        return TERMINAL_WORDS[terminal]
    return f"`{terminal.lower()}`"


def _expected_words(expected: set[str]) -> str:
    words = sorted({describe(t) for t in expected if t not in ("COMMENT", "WS")})
    if len(words) > 8:
        keywords = [w for w in words if w.startswith("`") and w[1:-1].isalpha()]
        others = [w for w in words if w not in keywords]
        words = others[:5] + ([f"a keyword such as {', '.join(keywords[:4])}"] if keywords else [])
    if not words:
        return "nothing more"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _keyword_hint(word: str, expected: set[str]) -> str | None:
    candidates = [t.lower() for t in expected if t.lower() in KEYWORDS]
    close = difflib.get_close_matches(word, candidates or list(KEYWORDS), n=1, cutoff=0.6)
    if close:
        return f"did you mean `{close[0]}`?"
    return None


def _span_of(file: str, exc: UnexpectedInput, text: str) -> Span:
    line = getattr(exc, "line", 1) or 1
    col = getattr(exc, "column", 1) or 1
    token = getattr(exc, "token", None)
    width = len(str(token)) if token is not None and str(token) else 1
    if line < 0:  # end of input
        lines = text.splitlines() or [""]
        line, col = len(lines), len(lines[-1]) + 1
    return Span(file, line, col, line, col + width)


def convert(exc: UnexpectedInput, file: str, text: str, open_braces: int) -> Diagnostic:
    span = _span_of(file, exc, text)
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        expected = set(getattr(exc, "expected", ()) or ())
        help = None
        if "RBRACE" in expected or open_braces > 0:
            help = "a block was opened with `{` and never closed: add the missing `}`"
        return error("ROO002", f"the file ends too early: expected {_expected_words(expected)}", span, help)
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        expected = set(exc.expected)
        found = describe(tok.type) if tok.type not in ("NAME",) else f"`{tok}`"
        if tok.type not in ("NAME", "CODE", "STRING", "PERCENT", "DATE"):
            found = f"`{tok}`"
        message = f"unexpected {found}: expected {_expected_words(expected)}"
        help = None
        if tok.type == "NAME":
            help = _keyword_hint(str(tok), expected)
        elif tok.type == "CODE" and "PERCENT" in expected:
            help = f"a percentage needs a `%` sign: `{tok}%`"
        elif tok.type in ("RULE", "REQUIRE", "AGREEMENT", "SCENARIO", "SET") and "RBRACE" in expected:
            help = "is a `}` missing before this line?"
        elif tok.type == "EQ" and ({"GE", "LE"} & expected):
            help = "write `>=` for \"not less than\" or `<=` for \"does not exceed\""
        elif tok.type in _CLOSERS and tok.type not in expected:
            help = f"this `{_CLOSERS[tok.type]}` has no matching opening bracket, or something is missing before it"
        return error("ROO001", message, span, help)
    if isinstance(exc, UnexpectedCharacters):
        char = text[exc.pos_in_stream] if 0 <= exc.pos_in_stream < len(text) else "?"
        help = None
        if char == '"':
            help = "a quoted text must end with `\"` on the same line"
        elif char == "%":
            help = "a percentage is a number followed by `%`, e.g. `60%`"
        allowed = set(exc.allowed or ())
        return error(
            "ROO003",
            f"unexpected character `{char}`" + (f": expected {_expected_words(allowed)}" if allowed else ""),
            Span(file, exc.line, exc.column, exc.line, exc.column + 1),
            help,
        )
    return error("ROO001", str(exc).splitlines()[0], span)
