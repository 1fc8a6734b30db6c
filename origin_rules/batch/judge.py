"""One BOM under several agreements and scenarios, as batch output entries.

In: a loaded :class:`~origin_rules.rulebook.Rulebook`, a validated BOM, the names to
evaluate under, a date. Out: one plain dict per name (the ``determinations`` entries
described in :mod:`origin_rules.batch.records`): verdict, key figures, thresholds with
their margins, the warnings about the BOM (as ``Rulebook.evaluate`` gives them) and, when
the good does not qualify, the one-line reason, the missing fields and the materials behind
the failure (their origin, HS code and value, for the report).

Speed: ``book.verdict`` is a tenth of ``book.outcome`` (figures and margins, no JSON models)
or less, which is about half of ``book.evaluate`` (bench/determination.py: 4, 58 and 128 µs on
a 20-material BOM).
With ``figures=True`` (the default of the CLI) each name costs one ``outcome``; the reason of
a good that does not qualify is read from the outcome's trace through a thin view
(:class:`_Outcome`) by the same ``one_line_reason`` that ``evaluate`` uses, without building
the models. With ``figures=False`` a qualifying good costs one ``verdict`` and carries no
figures; the others cost a ``verdict`` and an ``outcome`` and get the same entry as with
figures.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from ..model.bom import BOM, Material, format_decimal
from ..model.currency import convert
from ..engine.measures import margin_texts, money
from ..rulebook.explain import one_line_reason
from ..model.evidence import has_certifications
from ..model.plausibility import Finding, check_bom, check_under, negative_rvc
from ..rulebook.book import special as _special

__all__ = ["judge", "losses"]

MAX_CAUSES = 8
def _figure_text(name: str, value: Decimal) -> str:
    return format(value, "f") if name.startswith(("rvc", "max_nom")) else money(value)


_KEY_FIGURE: dict[str, bool] = {}  # figure name -> whether it is a key figure (VNM, RVC, MaxNOM)


def _key_figures(figures: dict[str, Any], texts: dict | None = None) -> dict[str, str]:
    """VNM and the percentages (RVC, MaxNOM); the product's own amounts are in the input.
    ``texts``: the texts already made for this BOM, by name and value (its names share most
    figures)."""
    out = {}
    for name, value in figures.items():
        wanted = _KEY_FIGURE.get(name)
        if wanted is None:
            if len(_KEY_FIGURE) >= 4096:
                _KEY_FIGURE.clear()
            wanted = _KEY_FIGURE[name] = name in ("vnm", "fvnm") or name.startswith(("rvc", "max_nom"))
        if wanted and not isinstance(value, str):
            if texts is None:
                out[name] = _figure_text(name, value)
                continue
            key = (name, value, value.as_tuple().exponent)  # (70.00 == 70.000000000000: a percentage
            # is shown to as many places as its comparison needs, which depends on the name's threshold)
            text = texts.get(key)
            if text is None:
                text = texts[key] = _figure_text(name, value)
            out[name] = text
    return out


def _threshold(m) -> dict[str, Any]:
    value, threshold, margin = margin_texts(m)
    return {"figure": m.figure, "value": value, "threshold": threshold, "comparison": m.comparison,
            "margin": margin, "holds": m.holds}


def _distinct(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each threshold entry once: two alternatives of a rule that test the same figure against
    the same threshold (USMCA 8708.30: the RVC with or without a change of heading) give the
    same entry, which a record would otherwise list twice."""
    out: list[dict[str, Any]] = []
    for entry in entries:
        if entry not in out:
            out.append(entry)
    return out


def _thresholds(margins, made: dict | None = None) -> list[dict[str, Any]]:
    """The distinct threshold entries of the margins (:func:`_distinct`). ``made``: the entries
    already made for this BOM, by margin (an agreement and its scenarios share the margins of
    the rule traces they share): ``id(margin) -> (margin, entry)``, the margin held so that its
    id is not reused; each entry gets a copy."""
    if made is None:
        return _distinct([_threshold(m) for m in margins])
    out = []
    for m in margins:
        hit = made.get(id(m))
        if hit is None:
            hit = made[id(m)] = (m, _threshold(m))
        out.append(dict(hit[1]))
    return _distinct(out)


RESULT = {True: "true", False: "false", None: "unknown"}


class _Node:
    """An engine trace node seen as an explanation node (the attributes that
    ``one_line_reason`` and the causes read), built lazily: no pydantic models."""

    __slots__ = ("_t",)

    def __init__(self, trace):
        self._t = trace

    @property
    def result(self) -> str:
        return RESULT[self._t.result]

    @property
    def text(self) -> str:
        t = self._t
        return t.text if not t.note else f"{t.text} ({t.note})"

    @property
    def source(self) -> str | None:
        return self._t.source

    @property
    def materials(self) -> tuple[str, ...]:
        return self._t.materials

    @property
    def children(self) -> list["_Node"]:
        return [_Node(c) for c in self._t.children]


