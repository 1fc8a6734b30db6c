"""HS codes, ranges and sets as values, and the shipped HS 2022 nomenclature.

In: code text such as ``87``, ``87.08``, ``8708.30``, ``8708.30.50`` (dots optional).
Out: :class:`HsCode` (digits plus level), :class:`HsRange` and :class:`HsSet` values that
answer ``covers(code)``, and :func:`nomenclature` to test whether a code exists in HS 2022.

Levels: chapter (2 digits), heading (4), subheading (6), tariff item (8 or 10, national).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache
from importlib import resources
from typing import Iterable


class Level(IntEnum):
    """The level of an HS code; the value is its number of digits."""

    CHAPTER = 2
    HEADING = 4
    SUBHEADING = 6
    TARIFF_ITEM = 8

    @property
    def word(self) -> str:
        return self.name.lower().replace("_", " ")

    @classmethod
    def of_digits(cls, n: int) -> "Level":
        return cls.TARIFF_ITEM if n >= 8 else cls(n)

    @classmethod
    def from_word(cls, word: str) -> "Level":
        return cls[word.upper().replace(" ", "_")]


_DOTTED = re.compile(r"^(\d{2}|\d{2}\.\d{2}|\d{4}\.\d{2}|\d{4}\.\d{2}\.\d{2}(\d{2})?)$")
_PLAIN = re.compile(r"^(\d{2}|\d{4}|\d{6}|\d{8}|\d{10})$")


def dotted(digits: str) -> str:
    """``870830`` -> ``8708.30``; ``8708`` -> ``87.08``; ``87083050`` -> ``8708.30.50``
    (remembered: the explanations name the same few codes again and again)."""
    text = _DOTTED_TEXT.get(digits)
    if text is None:
        n = len(digits)
        if n == 2:
            text = digits
        elif n == 4:
            text = f"{digits[:2]}.{digits[2:]}"
        else:
            text = f"{digits[:4]}.{digits[4:6]}" + (f".{digits[6:]}" if n > 6 else "")
        if len(_DOTTED_TEXT) >= 1 << 16:
            _DOTTED_TEXT.clear()
        _DOTTED_TEXT[digits] = text
    return text


_DOTTED_TEXT: dict[str, str] = {}


@dataclass(frozen=True, slots=True, order=True)
class HsCode:
    """One HS code: its digits without dots (2, 4, 6, 8 or 10 of them)."""

    digits: str

    @classmethod
    def parse(cls, text: str, *, strict_dots: bool = False) -> "HsCode":
        """Read a code; with ``strict_dots`` the dots must sit where the language puts them."""
        text = text.strip()
        if strict_dots:
            if not _DOTTED.match(text):
                raise ValueError(f"`{text}` is not an HS code written as 87, 87.08, 8708.30 or 8708.30.50")
            return cls(text.replace(".", ""))
        plain = text.replace(".", "")
        if not _PLAIN.match(plain) or (text != plain and not _DOTTED.match(text)):
            raise ValueError(f"`{text}` is not an HS code (2, 4, 6, 8 or 10 digits)")
        return cls(plain)

    @property
    def level(self) -> Level:
        return Level.of_digits(len(self.digits))

    def at(self, level: Level) -> "HsCode":
        """This code cut to a coarser level (``8708.30`` at heading is ``87.08``)."""
        return HsCode(self.digits[: int(level)])

    @property
    def span(self) -> tuple[str, str]:
        """The code as a span of digit strings: ``(low, high)``, both its digits."""
        return (self.digits, self.digits)

    def covers(self, code: "HsCode") -> bool:
        return covers_digits((self.span,), code.digits) is True

    def __str__(self) -> str:
        return dotted(self.digits)


@dataclass(frozen=True, slots=True)
class HsRange:
    """An inclusive range of codes of one level: ``61.01..61.17``."""

    low: HsCode
    high: HsCode

    @property
    def level(self) -> Level:
        return self.low.level

    @property
    def span(self) -> tuple[str, str]:
        """The range as a span of digit strings: ``(low, high)``."""
        return (self.low.digits, self.high.digits)

    def covers(self, code: HsCode) -> bool:
        return covers_digits((self.span,), code.digits) is True

    def __str__(self) -> str:
        return f"{self.low}..{self.high}"


HsItem = HsCode | HsRange


@dataclass(frozen=True, slots=True)
class HsSet:
    """A union of codes and ranges (names already resolved)."""

    items: tuple[HsItem, ...]

    def covers(self, code: HsCode) -> bool:
        return covers_digits((item.span for item in self.items), code.digits) is True

    def covers3(self, code: HsCode) -> bool | None:
        """Whether the set covers the code; None when the code is too coarse to tell."""
        return covers_digits((item.span for item in self.items), code.digits)

    def __str__(self) -> str:
        return ", ".join(str(i) for i in self.items)


def covers_digits(spans: Iterable[tuple[str, str]], digits: str) -> bool | None:
    """The one test of HS coverage (sets of the model, the engine, the diff's normal sets).

    ``spans`` are ``(low, high)`` digit strings of one length each (a code is ``low ==
    high``); ``digits`` is a code's digits. True when a span covers the code (its first
    ``len(low)`` digits lie in the span), None when the code is coarser than a span that
    overlaps it (``87`` against ``8708``: unknown without the finer code), else False."""
    unknown = False
    for low, high in spans:
        n = len(low)
        if len(digits) >= n:
            if low <= digits[:n] <= high:
                return True
        elif low[: len(digits)] <= digits <= high[: len(digits)]:
            unknown = True
    return None if unknown else False


#: The answers of :func:`covers3` so far, per set: ``id(set) -> (set, {digits: answer}, spans)``.
#: The entry holds the set, so its id is not reused while the entry lives; a set is a frozen
#: value, so an answer never changes. Bounded: the sets (a rulebook's few thousand; emptied when
#: there are more, as when many rulebooks are loaded in turn) and the codes per set (the first
#: ones seen are kept; later ones are worked out each time, from the spans kept).
_ANSWERS: dict[int, tuple[HsSet, dict[str, bool | None], tuple[tuple[str, str], ...]]] = {}
_MAX_SETS = 1 << 12
_MAX_CODES = 1 << 12
_UNSEEN = object()


def covers3(hs_set: HsSet, code: HsCode) -> bool | None:
    """Whether a set covers a code; unknown (None) when the code is too coarse to tell.

    The engine's test (rule coverage, tariff shift sources and exceptions, ``hs in`` filters),
    asked for the same few codes of a BOM again and again: remembered per set and code."""
    entry = _ANSWERS.get(id(hs_set))
    if entry is None or entry[0] is not hs_set:
        if len(_ANSWERS) >= _MAX_SETS:
            _ANSWERS.clear()
        entry = _ANSWERS[id(hs_set)] = (hs_set, {}, tuple(item.span for item in hs_set.items))
    answers = entry[1]
    digits = code.digits
    found = answers.get(digits, _UNSEEN)
    if found is _UNSEEN:
        found = covers_digits(entry[2], digits)
        if len(answers) < _MAX_CODES:
            answers[digits] = found
    return found  # type: ignore[return-value]


class Nomenclature:
    """The HS 2022 codes shipped in ``origin_rules/data/hs2022.tsv``."""

    def __init__(self, descriptions: dict[str, str]):
        self._descriptions = descriptions

    def exists(self, code: HsCode) -> bool:
        """A chapter, heading or subheading must be listed; a tariff item needs its subheading."""
        digits = code.digits if len(code.digits) <= 6 else code.digits[:6]
        return digits in self._descriptions

    def description(self, code: HsCode) -> str | None:
        return self._descriptions.get(code.digits[:6] if len(code.digits) > 6 else code.digits)

    def digits(self) -> list[str]:
        """Every listed code (chapters, headings, subheadings), as digits."""
        return list(self._descriptions)

    def codes(self, level: Level) -> list[HsCode]:
        return [HsCode(d) for d in self._descriptions if len(d) == int(level)]

    def children(self, code: HsCode) -> list[HsCode]:
        n = len(code.digits) + 2
        return [HsCode(d) for d in self._descriptions if len(d) == n and d.startswith(code.digits)]


@lru_cache(maxsize=1)
def nomenclature() -> Nomenclature:
    text = resources.files("origin_rules").joinpath("data/hs2022.tsv").read_text(encoding="utf-8")
    descriptions: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, _, desc = line.partition("\t")
            descriptions[code] = desc
    return Nomenclature(descriptions)
