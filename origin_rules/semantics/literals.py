"""Checks of single values: HS codes and ranges, country codes, percentages, material kinds.

In: AST literals (:class:`~origin_rules.model.ast.HsCodeLit`, ``HsRangeLit``, ``Word``, ``Percent``).
Out: diagnostics (ROO101 code not in HS 2022, ROO102 reversed range, ROO103 range mixing
levels, ROO104 unknown country, ROO105 percentage outside 0-100, ROO119 unknown material
kind), each saying what would be right: the codes that do exist under the same parent, the
alpha-2 code of a country written by name, the kinds the BOM knows.
"""

from __future__ import annotations

import difflib
from functools import lru_cache

from ..model import ast
from ..model.diagnostics import Diagnostic, error
from ..model.hs import HsCode, Level, nomenclature

#: Material kinds a BOM may declare (the same list as ``origin_rules.model.bom.KINDS``).
KINDS: tuple[str, ...] = ("direct", "indirect", "accessory", "retail_packaging", "shipping_packing")

#: Names people write for countries that ISO 3166-1 spells differently.
_COUNTRY_ALIASES: dict[str, str] = {
    "UK": "GB", "EL": "GR", "RUSSIA": "RU", "KOREA": "KR", "SOUTH_KOREA": "KR", "TURKEY": "TR",
    "USA": "US", "UNITED_STATES": "US", "UNITED_KINGDOM": "GB", "BRITAIN": "GB", "VIETNAM": "VN",
    "HOLLAND": "NL", "CZECHIA": "CZ", "IRAN": "IR", "SYRIA": "SY", "LAOS": "LA", "BOLIVIA": "BO",
    "VENEZUELA": "VE", "TANZANIA": "TZ", "MOLDOVA": "MD", "BRUNEI": "BN",
}
_GROUPINGS = ("EU", "EEA", "EFTA", "ASEAN", "MERCOSUR", "USMCA", "CPTPP", "RCEP")


@lru_cache(maxsize=1)
def _alpha2() -> frozenset[str]:
    import pycountry

    return frozenset(c.alpha_2 for c in pycountry.countries)


def is_country(code: str) -> bool:
    """Whether ``code`` is an ISO 3166-1 alpha-2 code, written in capitals."""
    return code in _alpha2()


def _country_lookup(text: str) -> str | None:
    """The alpha-2 code a person probably meant by ``text`` (a name, alpha-3, lowercase)."""
    upper = text.upper()
    if upper in _alpha2():
        return upper
    if upper in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[upper]
    import pycountry

    for query in (text, text.replace("_", " ")):
        try:
            return pycountry.countries.lookup(query).alpha_2
        except LookupError:
            continue
    return None


def country_help(text: str, set_names: list[str] | tuple[str, ...] = ()) -> str:
    """What to write instead of an unknown country code."""
    if text in set_names:
        return f"`{text}` is a set: write it without brackets, e.g. `origin in {text}`"
    if text == "parties":
        return "write `in parties` without brackets"
    if text.upper() in _GROUPINGS:
        return (
            f"`{text}` is a group of countries, not a country: list its members, or define "
            f"`set {text.lower()} = [...]` and use its name"
        )
    meant = _country_lookup(text)
    if meant is not None:
        return f"did you mean `{meant}`? countries are written as ISO 3166-1 alpha-2 codes in capitals"
    close = difflib.get_close_matches(text, list(set_names), n=1, cutoff=0.75)
    if close:
        return f"did you mean the set `{close[0]}`? write it without brackets: `in {close[0]}`"
    return "countries are written as ISO 3166-1 alpha-2 codes in capitals, e.g. `US`, `MX`, `CN`"


def check_country(word: ast.Word, set_names: tuple[str, ...] = ()) -> Diagnostic | None:
    if is_country(word.text):
        return None
    return error("ROO104", f"unknown country code `{word.text}`", word.span, country_help(word.text, set_names))


# ---- HS codes ----------------------------------------------------------------------------------


def _listing(codes: list[HsCode], limit: int = 10) -> str:
    shown = ", ".join(str(c) for c in codes[:limit])
    return shown + (", ..." if len(codes) > limit else "")


def _nearest(code: HsCode, options: list[HsCode]) -> HsCode | None:
    if not options:
        return None
    target = int(code.digits)
    return min(options, key=lambda c: (abs(int(c.digits) - target), c.digits))


def code_help(code: HsCode) -> str:
    """Say which codes exist next to a code that does not: siblings under the deepest parent."""
    nom = nomenclature()
    digits = code.digits[:6]
    probe = HsCode(digits)
    level = probe.level
    for parent_len in range(len(digits) - 2, 0, -2):
        parent = HsCode(digits[:parent_len])
        if nom.exists(parent):
            children = nom.children(parent)
            if parent_len == 2:
                listing = f"headings of chapter {parent} are {_listing(children)}"
            else:
                listing = f"subheadings of {parent} are {_listing(children)}"
            if parent_len == len(digits) - 2:
                near = _nearest(probe, children)
                if near is not None:
                    listing += f"; the nearest is `{near}`"
            return listing
    chapters = nom.codes(Level.CHAPTER)
    if level is Level.CHAPTER:
        return "chapters of HS 2022 are 01 to 97 (77 is reserved for future use) and 99"
    return f"chapter `{digits[:2]}` does not exist in HS 2022 (chapters are {chapters[0]} to 97 and 99)"


def check_code(lit: ast.HsCodeLit) -> Diagnostic | None:
    """ROO101 when the code is not in HS 2022 (a tariff item: when its subheading is not)."""
    code = lit.code
    nom = nomenclature()
    if nom.exists(code):
        return None
    if code.level is Level.TARIFF_ITEM:
        sub = code.at(Level.SUBHEADING)
        return error(
            "ROO101",
            f"`{code}` is not in HS 2022: its subheading `{sub}` does not exist",
            lit.span,
            code_help(sub),
        )
    return error("ROO101", f"`{code}` is not a {code.level.word} of HS 2022", lit.span, code_help(code))


def check_range(lit: ast.HsRangeLit) -> list[Diagnostic]:
    """The ends of a range exist, are of one level and are in order."""
    out = [d for d in (check_code(lit.low), check_code(lit.high)) if d is not None]
    low, high = lit.low.code, lit.high.code
    if len(low.digits) != len(high.digits):
        at = low.level if low.level <= high.level else high.level
        out.append(error(
            "ROO103",
            f"`{low}..{high}` runs from a {low.level.word} to a {high.level.word}",
            lit.span,
            f"write both ends at one level, e.g. `{low.at(at)}..{high.at(at)}`",
        ))
    elif low.digits > high.digits:
        out.append(error(
            "ROO102",
            f"`{low}..{high}` is reversed: it starts after it ends",
            lit.span,
            f"write the lower code first: `{high}..{low}`",
        ))
    return out


def check_percent(p: ast.Percent) -> Diagnostic | None:
    if 0 <= p.value <= 100:
        return None
    return error(
        "ROO105",
        f"`{p.value}%` is outside 0-100%",
        p.span,
        "a share of a value is between `0%` and `100%`",
    )


def check_kind(word: ast.Word) -> Diagnostic | None:
    if word.text in KINDS:
        return None
    close = difflib.get_close_matches(word.text, KINDS, n=1)
    help = f"did you mean `{close[0]}`?" if close else "material kinds are " + ", ".join(f"`{k}`" for k in KINDS)
    return error("ROO119", f"unknown material kind `{word.text}`", word.span, help)