class _Outcome:
    """An engine outcome seen as a determination, for ``one_line_reason`` and the causes.
    The summary explanation keeps every failing child of a failing node, so following the
    raw trace down failing children takes the path the determination's summary shows."""

    def __init__(self, out):
        self.verdict = out.verdict
        self.missing = out.missing
        self.explanation = _Node(out.trace)
        self.rule = SimpleNamespace(selector=out.rule.selector_text, source=out.rule.node.span.where) \
            if out.rule is not None else None
        self._margins = out.margins
        self.failed_materials = out.failures
        self.criterion = out.criterion
        self.warnings: list = []

    @property
    def headroom(self) -> list[SimpleNamespace]:
        return [SimpleNamespace(holds=m.holds, figure=m.figure, value=format(m.value, "f"),
                                threshold=format(m.threshold, "f")) for m in self._margins]


def _failing_ids(trace, out: list[str]) -> None:
    """Material ids named by the deepest failing steps of an engine trace (the steps the
    determination's explanation shows: it keeps every failing child of a failing node)."""
    if trace.result is not False:
        return
    failing = [c for c in trace.children if c.result is False]
    if not failing:
        out.extend(trace.materials)
    for child in failing:
        _failing_ids(child, out)


def _cause(material: Material, reason: str | None) -> dict[str, Any]:
    cause: dict[str, Any] = {"id": material.id, "hs": material.hs, "origin": material.origin}
    if material.value is not None:
        cause["value"] = format_decimal(material.value)
    if reason:
        cause["reason"] = reason
    return cause


#: Failures no material is behind (``evaluate`` names no failed material for them either).
NOT_THE_MATERIALS = frozenset({"agreement_not_in_force", "not_produced_in_territory"})


def _causes(bom: BOM, det: _Outcome, shared: "_Shared") -> list[dict[str, Any]]:
    """The materials behind a failure, at most :data:`MAX_CAUSES` (``shared``: what the
    BOM's names share, :class:`_Shared`)."""
    reasons = {f.id: f.reason for f in det.failed_materials}
    ids = list(reasons)
    _failing_ids(det.explanation._t, ids)  # (the engine's trace itself, not its lazy view)
    by_id = shared.by_id(bom)
    out, seen = [], set()
    for mid in ids:
        if mid in seen or mid not in by_id:
            continue
        seen.add(mid)
        out.append(shared.cause(by_id[mid], reasons.get(mid)))
        if len(out) == MAX_CAUSES:
            return out
    if not out and det.criterion not in NOT_THE_MATERIALS:  # nothing named (e.g. an RVC too low): the
        # non-originating value behind it
        out = [shared.cause(m, "non-originating value") for m in shared.largest_non_originating(bom)]
    return out


class _Shared:
    """What one BOM's warnings need whatever the agreement, worked out once for all the
    names it is judged under: the materials by id (for the causes of a failure), the
    findings on the BOM itself (``check_bom``, prices in the
    product's currency), the ``BOM105`` findings of ``check_under`` (they depend only on
    the rulebook's names), the origins of the materials that could make a ``BOM104``
    finding (a material declared originating, or originating under some agreement), and whether
    any material cites a supplier certification (without one, ``book.evidence`` finds
    nothing)."""

    __slots__ = ("found", "unnamed", "origins", "certified", "_by_id", "texts", "made", "rendered", "causes",
                 "_largest")

    def __init__(self, book, bom: BOM):
        # a BOM without certifications or prices in another currency (remembered per BOM
        # object, as its evaluations ask it too) needs no conversion and cites no evidence
        plain = not _special(bom)
        self.found = check_bom(bom if plain else convert(bom).bom)
        self.origins: set[str] = set()  # of the materials that may be declared originating under some agreement
        named = False  # whether a material's originating status names agreements
        stack = [bom.materials]
        while stack:
            for m in stack.pop():
                declared = m.originating
                if declared is not None and declared is not False:
                    named = named or not isinstance(declared, bool)
                    if m.kind not in ("indirect", "shipping_packing") and m.origin is not None and m.origin != "unknown":
                        self.origins.add(m.origin)
                if m.materials:
                    stack.append(m.materials)
        # no parties: the BOM105 findings alone
        self.unnamed = check_under(bom, "", (), frozenset(), book.names) if named else []
        self.certified = not plain and has_certifications(bom.materials)
        self._by_id: dict[str, Material] | None = None
        #: what the names of this BOM share: figure texts by name and value, threshold
        #: entries by margin (:func:`_thresholds`), warning entries by finding
        self.texts: dict = {}
        self.made: dict = {}
        self.rendered: dict = {}
        #: the cause entries made, by material and reason (:meth:`cause`)
        self.causes: dict = {}
        self._largest: list[Material] | None = None

    def by_id(self, bom: BOM) -> dict[str, Material]:
        """Every material by id (the first of an id, at any depth), for the causes of a failure."""
        if self._by_id is None:
            self._by_id = {}
            for _, material in bom.walk():
                self._by_id.setdefault(material.id, material)
        return self._by_id

    def cause(self, material: Material, reason: str | None) -> dict[str, Any]:
        """:func:`_cause`, made once per material and reason for all the BOM's names (the
        entry holds the material, so its id is not reused); each entry gets a copy."""
        key = (id(material), reason)
        hit = self.causes.get(key)
        if hit is None:
            hit = self.causes[key] = (material, _cause(material, reason))
        return dict(hit[1])

    def largest_non_originating(self, bom: BOM) -> list[Material]:
        """The BOM's non-originating direct materials of the largest value, at most
        :data:`MAX_CAUSES` (the causes of a failure that names no material)."""
        if self._largest is None:
            pool = [m for m in bom.materials if m.originating is not True and m.kind not in ("indirect", "shipping_packing")]
            pool.sort(key=lambda m: m.value if m.value is not None else Decimal(0), reverse=True)
            self._largest = pool[:MAX_CAUSES]
        return self._largest

    def under(self, book, bom: BOM, name: str, chain: list[str]) -> list[Finding]:
        """``check_under``'s findings for ``name``: worked out only when a material that may
        be declared originating comes from outside the agreement's parties (only then can
        there be a ``BOM104``)."""
        parties = book.parties(name)
        if not parties or self.origins <= parties:
            return list(self.unnamed)
        return check_under(bom, name, chain, parties, book.names)


