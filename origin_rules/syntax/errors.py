"""Lark's parse errors -> diagnostics a person can act on.

In: a ``lark`` exception (unexpected token, character or end of input) and the source text.
Out: one :class:`~origin_rules.model.diagnostics.Diagnostic` saying, in words, what was found and
what was expected (never a terminal's internal name), with a hint for the common slips: a
misspelt keyword (the nearest one), a missing ``}`` (pointing at the ``{`` left open), a
missing comma, ``=>`` for ``>=``, a range written with ``-``, a name that needs quotes...

What was expected is what the parser would really accept at that point (Lark's interactive
parser), grouped into words: "a criterion", "a declaration", "a material filter".
"""

from __future__ import annotations

import bisect
import difflib
import re

from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ..model.ast import Span
from ..model.diagnostics import Diagnostic, error

#: How each terminal is named in messages (never ``__ANON_0`` or ``RBRACE``).
TERMINAL_WORDS: dict[str, str] = {
    "LBRACE": "`{`", "RBRACE": "`}`", "LPAR": "`(`", "RPAR": "`)`", "LSQB": "`[`", "RSQB": "`]`",
    "COMMA": "`,`", "DOTDOT": "`..`", "GE": "`>=`", "LE": "`<=`", "GT": "`>`", "LT": "`<`",
    "EQ": "`=`", "EQEQ": "`==`",
    "DATE": "a date (2026-07-01)", "PERCENT": "a percentage (60%)",
    "CODE": "an HS code (87.08)", "STRING": "a quoted text (\"...\")",
    "NAME": "a name", "ALIAS": "`CC`, `CTH` or `CTSH`", "TARIFF": "`tariff item`",
    "VALUE_OPEN": "`value(`", "WEIGHT_OPEN": "`weight(`", "WEIGHT_OF": "`weight(`", "FACT_OPEN": "`fact(`",
    "TRACED_ARG": "`, traced`",
    "$END": "the end of the file",
}

KEYWORDS = (
    "agreement", "scenario", "extends", "parties", "effective", "hs_version", "cite", "set", "rule",
    "require", "fallback", "deemed", "from", "until", "for", "when", "where", "same", "except", "exclude", "de_minimis", "change", "any",
    "other", "chapter", "heading", "subheading", "tariff", "item", "and", "or", "not", "in", "of",
    "rvc", "max_nom", "value", "weight", "performed", "wholly_obtained", "originating",
    "non_originating", "origin", "hs", "kind", "traced", "CC", "CTH", "CTSH", "more", "than", "one", "which",
)

_CRITERION = {"CHANGE", "ALIAS", "RVC", "MAX_NOM", "VALUE_OPEN", "WEIGHT_OPEN", "FACT_OPEN", "PERFORMED",
              "WHOLLY_OBTAINED"}
_FILTER = {"ORIGINATING", "NON_ORIGINATING", "ORIGIN", "HS", "KIND", "SAME"}
_MEMBER = {"PARTIES", "EFFECTIVE", "HS_VERSION", "CITE", "DE_MINIMIS", "SET", "RULE", "REQUIRE", "FALLBACK", "DEEMED"}
_TOP = {"AGREEMENT", "SCENARIO", "SET"}
_COMPARATORS = {"GE", "LE", "GT", "LT", "EQ", "EQEQ"}
_LEVELS = {"CHAPTER", "HEADING", "SUBHEADING", "TARIFF"}

#: Groups of terminals said in a few words; (terminals that mark the group, all of its terminals, words).
_GROUPS: tuple[tuple[set[str], set[str], str], ...] = (
    ({"CHANGE", "RVC"}, _CRITERION | {"NOT", "LPAR"},
     "a criterion (`change from ...`, `rvc(...) >= 60%`, `value(...) <= 10% of ...`, ...)"),
    ({"ORIGINATING", "ORIGIN"}, _FILTER | {"NOT", "LPAR"},
     "a material filter (`originating`, `non_originating`, `origin in [...]`, `hs in ...`, `kind in [...]`)"),
    ({"RULE", "PARTIES"}, _MEMBER,
     "a declaration (`parties`, `effective`, `rule`, `require`, `set`, `de_minimis`, `cite`, ...)"),
    ({"GE", "LE"}, _COMPARATORS, "a comparison (`>=`, `<=`, `>` or `<`)"),
)

