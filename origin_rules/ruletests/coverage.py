"""Rule coverage: which rules, requirements, fallbacks, deemings and `or` alternatives the rule tests exercised.

In: the parsed modules of the rule files (the items to cover) and, for every expectation a
test case checked, the internal :class:`~origin_rules.engine.evaluate.Outcome`, which names
the rules, requirements and fallbacks the evaluator applied (by identity, with their traces).
Out: a :class:`Coverage`: every item with whether it was exercised, counts and the
percentage (exact, a :class:`~fractions.Fraction`). Nothing here prints.

What counts (the definition ``origin-rules test --coverage`` documents):

- **Items** are every ``rule`` and every ``require`` of every agreement and scenario in the
  rule files, and every alternative of every top-level ``or`` in a rule's body line (a body
  line ``A or B or C`` gives three items, each at its own ``file:line:col``). An item is
  counted once however many agreements, scenarios or rulebooks share it (a scenario sees
  the rules of its base: they are the same items).
- A **rule** is exercised when some case's determination applied it: the rule the
  evaluator selected for the good, or any of the several rules it evaluated because a fact
  that a ``when`` needs was missing. Rules applied to sub-assemblies count too.
- An **alternative** is exercised when it evaluated to true in at least one case in which
  its rule applied.
- A **requirement** is exercised when it applied to some case (its ``for`` and ``when``
  did not rule the good out, so the evaluator checked its body).
- A **fallback** is exercised when it held for some case (it is tried only when the rule
  of the good fails, so such a case shows the fallback deciding).
- A **deeming** (``deemed originating``) is exercised when it deemed some case's good
  originating.
- **Percentage** = exercised items / all items x 100 (100 when there are no items).

A good that originates before any product-specific rule (wholly obtained, or every
material originating) applies no rule, so it exercises none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from ..model import ast
from ..engine.criteria import Texts
from ..engine.evaluate import Outcome
from ..engine.plan import CompiledRule
from ..engine.trace import Trace

KINDS = ("rule", "alternative", "require", "fallback", "deemed")
MAX_TEXT = 70


@dataclass(slots=True)
class Item:
    """One thing to cover, at ``file:line:col``."""

    kind: str  # "rule" | "alternative" | "require" | "fallback" | "deemed"
    file: str
    line: int
    column: int
    label: str  # `rule 8708.30 "Brakes"`, `or #2 of rule 8708.30: change from ...`, `require for 87`
    program: str  # the agreement or scenario that declares it
    exercised: bool = False
    by: list[str] = field(default_factory=list)  # the cases that exercised it, when recorded with one

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.file, self.line, self.column)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "source": self.where, "file": self.file, "line": self.line,
                "column": self.column, "label": self.label, "program": self.program,
                "exercised": self.exercised}


def _key(span: ast.Span) -> tuple[str, int, int]:
    return (span.file, span.line, span.column)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3].rstrip() + "..."


@dataclass
class Coverage:
    """Items of the rule files and which of them the tests exercised."""

    items: dict[tuple[str, int, int], Item] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)

    # ---- the items --------------------------------------------------------------------------

    def add_modules(self, modules: list[ast.Module], sources: dict[str, str]) -> None:
        """Register every rule, requirement, fallback and top-level `or` alternative of the modules."""
        texts = Texts(sources)
        for module in modules:
            self.files.add(module.file)
            for top in module.items:
                if isinstance(top, (ast.Agreement, ast.Scenario)):
                    self._add_program(top, texts)

    def _add_program(self, program: ast.Agreement | ast.Scenario, texts: Texts) -> None:
        for rule in program.rules:
            if rule.span.line < 1:
                continue
            selector = texts.of(rule.selector.span) or "?"
            title = f' "{rule.title}"' if rule.title else ""
            self._add(Item("rule", *_key(rule.span), f"rule {selector}{title}", program.name))
            for line in rule.criteria:
                if not isinstance(line, ast.Or):
                    continue
                for number, alternative in enumerate(line.operands, 1):
                    if alternative.span.line < 1:
                        continue
                    text = _short(texts.of(alternative.span))
                    label = f"or #{number} of rule {selector}: {text}"
                    self._add(Item("alternative", *_key(alternative.span), label, program.name))
        for req in program.requires:
            if req.span.line < 1:
                continue
            header = texts.of(req.span).split("{")[0].strip() or "require"
            self._add(Item("require", *_key(req.span), _short(header), program.name))
        for fb in program.fallbacks:
            if fb.span.line < 1:
                continue
            header = texts.of(fb.span).split("{")[0].strip() or "fallback"
            self._add(Item("fallback", *_key(fb.span), _short(header), program.name))
        for deemed in program.deemed:
            if deemed.span.line < 1:
                continue
            header = texts.of(deemed.span).split("{")[0].strip()
            self._add(Item("deemed", *_key(deemed.span), _short(header), program.name))

    def _add(self, item: Item) -> None:
        self.items.setdefault(item.key, item)

    # ---- what the tests exercised -------------------------------------------------------------

    def record(self, outcome: Outcome, by: str | None = None) -> None:
        """Mark what one evaluation exercised (and what its sub-assemblies' evaluations did):
        the rules, requirements and fallbacks the evaluator reports it applied. ``by`` names
        the case (``file:line name [AGREEMENT]``); each item keeps the cases that exercised it."""
        for rule, trace in outcome.applied:
            self._mark(_key(rule.node.span), by)
            self._alternatives(rule, trace, by)
        for req, _ in outcome.requirements:
            self._mark(_key(req.node.span), by)
        for fb, trace in outcome.fallbacks:
            if trace.result is True:  # a fallback that held for the good
                self._mark(_key(fb.node.span), by)
        for deemed, trace in outcome.deemed:
            if trace.result is True:  # it deemed the good originating
                self._mark(_key(deemed.node.span), by)
        for node in outcome.trace.walk():
            if isinstance(node.sub, Outcome):
                self.record(node.sub, by)

    def _alternatives(self, rule: CompiledRule, trace: Trace | None, by: str | None = None) -> None:
        if trace is None:
            return
        for index, line in enumerate(rule.node.criteria):
            if not isinstance(line, ast.Or) or index >= len(trace.children):
                continue
            kids = trace.children[index].children
            for alternative, kid in zip(line.operands, kids):
                if kid.result is True:
                    self._mark(_key(alternative.span), by)

    def _mark(self, key: tuple[str, int, int], by: str | None = None) -> None:
        item = self.items.get(key)
        if item is not None:
            item.exercised = True
            if by is not None and by not in item.by:
                item.by.append(by)

    # ---- figures ------------------------------------------------------------------------------

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def exercised(self) -> int:
        return sum(1 for i in self.items.values() if i.exercised)

    @property
    def fraction(self) -> Fraction:
        """Exercised share in percent, exact (100 when there is nothing to cover)."""
        return Fraction(100) if not self.items else Fraction(100 * self.exercised, self.total)

    def percent_text(self) -> str:
        """The percentage with one decimal, rounded down (never shows 100.0 short of 100)."""
        tenths = (self.fraction * 10).__floor__()
        return f"{tenths // 10}.{tenths % 10}"

    def by_kind(self) -> dict[str, tuple[int, int]]:
        """``{kind: (exercised, total)}`` for rules, alternatives, requirements, fallbacks and deemings."""
        out = {}
        for kind in KINDS:
            items = [i for i in self.items.values() if i.kind == kind]
            out[kind] = (sum(1 for i in items if i.exercised), len(items))
        return out

    def sorted_items(self) -> list[Item]:
        return sorted(self.items.values(), key=lambda i: i.key)

    def to_dict(self) -> dict:
        return {
            "exercised": self.exercised,
            "total": self.total,
            "percent": self.percent_text(),
            "by_kind": {k: {"exercised": e, "total": t} for k, (e, t) in self.by_kind().items()},
            "items": [i.to_dict() for i in self.sorted_items()],
        }