def _warnings(book, bom: BOM, name: str, shared: _Shared, rvc: dict[str, str],
              on: date | None = None) -> list[dict[str, str]]:
    """The determination's warnings, as ``Rulebook.evaluate`` gives them: the findings on the
    BOM and those that depend on the agreement (``shared``, see :class:`_Shared`), and a
    negative RVC among the figures (``docs/errors.md``, BOM input)."""
    program = book.parsed.programs.get(name)
    chain = list(program.chain) if program is not None else [name]
    out = list(shared.found) + shared.under(book, bom, name, chain)
    if on is not None and shared.certified:  # supplier certifications not valid on the date, or for another agreement
        out += book.evidence(bom, name, on).findings
    if any(figure.startswith("rvc") and value.startswith("-") for figure, value in rvc.items()):
        codes = {f.code for f in out}
        out += [f for f in negative_rvc(rvc) if f.code not in codes]
    rendered = shared.rendered
    entries = []
    for f in out:  # one entry per finding object (held, so that its id is not reused), copied
        hit = rendered.get(id(f))
        if hit is None:
            hit = rendered[id(f)] = (f, {"code": f.code, "message": f.message.replace("`", ""), "path": f.path})
        entries.append(dict(hit[1]))
    return entries


def _entry(book, bom: BOM, name: str, on: date, figures: bool, shared: _Shared,
           outcomes: dict | None) -> dict[str, Any]:
    program = book.parsed.programs[name]
    entry: dict[str, Any] = {"agreement": name}
    det: _Outcome | None = None
    if figures:
        out = book.outcome(bom, name, on)
        if outcomes is not None:
            outcomes[name] = out
        verdict = out.verdict
    else:  # only the verdict of a good that qualifies; the rest as with figures
        verdict = book.verdict(bom, name, on)
        out = book.outcome(bom, name, on) if verdict != "qualifies" else None
    entry["verdict"] = verdict
    if program.is_scenario:
        entry["base"] = program.chain[-1]
    if out is not None:
        if verdict != "qualifies":
            det = _Outcome(out)
        if out.rule is not None:
            entry["rule"] = out.rule.selector_text
            if det is not None:
                entry["rule_source"] = out.rule.node.span.where
        if det is not None and out.criterion:
            entry["criterion"] = out.criterion
        key = _key_figures(out.figures, shared.texts)
        if key:
            entry["figures"] = key
        if out.margins:
            entry["thresholds"] = _thresholds(out.margins, shared.made)
    warnings = _warnings(book, bom, name, shared, entry.get("figures", {}), on)
    if warnings:
        entry["warnings"] = warnings
    if det is not None:  # (the reason names a certification not valid on the date)
        det.warnings = [SimpleNamespace(code=w["code"], message=w["message"]) for w in warnings]
        reason = one_line_reason(det)
        if reason:
            entry["reason"] = reason
        if det.missing:
            entry["missing"] = list(det.missing)
        if verdict == "does_not_qualify":
            causes = _causes(bom, det, shared)
            if causes:
                entry["causes"] = causes
    return entry


def judge(book, bom: BOM, names: list[str] | None, on: date, figures: bool = True,
          outcomes: dict | None = None) -> list[dict[str, Any]]:
    """The entries for one BOM; ``names=None`` means every applicable agreement/scenario.
    ``outcomes``: a dict given the engine's outcome under each name evaluated with figures
    (read only here, so the caller may build the full determinations from them)."""
    chosen = names if names is not None else book.applicable(bom)
    shared = _Shared(book, bom)
    return [_entry(book, bom, name, on, figures, shared, outcomes) for name in chosen]


def losses(entries: list[dict[str, Any]]) -> tuple[str, ...]:
    """Scenarios under which the good loses the qualification it has under their agreement."""
    verdicts = {e["agreement"]: e["verdict"] for e in entries}
    return tuple(
        e["agreement"] for e in entries
        if "base" in e and verdicts.get(e["base"]) == "qualifies" and e["verdict"] != "qualifies"
    )
