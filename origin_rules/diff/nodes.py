"""Normal nodes: the canonical values two rulebooks are compared by, and their text.

In: built by :mod:`origin_rules.diff.normal` from the AST of a resolved program. Out: frozen
values that compare by meaning: :class:`NSet` (an HS set as sorted, merged digit ranges),
``NAll``/``NAny`` (sorted operands), ``NNot``, ``NChange`` (tariff shift), ``NCompare`` over
``NRvc``/``NMaxNom``/``NSum`` and a base, material filters, conditions on the good,
``NPerformed``, ``NWhollyObtained``. :func:`text` prints any of them in the rule language
(sets resolved, so names never appear); :func:`walk` visits a node and everything under it;
:func:`key` orders them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Context, Decimal, Inexact, InvalidOperation

from ..formatting.printer import percent, quote, word_list
from ..model.hs import HsCode, HsRange, HsSet, Level, covers_digits, dotted

# ---- values ------------------------------------------------------------------------------------

Item = tuple[str, str]  # (low digits, high digits), both of one length


@dataclass(frozen=True, slots=True)
class NSet:
    """A canonical HS set: sorted, merged ranges of digit strings (``low == high`` for a code)."""

    items: tuple[Item, ...]

    def covers(self, digits: str) -> bool:
        return covers_digits(self.items, digits) is True

    def __str__(self) -> str:
        return ", ".join(item_text(i) for i in self.items)


def item_text(item: Item) -> str:
    """``61.01..61.17``; a range of two neighbours prints as both (``84, 85``)."""
    lo, hi = item
    if lo == hi:
        return dotted(lo)
    if int(hi) == int(lo) + 1:
        return f"{dotted(lo)}, {dotted(hi)}"
    return f"{dotted(lo)}..{dotted(hi)}"


def nset(hs: HsSet) -> NSet:
    """Merge, sort and prune a resolved HS set; exact for ``covers`` and ``covers3``."""
    by_len: dict[int, list[tuple[int, int]]] = {}
    for item in hs.items:
        lo, hi = (item.digits, item.digits) if isinstance(item, HsCode) else (item.low.digits, item.high.digits)
        if len(lo) != len(hi) or hi < lo:
            continue
        by_len.setdefault(len(lo), []).append((int(lo), int(hi)))
    merged: dict[int, list[tuple[int, int]]] = {}
    for n, spans in by_len.items():
        spans.sort()
        out: list[list[int]] = []
        for lo, hi in spans:
            if out and lo <= out[-1][1] + 1:
                out[-1][1] = max(out[-1][1], hi)
            else:
                out.append([lo, hi])
        merged[n] = [(a, b) for a, b in out]
    items: list[Item] = []
    for n, spans in merged.items():
        for lo, hi in spans:
            slo, shi = str(lo).zfill(n), str(hi).zfill(n)
            if not _inside_coarser(slo, shi, n, merged):
                items.append((slo, shi))
    items.sort(key=lambda i: (i[0], len(i[0])))
    return NSet(tuple(items))


def _inside_coarser(lo: str, hi: str, n: int, merged: dict[int, list[tuple[int, int]]]) -> bool:
    for m, spans in merged.items():
        if m >= n:
            continue
        a, b = int(lo[:m]), int(hi[:m])
        if any(low <= a and b <= high for low, high in spans):
            return True
    return False


def nset_of(codes: str) -> NSet:
    """``"72, 73.01..73.26"`` -> NSet (for tests and callers without a program)."""
    items: list = []
    for part in codes.split(","):
        part = part.strip()
        if ".." in part:
            lo, hi = part.split("..")
            items.append(HsRange(HsCode.parse(lo), HsCode.parse(hi)))
        elif part:
            items.append(HsCode.parse(part))
    return nset(HsSet(tuple(items)))


#: Arithmetic on the rules' numbers (at most 81 digits each, ROO022) and amounts near them,
#: without rounding: the default context keeps 28 digits and rounds the rest away (a
#: threshold of 60.000000000000000000000000001% was 60%, and the diff said "identical").
EXACT = Context(prec=200, traps=[Inexact, InvalidOperation])


def share(value: Decimal) -> Decimal:
    """A percentage as a canonical exact decimal (``60.0`` and ``60`` are one value)."""
    normal = value.normalize(EXACT)
    return normal.quantize(Decimal(1), context=EXACT) if normal == normal.to_integral_value() else normal


# ---- nodes ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NAll:
    """``and`` of operands (a body's lines too); operands sorted, never an ``NAll`` themselves."""

    ops: tuple


@dataclass(frozen=True, slots=True)
class NAny:
    """``or`` of operands, sorted, never an ``NAny`` themselves."""

    ops: tuple


@dataclass(frozen=True, slots=True)
class NNot:
    op: object


@dataclass(frozen=True, slots=True)
class NChange:
    """A tariff shift: ``levels`` of ``any other ...`` (digits: 2, 4, 6, 8), explicit sources."""

    levels: tuple[int, ...]
    sources: NSet
    except_: NSet | None
    where: tuple = ()  # (NSet, fact, words): sources that admit only materials declaring the fact
    groups: tuple = ()  # NSets of `except more than one of`, in a canonical order


@dataclass(frozen=True, slots=True)
class NRvc:
    method: str
    basis: str
    focus: NSet | None


@dataclass(frozen=True, slots=True)
class NMaxNom:
    basis: str


@dataclass(frozen=True, slots=True)
class NSum:
    """``value(FILTER)`` or ``weight(FILTER)``; ``filter`` None: all materials; ``part``
    ``polymer``: ``weight(polymer of FILTER)``, the materials' polymer content."""

    measure: str
    filter: object | None
    traced: bool
    part: str | None = None


@dataclass(frozen=True, slots=True)
class NFact:
    """``fact(NAME)``: a number the good declares."""

    name: str


@dataclass(frozen=True, slots=True)
class NFigure:
    name: str


@dataclass(frozen=True, slots=True)
class NCompare:
    measure: NRvc | NMaxNom | NSum | NFact
    op: str
    share: Decimal
    base: NFigure | NSum | None


@dataclass(frozen=True, slots=True)
class NOriginating:
    negated: bool


@dataclass(frozen=True, slots=True)
class NOriginIn:
    countries: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NHsIn:
    hs: NSet


@dataclass(frozen=True, slots=True)
class NKindIn:
    kinds: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NSame:
    digits: int


@dataclass(frozen=True, slots=True)
class NFactIn:
    fact: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NPerformed:
    process: str
    where: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NWhollyObtained:
    pass


def key(node: object) -> str:
    """A total order on normal nodes (their canonical text; ties broken by repr)."""
    return text(node) + "\x00" + repr(node)


# ---- printing normal nodes in the rule language ----------------------------------------------------------

RVC_DEFAULT = {"transaction_value": "transaction_value", "net_cost": "net_cost"}


pct = percent  # the formatter's literals: one printer of the language
words = word_list


def level_words(levels: tuple[int, ...]) -> list[str]:
    return [f"any other {Level.of_digits(n).word}" for n in levels]


def text(n) -> str:
    """A normal node in the rule language (sets resolved, so names never appear)."""
    if n is None:
        return ""
    if isinstance(n, NSet):
        return str(n)
    if isinstance(n, NAll):
        return " and ".join(f"({text(o)})" if isinstance(o, NAny) else text(o) for o in n.ops) if n.ops else "true"
    if isinstance(n, NAny):
        return " or ".join(text(o) for o in n.ops)
    if isinstance(n, NNot):
        inner = text(n.op)
        return f"not ({inner})" if isinstance(n.op, (NAll, NAny)) else f"not {inner}"
    if isinstance(n, NChange):
        sources = level_words(n.levels) + ([str(n.sources)] if n.sources.items else [])
        sources += [f"{codes} where {fact} in {words(values)}" for codes, fact, values in n.where]
        out = "change from " + ", ".join(sources)
        out += f" except {n.except_}" if n.except_ is not None else ""
        return out + (" except more than one of " + ", ".join(f"({g})" for g in n.groups) if n.groups else "")
    if isinstance(n, NRvc):
        args = [n.method]
        if n.basis != RVC_DEFAULT.get(n.method, "fob"):
            args.append(n.basis)
        if n.focus is not None:
            args.append(str(n.focus))
        return f"rvc({', '.join(args)})"
    if isinstance(n, NMaxNom):
        return f"max_nom({n.basis})"
    if isinstance(n, NSum):
        inner = text(n.filter) if n.filter is not None else ""
        if n.part is not None:
            inner = f"{n.part} of {inner}" if inner else n.part
        traced = ", traced" if n.traced else ""
        return f"{n.measure}({inner}{traced})"
    if isinstance(n, NFigure):
        return n.name
    if isinstance(n, NFact):
        return f"fact({n.name})"
    if isinstance(n, NCompare):
        base = f" of {text(n.base)}" if n.base is not None else ""
        return f"{text(n.measure)} {n.op} {pct(n.share)}{base}"
    if isinstance(n, NOriginating):
        return "non_originating" if n.negated else "originating"
    if isinstance(n, NOriginIn):
        return f"origin in {words(n.countries)}"
    if isinstance(n, NHsIn):
        return f"hs in {n.hs}"
    if isinstance(n, NKindIn):
        return f"kind in {words(n.kinds)}"
    if isinstance(n, NFactIn):
        return f"{n.fact} in {words(n.values)}"
    if isinstance(n, NSame):
        return "same " + {2: "chapter", 4: "heading", 6: "subheading", 8: "tariff item"}[n.digits]
    if isinstance(n, NPerformed):
        return f"performed {quote(n.process)} in {words(n.where)}"
    if isinstance(n, NWhollyObtained):
        return "wholly_obtained"
    return repr(n)


def walk(n):
    """Every normal node under ``n`` (itself first), sets and measures included."""
    if n is None:
        return
    yield n
    if isinstance(n, (NAll, NAny)):
        for o in n.ops:
            yield from walk(o)
    elif isinstance(n, NNot):
        yield from walk(n.op)
    elif isinstance(n, NCompare):
        yield from walk(n.measure)
        yield from walk(n.base)
    elif isinstance(n, NSum):
        yield from walk(n.filter)
    elif isinstance(n, NRvc):
        yield from walk(n.focus)
    elif isinstance(n, NChange):
        yield n.sources
        yield from walk(n.except_)
        for g in n.groups:
            yield from walk(g)
    elif isinstance(n, NHsIn):
        yield n.hs
