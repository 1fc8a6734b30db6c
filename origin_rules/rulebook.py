"""The public API: load a rulebook once, evaluate many BOMs.

In: paths of rule files or folders (``load``), BOMs (``Rulebook.evaluate``).
Out: a :class:`Rulebook` (raises :class:`~origin_rules.diagnostics.RulebookError` carrying
every diagnostic when the files have errors) whose plans are compiled on first use and
cached; :class:`~origin_rules.determination.Determination` values.

    book = origin_rules.load(["rules/"])
    det = book.evaluate(bom, under="USMCA", as_of=date(2026, 1, 1))
"""

from __future__ import annotations

import difflib
from datetime import date
from pathlib import Path

from .bom import BOM
from .determination import Determination
from .diagnostics import RulebookError
from .engine.criteria import Texts
from .engine.evaluate import Outcome, decide, evaluate
from .engine.output import to_determination
from .engine.plan import CompiledRule, Plan
from .engine.view import good_of_bom
from .hs import HsCode
from .sources import Parsed, parse_paths, parse_texts


class UnknownAgreement(KeyError):
    """``under=`` names no agreement or scenario of the rulebook."""

    def __init__(self, name: str, known: list[str]):
        close = difflib.get_close_matches(name, known, n=1)
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
        return self.plan(name).parties

    def plan(self, name: str) -> Plan:
        if name not in self.parsed.programs:
            raise UnknownAgreement(name, self.names)
        plan = self._plans.get(name)
        if plan is None:
            plan = self._plans[name] = Plan(self.parsed.programs[name], self._texts, self.digest)
        return plan

    def rules_for(self, under: str, hs: str, on: date, end_use: str | None = None, produced_in: str | None = None) -> list[CompiledRule]:
        """The rules that apply to a code on a date given the good's facts (by index)."""
        from .engine.view import Good

        code = HsCode.parse(hs)
        good = Good("query", "product", code, produced_in, {}, end_use, (), False, ())
        plan = self.plan(under)
        candidates = plan.rules_for(code, on)
        out = []
        for rule in candidates:
            result, _ = rule.when(good)
            if result is True:
                return out + [rule]
            if result is None:
                out.append(rule)
        return out

    def applicable(self, bom: BOM) -> list[str]:
        """Agreements and scenarios whose parties include the country of production."""
        country = bom.product.produced_in
        return [n for n in self.names if country is None or country in self.plan(n).parties]

    # ---- evaluation -------------------------------------------------------------------------------

    def outcome(self, bom: BOM, under: str, as_of: date | None = None) -> Outcome:
        """The internal result (cheap: no JSON models built). ``evaluate`` wraps it."""
        return evaluate(self.plan(under), good_of_bom(bom), as_of or date.today())

    def verdict(self, bom: BOM, under: str, as_of: date | None = None) -> str:
        """The verdict alone, fast (no explanation built): always the verdict ``evaluate`` gives."""
        plan = self._plans.get(under) or self.plan(under)
        return decide(plan, good_of_bom(bom), as_of or date.today())

    def evaluate(self, bom: BOM, under: str, as_of: date | None = None, explain: str = "summary") -> Determination:
        return to_determination(self.outcome(bom, under, as_of), full=explain == "full")


def load(paths, *, allow_warnings: bool = True) -> Rulebook:
    """Parse, check and compile rule files; raise RulebookError listing every problem."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    parsed = parse_paths(list(paths))
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