#: Order of what is listed: words about content first, closing brackets and the end last.
_LAST = ("COMMA", "RPAR", "RSQB", "RBRACE", "$END")

_OPENERS = {"{": "}", "(": ")", "[": "]"}
_CLOSERS = {"}": "{", ")": "(", "]": "["}
_CLOSER_TYPES = {"RBRACE": "}", "RPAR": ")", "RSQB": "]"}
_LAST_TOKEN = re.compile(r'("(?:[^"\\\n]|\\.)*"|[A-Za-z_][A-Za-z0-9_]*|\d[\d.%-]*|\.\.|[^\s])\s*$')

_BLOCK_KEYWORD = re.compile(r"\b(agreement|scenario|rule|require|fallback|deemed)\b")

_CHAR_HINTS = {
    "'": "quoted texts use double quotes: `\"...\"`",
    ";": "lines need no `;` at the end: remove it",
    "≥": "write `>=`",
    "≤": "write `<=`",
    "–": "write ranges with two dots: `61.01..61.17`",
    "—": "write ranges with two dots: `61.01..61.17`",
    "“": "use straight double quotes `\"`",
    "”": "use straight double quotes `\"`",
    "‘": "use straight double quotes `\"`",
    "’": "use straight double quotes `\"`",
    "&": "write `and`",
    "|": "write `or`",
    "!": "write `not`",
    "/": "write dates as YYYY-MM-DD, e.g. `2026-07-01`",
}


def describe(terminal: str) -> str:
    if terminal in TERMINAL_WORDS:
        return TERMINAL_WORDS[terminal]
    return f"`{terminal.lower()}`"


def expected_words(expected: set[str]) -> str:
    """Say in words what the parser would accept: ``a criterion (...), `cite` or `}```."""
    rest = {t for t in expected if t not in ("COMMENT", "WS")}
    if "GE" in rest:
        rest -= {"EQ", "EQEQ"}  # accepted only to explain them
    if "PERCENT" in rest:
        rest.discard("CODE")  # idem: `60` for `60%`
    if "ITEM" in rest and "TARIFF" not in rest:
        rest = (rest - {"ITEM"}) | {"ITEM_ALONE"}
    parts: list[str] = []
    for marks, members, words in _GROUPS:
        if marks <= rest:
            parts.append(words)
            rest -= members
    first = sorted((t for t in rest if t not in _LAST), key=lambda t: (not t.isalpha() or t in TERMINAL_WORDS, t))
    last = [t for t in _LAST if t in rest]
    parts += [("`item`" if t == "ITEM_ALONE" else describe(t)) for t in first + last]
    if not parts:
        return "nothing more"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


