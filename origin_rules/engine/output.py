"""Outcome -> Determination: the evaluator's internal result as the public JSON model.

In: an :class:`~origin_rules.engine.evaluate.Outcome`. Out: a
:class:`~origin_rules.model.determination.Determination` (docs/bom.md), with the explanation tree
(``summary``: the decisive path; ``full``: every node) and headroom for each threshold;
``plain=True``: its explanation texts and failure reasons as plain text (the engine's texts
quote codes and ids with Markdown backticks, which a JSON consumer and a terminal would
show literally).

The models are built with :func:`~origin_rules.model.determination.assemble`: every value
below is made in the form the models' validators would give it (text, decimals as exact
text, lists, the literals), so validating it again would only repeat the work
(``tests/test_determination_build.py`` compares the two over generated outcomes).
"""

from __future__ import annotations

from datetime import date

from ..model.determination import (
    Determination, ExplanationNode, FailedMaterial, Headroom, RuleRef, assemble, decimal_text,
)
from ..model.slots import assemble_all, maker
from .evaluate import Outcome
from .measures import margin_texts, money
from .trace import Trace

RESULT = {True: "true", False: "false", None: "unknown"}
_AMOUNTS = frozenset({"vnm", "vom", "fvnm"})
_PERCENTAGES = ("rvc", "max_nom")
_KIND: dict[str, bool] = {}  # figure name -> whether it is shown as an amount (money)


def _figures(figures: dict) -> dict[str, str]:
    """Figures as the text a determination shows: amounts with at least two decimals,
    percentages as computed; text figures (names) are left out."""
    out = {}
    for name, value in figures.items():
        if isinstance(value, str):
            continue
        amount = _KIND.get(name)
        if amount is None:
            if len(_KIND) >= 4096:
                _KIND.clear()
            amount = _KIND[name] = name in _AMOUNTS or not name.startswith(_PERCENTAGES)
        out[name] = money(value) if amount else decimal_text(value)
    return out


_explanation_node = maker(ExplanationNode)
_headroom = maker(Headroom)
_failed_material = maker(FailedMaterial)


def _node(t: Trace, layers: dict[str, bool], full: bool, plain: bool, depth: int = 0) -> ExplanationNode:
    children = t.children
    if children:
        if not full and depth:  # a summary keeps the children that decided the node's result
            result = t.result
            if result is not None and t.kind != "rule":
                children = [c for c in children if c.result is None or c.result == result or c.sub is not None]
        children = [_node(c, layers, full, plain, depth + 1) for c in children]
    else:
        children = []
    text = t.text if not t.note else f"{t.text} ({t.note})"
    if plain and "`" in text:
        text = text.replace("`", "")
    layer = t.layer
    return _explanation_node({
        "text": text,
        "source": t.source,
        "result": RESULT[t.result],
        "figures": _figures(t.figures) if t.figures else {},
        "materials": list(t.materials),
        "children": children,
        "sub_determination": None if t.sub is None else to_determination(t.sub, full=full, plain=plain),
        "origin": None if layer is None else ("scenario" if layers.get(layer) else "agreement"),
    })


def _validated(cls: type[Determination], values: dict) -> Determination:
    return cls(**values)


def to_determination(out: Outcome, full: bool = False, plain: bool = False) -> Determination:
    rule = None
    if out.rule is not None:
        node = out.rule.node
        rule = assemble_all(RuleRef, {
            "selector": out.rule.selector_text,
            "title": node.title,
            "source": node.span.where,
            "cite": "; ".join(node.cites) or None,
        })
    agreement = out.chain[-1] if out.chain else out.agreement
    layers = {name: name != agreement for name in out.chain}
    headroom = [
        _headroom({
            "criterion": m.criterion,
            "source": m.source,
            "figure": m.figure,
            "value": texts[0],
            "threshold": texts[1],
            "comparison": m.comparison,
            "margin": texts[2],
            "flip_value": money(m.flip_value) if m.flip_value is not None else None,
            "holds": m.holds,
        })
        for m in out.margins for texts in (margin_texts(m),)
    ]
    build = assemble if type(out.as_of) is date else _validated  # a datetime, say: pydantic's reading of it
    return build(Determination, {
        "product_id": out.good.id,
        "hs": out.good.hs_text,
        "agreement": out.agreement,
        "as_of": out.as_of,
        "verdict": out.verdict,
        "origin_criterion": out.criterion,
        "rule": rule,
        "figures": _figures(out.figures),
        "headroom": headroom,
        "explanation": _node(out.trace, layers, full, plain),
        "missing": list(out.missing),
        "failed_materials": [_failed_material({"id": f.id, "hs": f.hs, "reason": f.reason.replace("`", "") if plain else f.reason})
                             for f in out.failures],
        "rules_digest": out.digest,
    })
