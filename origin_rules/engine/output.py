"""Outcome -> Determination: the evaluator's internal result as the public JSON model.

In: an :class:`~origin_rules.engine.evaluate.Outcome`. Out: a
:class:`~origin_rules.model.determination.Determination` (docs/bom.md), with the explanation tree
(``summary``: the decisive path; ``full``: every node) and headroom for each threshold.
"""

from __future__ import annotations

from ..model.determination import Determination, ExplanationNode, FailedMaterial, Headroom, RuleRef
from .evaluate import Outcome
from .measures import money
from .trace import Trace

RESULT = {True: "true", False: "false", None: "unknown"}


def _figures(figures: dict) -> dict[str, str]:
    out = {}
    for name, value in figures.items():
        if isinstance(value, str):
            continue
        out[name] = money(value) if name in ("vnm", "vom", "fvnm") or not name.startswith(("rvc", "max_nom")) else format(value, "f")
    return out


def _node(t: Trace, layers: dict[str, bool], full: bool, depth: int = 0) -> ExplanationNode:
    children = t.children if full or depth == 0 else [c for c in t.children if _decisive(t, c)]
    text = t.text if not t.note else f"{t.text} ({t.note})"
    return ExplanationNode(
        text=text,
        source=t.source,
        result=RESULT[t.result],
        figures=_figures(t.figures),
        materials=list(t.materials),
        children=[_node(c, layers, full, depth + 1) for c in children],
        sub_determination=to_determination(t.sub, full=full) if t.sub is not None else None,
        origin=None if t.layer is None else ("scenario" if layers.get(t.layer) else "agreement"),
    )


def _decisive(parent: Trace, child: Trace) -> bool:
    """In a summary keep the children that decided the parent's result."""
    if parent.result is None or child.result is None:
        return True
    if parent.kind == "rule" or not parent.children:
        return True
    return child.result == parent.result or child.sub is not None


def to_determination(out: Outcome, full: bool = False) -> Determination:
    rule = None
    if out.rule is not None:
        node = out.rule.node
        rule = RuleRef(
            selector=out.rule.selector_text,
            title=node.title,
            source=node.span.where,
            cite="; ".join(node.cites) or None,
        )
    agreement = out.chain[-1] if out.chain else out.agreement
    layers = {name: name != agreement for name in out.chain}
    headroom = [
        Headroom(
            criterion=m.criterion,
            source=m.source,
            figure=m.figure,
            value=format(m.value, "f"),
            threshold=format(m.threshold, "f"),
            comparison=m.comparison if m.comparison in (">=", "<=") else (">=" if m.comparison == ">" else "<="),
            margin=format(m.margin, "f"),
            flip_value=money(m.flip_value) if m.flip_value is not None else None,
            holds=m.holds,
        )
        for m in out.margins
    ]
    return Determination(
        product_id=out.good.id,
        hs=out.good.hs_text,
        agreement=out.agreement,
        as_of=out.as_of,
        verdict=out.verdict,
        origin_criterion=out.criterion,
        rule=rule,
        figures=_figures(out.figures),
        headroom=headroom,
        explanation=_node(out.trace, layers, full),
        missing=out.missing,
        failed_materials=[FailedMaterial(id=f.id, hs=f.hs, reason=f.reason) for f in out.failures],
        rules_digest=out.digest,
    )