class _Source:
    """Offsets, lines and the brackets left open in the text before a position."""

    def __init__(self, file: str, text: str):
        self.file = file
        self.text = text
        self.starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1

    def offset(self, line: int, column: int) -> int:
        if line < 1 or line > len(self.starts):
            return len(self.text)
        return min(self.starts[line - 1] + column - 1, len(self.text))

    def span(self, start: int, end: int) -> Span:
        line, col = self.position(start)
        end_line, end_col = self.position(max(end, start + 1))
        return Span(self.file, line, col, end_line, end_col)

    def line_text(self, line: int) -> str:
        start = self.starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end < 0 else self.text[start:end]

    def indent(self, offset: int) -> int:
        line, _ = self.position(offset)
        text = self.line_text(line)
        return len(text) - len(text.lstrip())

    def first_on_line(self, offset: int) -> bool:
        line, _ = self.position(offset)
        return not self.text[self.starts[line - 1]:offset].strip()

    def brackets(self, upto: int) -> tuple[list[tuple[str, int]], list[tuple[int, int]], int | None]:
        """Scan ``text[:upto]``: the brackets still open (innermost last), the ``{``/``}`` pairs,
        and the offset of a closing bracket that closes nothing (if any)."""
        stack: list[tuple[str, int]] = []
        pairs: list[tuple[int, int]] = []
        text, i = self.text, 0
        while i < upto:
            ch = text[i]
            if ch == '"':
                j = i + 1
                while j < len(text) and text[j] not in '"\n':
                    j += 2 if text[j] == "\\" else 1
                i = j + 1
                continue
            if ch == "#":
                nl = text.find("\n", i)
                i = len(text) if nl < 0 else nl
                continue
            if ch in _OPENERS:
                stack.append((ch, i))
            elif ch in _CLOSERS:
                if not stack or stack[-1][0] != _CLOSERS[ch]:
                    if not any(b == _CLOSERS[ch] for b, _ in stack):
                        return stack, pairs, i
                    while stack and stack[-1][0] != _CLOSERS[ch]:
                        stack.pop()
                opener = stack.pop()
                if ch == "}":
                    pairs.append((opener[1], i))
            i += 1
        return stack, pairs, None

    def unclosed_brace(self, upto: int) -> int | None:
        """The ``{`` most likely missing its ``}`` before ``upto``: the innermost one still open,
        unless indentation shows that a ``}`` closed the wrong block (then that block's ``{``)."""
        stack, pairs, _ = self.brackets(upto)
        braces = [pos for ch, pos in stack if ch == "{"]
        if not braces:
            return None
        outer = braces[-1]
        for open_pos, close_pos in pairs:
            if open_pos > outer and self.first_on_line(close_pos) and self.indent(close_pos) < self.indent(open_pos):
                return open_pos
        return outer

    def header(self, offset: int) -> str:
        """The text of a block's first line up to its ``{``: ``rule 87.03 "Brakes"``."""
        line, col = self.position(offset)
        prefix = self.line_text(line)[: col - 1]
        starts = [m.start() for m in _BLOCK_KEYWORD.finditer(prefix)]
        text = (prefix[starts[-1]:] if starts else re.split(r"[{}]", prefix)[-1]).strip()
        return text if len(text) <= 60 else text[:57] + "..."

    def previous(self, offset: int) -> str:
        """The token just before ``offset`` (roughly: enough for hints)."""
        window = self.text[max(0, offset - 120):offset].rstrip()
        m = _LAST_TOKEN.search(window)
        return m.group(1) if m else ""


def _accepts(exc: UnexpectedInput) -> set[str]:
    try:
        parser = getattr(exc, "interactive_parser", None)
        if parser is not None:
            return set(parser.accepts())
    except Exception:  # noqa: BLE001 - a better list is a nicety, never a reason to fail
        pass
    return set(getattr(exc, "expected", None) or getattr(exc, "allowed", None) or ())


def _found(tok) -> str:
    if tok.type == "$END":
        return "the end of the file"
    if tok.type == "STRING":
        return f"the text {tok}" if len(str(tok)) <= 30 else "a quoted text"
    return f"`{tok}`"


def convert(exc: UnexpectedInput, file: str, text: str, open_braces: int = 0) -> Diagnostic:
    """The diagnostic for a parse error (``open_braces`` is unused; kept for callers)."""
    src = _Source(file, text)
    expected = _accepts(exc)
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        return _end_of_file(src, expected)
    if isinstance(exc, UnexpectedToken):
        return _unexpected_token(src, exc.token, expected)
    if isinstance(exc, UnexpectedCharacters):
        return _unexpected_character(src, exc, expected)
    line = getattr(exc, "line", 1) or 1
    column = getattr(exc, "column", 1) or 1
    return error("ROO001", "the file cannot be read as rules here", Span(file, line, column, line, column + 1))


