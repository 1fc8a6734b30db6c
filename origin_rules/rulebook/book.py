"""The public API: load a rulebook once, evaluate many BOMs.

In: paths of rule files or folders (``load``), BOMs (``Rulebook.evaluate``).
Out: a :class:`Rulebook` (raises :class:`~origin_rules.model.diagnostics.RulebookError` carrying
every diagnostic when the files have errors) whose plans are compiled on first use and
cached; :class:`~origin_rules.model.determination.Determination` values, each carrying the
plausibility warnings on its BOM (:mod:`origin_rules.model.plausibility`).

    book = origin_rules.load(["rules/"])
    det = book.evaluate(bom, under="USMCA", as_of=date(2026, 1, 1))
    dets = book.evaluate_all(bom, as_of=date(2026, 1, 1))   # every applicable agreement
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from pathlib import Path

from ..model.bom import BOM, Material
from ..model.determination import Determination, ExplanationNode, InputWarning
from ..model.diagnostics import RulebookError
from ..engine.criteria import Texts
from ..engine.evaluate import Outcome, decide, evaluate
from ..engine.output import to_determination
from ..engine.plan import CompiledRule, Plan
from ..engine.view import RECENT_BOMS, Good, good_of_bom
from ..model.hs import HsCode
from ..model.currency import Converted, convert
from ..model.evidence import Resolved, has_certifications, resolve
from ..model.plausibility import Finding, check_bom, check_under, negative_rvc, originating_under
from .sources import Parsed, parse_texts


def _day(as_of: date | None) -> date:
    """The date of a determination: ``as_of`` (a ``datetime`` counts as its calendar day, so
    that it compares with the rules' dates), or today when it is None."""
    if as_of is None:
        return date.today()
    if isinstance(as_of, datetime):
        return as_of.date()
    if not isinstance(as_of, date):
        raise TypeError(f"as_of must be a date (datetime.date), not {type(as_of).__name__}: {as_of!r}")
    return as_of


class UnknownAgreement(KeyError):
    """``under=`` names no agreement or scenario of the rulebook."""

    def __init__(self, name: str, known: list[str]):
        close = [k for k in known if k.lower() == name.lower()]
        if not close:
            by_lower = {k.lower(): k for k in known}
            close = [by_lower[c] for c in difflib.get_close_matches(name.lower(), list(by_lower), n=1)]
        hint = f" (did you mean `{close[0]}`?)" if close else ""
        self.message = f"no agreement or scenario named `{name}`{hint}; known: {', '.join(known) or 'none'}"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class Rulebook:
    """Agreements and scenarios from checked rule files, compiled into evaluation plans."""

    def __init__(self, parsed: Parsed):
        self.parsed = parsed
        self.digest = "sha256:" + parsed.digest
        self._texts = Texts(parsed.sources)
        self._plans: dict[str, Plan] = {}
        self._indexes: dict = {}  # the plans' compiled rules, shared where a scenario keeps its base's (Plan)

    # ---- what is in it ------------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return list(self.parsed.programs)

    @property
    def agreements(self) -> list[str]:
        return [n for n, p in self.parsed.programs.items() if not p.is_scenario]

    @property
    def scenarios(self) -> list[str]:
        return [n for n, p in self.parsed.programs.items() if p.is_scenario]

    def parties(self, name: str) -> frozenset[str]:
        """The parties of an agreement or scenario (read from the checked program: no plan
        is compiled to answer)."""
        program = self.parsed.programs.get(name)
        if program is None:
            raise UnknownAgreement(name, self.names)
        return program.parties

    def plan(self, name: str) -> Plan:
        if name not in self.parsed.programs:
            raise UnknownAgreement(name, self.names)
        plan = self._plans.get(name)
        if plan is None:
            plan = self._plans[name] = Plan(self.parsed.programs[name], self._texts, self.digest, self._indexes)
        return plan

    def rules_for(self, under: str, hs: str, on: date, end_use: str | None = None, produced_in: str | None = None) -> list[CompiledRule]:
        """The rules that apply to a code on a date given the good's facts: the evaluator's
        own selection (several when the facts given leave the choice open)."""
        from ..engine.select import select
        from ..engine.view import Good

        code = HsCode.parse(hs)
        good = Good("query", "product", code, produced_in, {}, end_use, (), False, ())
        return list(select(self.plan(under), good, on).rules)  # (the plan may share the selection)

    def applicable(self, bom: BOM) -> list[str]:
        """Agreements and scenarios whose parties include the country of production, and
        those with `deemed originating` statements whose parties include the country the
        good is imported from (it may be deemed originating by that, GN11(p)). Parties are
        read from the checked programs; a plan is compiled only to ask for its deemings."""
        country, shipped = bom.product.produced_in, bom.product.imported_from
        return [n for n in self.names
                if country is None or country in self.parties(n)
                or (shipped is not None and shipped in self.parties(n) and self.plan(n).deemed)]

    # ---- evaluation -------------------------------------------------------------------------------

    def outcome(self, bom: BOM, under: str, as_of: date | None = None) -> Outcome:
        """The internal result (cheap: no JSON models built). ``evaluate`` wraps it."""
        _require_name(under)
        plan = self.plan(under)
        on = _day(as_of)
        if _as_is(bom):
            return evaluate(plan, good_of_bom(bom), on)
        if not special(bom):
            return evaluate(plan, good_of_bom(self._by_agreement(bom, under)), on)
        papers = self._paperwork(bom, under, on)
        out = evaluate(plan, good_of_bom(papers.bom(self, under)), on)
        lacking = papers.converted.missing
        if lacking and out.missing:  # a price left out for want of a rate: the rate is what is missing
            out.missing = sorted(dict.fromkeys(lacking.get(m, m) for m in out.missing))
        return out

    def verdict(self, bom: BOM, under: str, as_of: date | None = None) -> str:
        """The verdict alone, fast (no explanation built): always the verdict ``evaluate`` gives."""
        plan = self._plans.get(under) if type(under) is str else None  # (the path of every verdict:
        if plan is None:  # the checks of ``under`` and ``as_of`` only when the quick ones fail)
            _require_name(under)
            plan = self.plan(under)
        on = as_of if type(as_of) is date else _day(as_of)
        hit = _GOODS.get(id(bom))
        good = hit[1] if hit is not None and hit[0] is bom else _good_as_is(bom)
        return decide(plan, good_of_bom(self._resolved(bom, under, on)) if good is None else good, on)

    def evidence(self, bom: BOM, under: str, as_of: date | None = None) -> Paperwork:
        """What the materials' originating status and prices rest on under ``under`` on
        ``as_of``: supplier certifications (:mod:`origin_rules.model.evidence`) and currency
        conversions (:mod:`origin_rules.model.currency`), as ``evaluate`` applies them."""
        _require_name(under)
        self.plan(under)  # an unknown name raises UnknownAgreement
        return self._paperwork(bom, under, _day(as_of))

    def evaluate(self, bom: BOM, under: str, as_of: date | None = None, explain: str = "summary") -> Determination:
        """Determine whether the product of ``bom`` originates under one agreement or scenario.

        ``under``: a name from :attr:`names` (``"USMCA"``); an unknown name raises
        :class:`UnknownAgreement` with the nearest known name. To evaluate under every
        agreement and scenario whose parties include the country of production, as the CLI
        does without ``--under``, use :meth:`evaluate_all`.
        ``as_of``: the date of the determination (default today): dated rules and
        scenarios apply as of it. ``explain``: ``"summary"`` keeps the decisive steps of the
        explanation, ``"full"`` every step and each sub-assembly's own determination.

        The result's ``warnings`` lists what an analyst must look at in the BOM (codes in
        ``docs/errors.md``): input the readers refuse (an HS code not in HS 2022, a product
        code coarser than a subheading, no materials list) is listed too when a BOM built in
        Python is evaluated directly, so that no verdict on such input comes unflagged.
        """
        _require_name(under)
        on = _day(as_of)
        return self.determination(bom, under, on, self.outcome(bom, under, on), explain)

    def determination(self, bom: BOM, under: str, on: date, out: Outcome, explain: str = "summary") -> Determination:
        """What :meth:`evaluate` makes of the good's :meth:`outcome` ``out`` under ``under`` on
        ``on`` (a batch that has the outcome already, ``batch --record``, makes it once)."""
        det = to_determination(out, full=explain == "full", plain=True)
        papers = None if _as_is(bom) or not special(bom) else self._paperwork(bom, under, on)
        findings = self.findings(bom if papers is None else papers.converted.bom, under)
        if papers is not None:
            findings += list(papers.findings)
            det = _with_paperwork(det, papers)
        findings += [f for f in negative_rvc(det.figures) if f.code not in {g.code for g in findings}]
        if not findings:
            return det
        warnings = [InputWarning(code=f.code, message=f.message.replace("`", ""), path=f.path) for f in findings]
        return det.model_copy(update={"warnings": warnings})

    def evaluate_all(self, bom: BOM, as_of: date | None = None, explain: str = "summary") -> list[Determination]:
        """One determination per agreement and scenario of :meth:`applicable` (every one
        whose parties include the country of production; all of them when it is not given),
        in the rulebook's order: what ``origin-rules evaluate`` does without ``--under``."""
        return [self.evaluate(bom, under=name, as_of=as_of, explain=explain) for name in self.applicable(bom)]

    def findings(self, bom: BOM, under: str | None = None) -> list[Finding]:
        """The plausibility findings on a BOM (:mod:`origin_rules.model.plausibility`), with those
        that depend on the agreement when ``under`` is given."""
        found = check_bom(bom)  # (remembered for the last BOM: evaluated under every name, checked once)
        if under is not None:
            program = self.parsed.programs.get(under)
            chain = list(program.chain) if program is not None else [under]
            found += check_under(bom, under, chain, self.parties(under), self.names)
        return found

    def _paperwork(self, bom: BOM, under: str, on: date) -> Paperwork:
        program = self.parsed.programs.get(under)
        chain = list(program.chain) if program is not None else [under]
        converted = convert(bom)
        resolved = resolve(converted.bom, chain, on) if has_certifications(bom.materials) else None
        return Paperwork(converted, resolved)

    def _resolved(self, bom: BOM, under: str, on: date | None = None) -> BOM:
        """The BOM with per-agreement ``originating`` resolved to true/false/null for ``under``
        (with supplier certifications, as of ``on``) and every price in the product's currency."""
        if special(bom):
            return self._paperwork(bom, under, on or date.today()).bom(self, under)
        return self._by_agreement(bom, under)

    def _by_agreement(self, bom: BOM, under: str) -> BOM:
        """The BOM with per-agreement ``originating`` resolved to true/false/null for ``under``.

        Names under which every material resolves alike (an agreement and the scenarios
        built on it, for ``originating: [USMCA]``) get the same BOM object, remembered for
        the last few BOMs (:func:`_resolved_alike`): so one view of it is built, and the
        scenarios share its base's rule traces (``engine.evaluate._shared``)."""
        if not _per_agreement(bom.materials):
            return bom
        program = self.parsed.programs.get(under)
        chain = list(program.chain) if program is not None else [under]
        statuses: list[bool | None] = []

        def walk(materials) -> None:
            for m in materials:
                if isinstance(m.originating, (tuple, dict)):
                    statuses.append(originating_under(m, chain))
                if m.materials:
                    walk(m.materials)

        walk(bom.materials)
        alike = _resolved_alike(bom)
        key = tuple(statuses)
        found = alike.get(key)
        if found is not None:
            return found
        resolved = iter(statuses)

        def one(material: Material) -> Material:
            update: dict = {}
            if isinstance(material.originating, (tuple, dict)):
                update["originating"] = next(resolved)
            if material.materials:
                update["materials"] = tuple(one(m) for m in material.materials)
            return material.model_copy(update=update) if update else material

        found = alike[key] = bom.model_copy(update={"materials": tuple(one(m) for m in bom.materials)})
        return found


@dataclass(frozen=True, slots=True)
class Paperwork:
    """The currency conversions of a BOM and, when it cites supplier certifications, their
    resolution under one agreement on one date (``resolved.bom`` is what is evaluated)."""

    converted: Converted
    resolved: Resolved | None

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.resolved.findings if self.resolved is not None else ()

    def bom(self, book: Rulebook, under: str) -> BOM:
        """The BOM as evaluated: prices converted, every material's status resolved."""
        return self.resolved.bom if self.resolved is not None else book._by_agreement(self.converted.bom, under)


def _per_bom(memo: dict[int, tuple[BOM, Any]], bom: BOM, make: Callable[[BOM], Any]) -> Any:
    """``make(bom)``, remembered in ``memo`` for the last few BOM objects (a BOM is immutable;
    the entry holds the BOM, so its id is not reused while it is kept; few:
    ``engine.view.RECENT_BOMS``)."""
    hit = memo.get(id(bom))
    if hit is not None and hit[0] is bom:
        return hit[1]
    found = make(bom)
    if len(memo) >= RECENT_BOMS:
        memo.clear()
    memo[id(bom)] = (bom, found)
    return found


_AS_IS: dict[int, tuple[BOM, bool]] = {}


def _as_is(bom: BOM) -> bool:
    """Whether the BOM is evaluated as it is (no certifications, no price in another
    currency, no per-agreement status): walked once per BOM object (:func:`_per_bom`)."""
    return _per_bom(_AS_IS, bom, _plain)


def _plain(bom: BOM) -> bool:
    return not special(bom) and not _per_agreement(bom.materials)


_ALIKE: dict[int, tuple[BOM, dict[tuple, BOM]]] = {}


def _resolved_alike(bom: BOM) -> dict[tuple, BOM]:
    """The BOM's per-agreement resolutions (``Rulebook._by_agreement``) by the statuses its
    materials resolve to, in walk order; one mapping per BOM object (:func:`_per_bom`)."""
    return _per_bom(_ALIKE, bom, lambda b: {})


_SPECIAL: dict[int, tuple[BOM, bool]] = {}


def special(bom: BOM) -> bool:
    """:func:`_special`, once per BOM object (:func:`_per_bom`)."""
    return _per_bom(_SPECIAL, bom, _special)


_GOODS: dict[int, tuple[BOM, Good | None]] = {}


def _good_as_is(bom: BOM) -> Good | None:
    """The view of a BOM evaluated as it is (:func:`_as_is`), else None, remembered for the
    last few BOM objects (as :func:`_as_is`): a verdict on a BOM seen before finds it in one
    look-up (``Rulebook.verdict`` reads ``_GOODS`` itself)."""
    good = good_of_bom(bom) if _as_is(bom) else None
    if len(_GOODS) >= RECENT_BOMS:
        _GOODS.clear()
    _GOODS[id(bom)] = (bom, good)
    return good


def _special(bom: BOM) -> bool:
    """Whether the BOM cites certifications or prices a material in another currency (one
    walk over the materials, on every verdict's path)."""
    return _special_in(bom.materials, bom.product.currency)


def _special_in(materials, currency: str | None) -> bool:
    for m in materials:
        if m.certifications or (m.currency is not None and m.currency != currency):
            return True
        if m.materials and _special_in(m.materials, currency):
            return True
    return False


def _with_paperwork(det: Determination, papers: Paperwork) -> Determination:
    """The determination with the evidence each material rests on and the currency
    conversions in its explanation, and a missing rate named instead of the field it leaves out."""
    update: dict = {}
    lacking = papers.converted.missing
    nodes: list[ExplanationNode] = []
    conv = papers.converted
    if conv.conversions or lacking:
        currency = conv.bom.product.currency or "the product's currency (not given)"
        kids = [ExplanationNode(text=c.describe(), result="true", materials=[c.id],
                                figures={c.path: c.result}) for c in conv.conversions]
        kids += [ExplanationNode(text=f"{path} left out: no rate from {need[6:9]} to {need[11:14]} ({need})"
                                 if need.startswith("rates")
                                 else f"{path} left out: {need} is not given", result="unknown")
                 for path, need in lacking.items()]
        nodes.append(ExplanationNode(text=f"prices converted into {currency}, exactly",
                                     result="unknown" if lacking else "true", children=kids))
    if papers.resolved is not None:
        result = {True: "true", False: "false", None: "false"}
        kids = [ExplanationNode(text=f"{e.id} ({e.path}): {e.text}", materials=[e.id],
                                result="unknown" if e.basis == "sub_assembly" else result[e.originating])
                for e in papers.resolved.evidence]
        lapsed = {e.id: e for e in papers.resolved.evidence if e.basis == "lapsed"}
        if lapsed and any(f.id in lapsed for f in det.failed_materials):
            update["failed_materials"] = [
                f.model_copy(update={"reason": f"{f.reason} (counted as non-originating: {lapsed[f.id].why})"})
                if f.id in lapsed else f for f in det.failed_materials]
        nodes.append(ExplanationNode(text="the evidence of origin each material rests on",
                                     result="false" if lapsed else "true", children=kids))
    if nodes and det.explanation is not None:
        update["explanation"] = det.explanation.model_copy(update={"children": [*det.explanation.children, *nodes]})
    return det.model_copy(update=update) if update else det


def _per_agreement(materials) -> bool:
    """Whether any material, at any depth, declares its originating status per agreement
    (on every verdict's path: no field paths are built, unlike ``BOM.walk``)."""
    return any(isinstance(m.originating, (tuple, dict)) or (m.materials and _per_agreement(m.materials))
               for m in materials)


def _require_name(under: object) -> None:
    if not isinstance(under, str):
        raise TypeError(
            f"under= must name an agreement or scenario (a str such as \"USMCA\"), got {under!r}; "
            "to evaluate under every applicable agreement, use Rulebook.evaluate_all(bom, as_of=...)")


def load(paths, *, allow_warnings: bool = True, cache: bool = False) -> Rulebook:
    """Parse, check and compile rule files; raise RulebookError listing every problem.

    ``cache=True``: read the parsed and checked rule files from the rulebook cache when it
    holds these exact files, else store them there (:mod:`origin_rules.rulebook.cache`; the
    CLI's default). The result, diagnostics included, is the same either way."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    from .cache import parse_cached

    parsed = parse_cached(list(paths), use_cache=cache)
    _raise_on_errors(parsed, allow_warnings)
    return Rulebook(parsed)


def loads(texts: dict[str, str] | str, *, allow_warnings: bool = True) -> Rulebook:
    """The same from text: ``{file name: text}`` or one text."""
    if isinstance(texts, str):
        texts = {"<string>": texts}
    parsed = parse_texts(texts)
    _raise_on_errors(parsed, allow_warnings)
    return Rulebook(parsed)


def _raise_on_errors(parsed: Parsed, allow_warnings: bool) -> None:
    bad = [d for d in parsed.diagnostics if d.is_error or not allow_warnings]
    if bad:
        raise RulebookError(bad, parsed.sources)
