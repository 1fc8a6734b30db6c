"""Completion: what may be written at the cursor.

In: a line of text up to the cursor, the rulebook's index and the agreement or scenario the
cursor is in. Out: :class:`Item` values (label, kind, detail, text to insert):

- after digits: the HS 2022 codes that start with them (dotted, with their descriptions);
- inside ``[...]``: ISO 3166-1 country codes with their names;
- after ``extends "``: the agreements and scenarios of the rulebook;
- elsewhere: the keywords of the grammar (read from ``grammar.lark``), the measures
  (``rvc(net_cost)``, ``rvc(build_down, fob)``, ``max_nom(ex_works)``, ``value(...)``...),
  the product figures, and the set names in scope.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..model import ast
from ..model.hs import HsCode, dotted, nomenclature
from ..syntax.build import FIGURES, PRICE_BASES, RVC_METHODS
from ..syntax.parser import grammar_text
from .index import Index

MAX_CODES = 200  # codes offered at once (the list is marked incomplete past that)

_WORD_BEFORE = re.compile(r"[A-Za-z0-9_.]*$")
_KEYWORD = re.compile(r'^[A-Z_]+(?:\.\d+)?:\s*(".*")\s*$', re.M)


@dataclass(frozen=True, slots=True)
class Item:
    label: str
    kind: str  # keyword | method | code | country | set | agreement | figure
    detail: str = ""
    insert: str | None = None
    filter: str | None = None


@lru_cache(maxsize=1)
def keywords() -> tuple[str, ...]:
    """Every keyword of the language, read from the grammar's terminals."""
    found: list[str] = []
    for m in _KEYWORD.finditer(grammar_text()):
        found += re.findall(r'"([A-Za-z_]+)"', m.group(1))
    return tuple(dict.fromkeys(found))


@lru_cache(maxsize=1)
def measures() -> tuple[Item, ...]:
    out = []
    for method in RVC_METHODS:
        if method == "focused_value":
            out.append(Item("rvc(focused_value, fob, HS-SET)", "method",
                            "RVC counting only the non-originating materials of the codes given",
                            "rvc(focused_value, fob, )", "rvc focused_value"))
            continue
        out.append(Item(f"rvc({method})", "method", f"regional value content, {method.replace('_', ' ')} method"))
        if method != "net_cost":
            for basis in PRICE_BASES:
                if basis != method:
                    out.append(Item(f"rvc({method}, {basis})", "method",
                                    f"regional value content, {method.replace('_', ' ')} method on {basis}"))
    for basis in PRICE_BASES:
        out.append(Item(f"max_nom({basis})", "method", f"value of non-originating materials as a share of {basis}"))
    out += [
        Item("value(non_originating)", "method", "the value of the materials the filter selects"),
        Item("weight(non_originating)", "method", "the weight of the materials the filter selects"),
        Item("value()", "method", "the value of all materials"),
        Item("fact()", "method", "a number the BOM declares about the good (percent points)", "fact(", "fact"),
    ]
    return tuple(out)


@lru_cache(maxsize=1)
def countries() -> tuple[Item, ...]:
    import pycountry

    return tuple(Item(c.alpha_2, "country", c.name) for c in sorted(pycountry.countries, key=lambda c: c.alpha_2))


def codes(prefix: str) -> tuple[list[Item], bool]:
    """HS 2022 codes whose digits start with those typed (dots ignored), coarser levels first;
    True when the list was cut short."""
    digits = prefix.replace(".", "")
    found = sorted((d for d in nomenclature().digits() if d.startswith(digits)), key=lambda d: (len(d), d))
    items = [Item(dotted(d), "code", _description(d), filter=dotted(d)) for d in found[:MAX_CODES]]
    return items, len(found) > MAX_CODES


def _description(digits: str) -> str:
    return nomenclature().description(HsCode(digits)) or ""


def complete(before: str, index: Index | None, block: str | None) -> tuple[list[Item], bool]:
    """Completions for a line up to the cursor (``before``); True when the list is cut short."""
    word = _WORD_BEFORE.search(before).group()
    if word[:1].isdigit():
        return codes(word)
    if re.search(r'extends\s+"[^"]*$', before):
        names = sorted(index.parsed.programs) if index is not None else []
        return [Item(n, "agreement", "agreement" if not index.parsed.programs[n].is_scenario else "scenario")
                for n in names], False
    if before.count("[") > before.count("]"):
        return list(countries()), False
    items = [Item(k, "keyword") for k in keywords()]
    items += measures()
    items += [Item(f, "figure", "a product figure (a base: `of " + f + "`)") for f in FIGURES]
    if index is not None:
        for name, decl in index.visible_sets(block).items():
            kind = "countries" if isinstance(decl.value, ast.WordList) else "HS codes"
            span = index.set_name_span(decl)
            items.append(Item(name, "set", f"set of {kind} ({span.file}:{span.line})"))
    return items, False