def _unclosed(src: _Source, upto: int, before: str) -> Diagnostic | None:
    """ROO004 at the bracket left open before ``upto``, if there is one."""
    stack, _, _ = src.brackets(upto)
    if not stack:
        return None
    ch, pos = stack[-1]
    if ch == "{":
        pos = src.unclosed_brace(upto) or pos
        header = src.header(pos)
        what = f"the block of `{header}`" if header else "this block"
        line, _ = src.position(pos)
        return error(
            "ROO004",
            f"this `{{` is never closed: expected `}}` before {before}",
            src.span(pos, pos + 1),
            f"add `}}` to end {what} (opened on line {line})",
        )
    return error(
        "ROO004",
        f"this `{ch}` is never closed: expected `{_OPENERS[ch]}` before {before}",
        src.span(pos, pos + 1),
        f"add `{_OPENERS[ch]}`",
    )


def _end_of_file(src: _Source, expected: set[str]) -> Diagnostic:
    end = len(src.text)
    unclosed = _unclosed(src, end, "the end of the file")
    if unclosed is not None:
        return unclosed
    stripped = src.text.rstrip()
    start = max(len(stripped) - 1, 0)
    span = src.span(start, start + 1) if stripped else Span(src.file, 1, 1, 1, 2)
    return error("ROO002", f"the file ends too early: expected {expected_words(expected)}", span,
                 "the last declaration is not finished")


def _unexpected_token(src: _Source, tok, expected: set[str]) -> Diagnostic:
    start = tok.start_pos if tok.start_pos is not None else src.offset(tok.line, tok.column)
    span = src.span(start, start + max(len(str(tok)), 1))
    word = str(tok)
    found = _found(tok)
    # a block left open: the next declaration arrives where a `}` could close it
    if tok.type in _MEMBER | _TOP and "RBRACE" in expected:
        unclosed = _unclosed(src, start, f"`{word}` on line {tok.line}")
        if unclosed is not None:
            return unclosed
    message = f"unexpected {found}: expected {expected_words(expected)}"
    help = _token_hint(src, tok, start, expected)
    if tok.type in _CLOSER_TYPES and tok.type not in expected:
        _, _, stray = src.brackets(start + 1)
        if stray == start:
            message = f"this `{word}` closes nothing"
            help = f"remove it, or add the missing `{_CLOSERS[word]}` before it"
        elif help is None:
            help = "something is missing before it"
    return error("ROO001", message, span, help)


def _keyword_hint(word: str, expected: set[str]) -> str | None:
    accepted = {t: ("CC", "CTH", "CTSH") if t == "ALIAS" else (t.lower(),) for t in expected if t.isalpha() or "_" in t}
    words = [w for ws in accepted.values() for w in ws if w in KEYWORDS]
    for w in words:
        if w.lower() == word.lower():
            return f"keywords are written exactly: `{w}`"
    close = difflib.get_close_matches(word, words, n=1, cutoff=0.6)
    if close:
        return f"did you mean `{close[0]}`?"
    return None


def _token_hint(src: _Source, tok, start: int, expected: set[str]) -> str | None:
    word = str(tok)
    prev = src.previous(start)
    if expected == {"EQ"}:
        return f"write `{prev} = ...`"
    if expected == {"EXTENDS"}:
        return 'a scenario names the agreement or scenario it edits: `scenario "..." extends "USMCA" {`'
    if tok.type in _MEMBER - _TOP and "AGREEMENT" in expected:
        return f"`{word}` belongs inside an agreement or scenario: did a `}}` end the block too early?"
    if tok.type in ("AND", "OR") and prev == word:
        return f"`{word}` is written twice"
    if tok.type in ("GT", "LT") and prev == "=":
        return f"write `{word}=` (the `=` comes second)"
    if tok.type == "NAME" or tok.type in _MEMBER | _CRITERION | _FILTER | _TOP | _LEVELS:
        if word.lower() in ("percent", "pct", "percentage") and re.fullmatch(r"\d+(\.\d+)?", prev):
            return f"write `{prev}%`"
        if tok.type == "NAME":
            hint = _keyword_hint(word, expected)
            if hint:
                return hint
        if "STRING" in expected and tok.type == "NAME":
            phrase = re.match(r"[\w' ,;-]*", src.text[start:start + 80]).group().strip(" ,;")
            return f'names and titles are quoted: `"{phrase or word}"`'
        if "COMMA" in expected and re.fullmatch(r"[A-Za-z_]\w*|\d[\d.]*", prev or ""):
            return "is a `,` missing between the items of a list?"
        if "LSQB" in expected:
            return f"write lists in brackets: `[{word}, ...]`"
        return None
    if tok.type == "STRING" and "NAME" in expected and "STRING" not in expected:
        return f"names of sets are written without quotes: `{word[1:-1]}`"
    if tok.type == "LBRACE" and "STRING" in expected:
        return 'give it a name in double quotes, e.g. `agreement "USMCA" {`'
    if tok.type == "LBRACE" and "CODE" in expected and "NAME" in expected:
        return "a rule starts with the HS codes it covers: `rule 87.03 { ... }`"
    if tok.type in ("CODE", "PERCENT") and "DATE" in expected:
        return "write dates as YYYY-MM-DD, e.g. `2026-07-01`"
    if "DATE" in expected:
        return f"write a date after `{prev}`, e.g. `{prev} 2026-07-01`" if prev in ("from", "until") else None
    if tok.type == "CODE" and "COMMA" in expected:
        return "is a `,` missing between the HS codes?"
    if tok.type == "CODE" and "PERCENT" in expected:
        return f"a percentage needs a `%` sign: `{word}%`"
    if tok.type == "EQ" and expected & {"GE", "LE"}:
        return "write `>=` for \"not less than\" or `<=` for \"does not exceed\""
    if "RPAR" in expected and tok.type not in _CLOSER_TYPES:
        return "is a `)` missing?"
    if tok.type == "RSQB" and prev == ",":
        return "remove the `,` before `]`"
    return None


def _unexpected_character(src: _Source, exc: UnexpectedCharacters, expected: set[str]) -> Diagnostic:
    pos = exc.pos_in_stream if 0 <= exc.pos_in_stream < len(src.text) else len(src.text) - 1
    char = src.text[pos] if src.text else "?"
    prev = src.previous(pos)
    span = src.span(pos, pos + 1)
    help = _CHAR_HINTS.get(char)
    if char == '"':
        help = "a quoted text must end with `\"` on the same line"
    elif char == "%":
        help = f"write the number and `%` together: `{prev}%`" if re.fullmatch(r"\d+(\.\d+)?", prev) \
            else "a percentage is a number followed by `%`, e.g. `60%`"
    elif char == "." and prev.endswith(".."):
        help = "a range has two dots: `61.01..61.17`"
    elif char == "-" and re.fullmatch(r"\d[\d.]*", prev):
        after = re.match(r"\d[\d.]*", src.text[pos + 1:pos + 20])
        help = "write dates as YYYY-MM-DD, e.g. `2026-07-01`" if "DATE" in expected \
            else f"write ranges with two dots: `{prev}..{after.group() if after else ''}`"
    elif char == ":" and "EQ" in expected:
        help = "write `=`, e.g. `parties = [US, MX, CA]`"
    elif char == "=" and prev == "!":
        help = "write `not` before the condition"
    message = f"unexpected character `{char}`"
    if expected:
        message += f": expected {expected_words(expected)}"
    return error("ROO003", message, span, help)
