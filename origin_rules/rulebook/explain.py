"""Determinations as text for an analyst.

In: :class:`~origin_rules.model.determination.Determination` values. Out: plain text: the verdict
first, then the warnings on the input, why (the explanation tree with a mark per step:
``✓`` holds, ``✗`` fails, ``?`` unknown), the figures, the headroom to each threshold
(under a QUALIFIES verdict, failing alternatives that were not needed are set apart), and
the materials to look at.
Also a compact table for several agreements or BOMs. Nothing here prints.
"""

from __future__ import annotations

from ..model.determination import Determination, ExplanationNode

MARK = {"true": "✓", "false": "✗", "unknown": "?"}
WORDS = {
    "qualifies": "QUALIFIES",
    "does_not_qualify": "DOES NOT QUALIFY",
    "insufficient_data": "INSUFFICIENT DATA",
    "no_rule": "NO RULE",
}
FIGURE_NAMES = {
    "transaction_value": "transaction value",
    "net_cost": "net cost",
    "total_cost": "total cost",
    "fob": "FOB",
    "ex_works": "ex-works price",
    "vnm": "VNM",
    "vom": "VOM",
    "fvnm": "focused VNM",
}


def figure_name(name: str) -> str:
    if name in FIGURE_NAMES:
        return FIGURE_NAMES[name]
    if name.startswith("rvc_"):
        return "RVC (" + name[4:].replace("_", " ") + ")"
    if name.startswith("max_nom_"):
        return "MaxNOM (" + name[8:].replace("_", " ") + ")"
    return name.replace("_", " ")


def _tree(node: ExplanationNode, depth: int, out: list[str], full: bool) -> None:
    pad = "  " * depth
    where = f"  [{node.source}]" if node.source else ""
    layer = "  (scenario)" if node.origin == "scenario" else ""
    figures = ""
    if node.figures:
        figures = "  — " + ", ".join(f"{figure_name(k)} {v}{'%' if k.startswith(('rvc', 'max_nom')) else ''}" for k, v in node.figures.items())
    out.append(f"{pad}{MARK[node.result]} {node.text}{figures}{layer}{where}")
    for child in node.children:
        _tree(child, depth + 1, out, full)
    if node.sub_determination is not None and full:
        sub = node.sub_determination
        if sub.explanation is not None:
            for child in sub.explanation.children:
                _tree(child, depth + 1, out, full)


def _percent_figure(name: str) -> bool:
    return name.startswith(("rvc", "max_nom"))


def render(det: Determination, full: bool = False) -> str:
    """One determination, for a person."""
    out: list[str] = []
    hs = f" ({det.hs})" if det.hs else ""
    out.append(f"{det.product_id}{hs} under {det.agreement}, as of {det.as_of.isoformat()}: {WORDS[det.verdict]}")
    if det.rule is not None:
        title = f' "{det.rule.title}"' if det.rule.title else ""
        out.append(f"  rule {det.rule.selector}{title}  [{det.rule.source}]")
        if det.rule.cite:
            out.append(f"  source: {det.rule.cite}")
    if det.origin_criterion:
        out.append(f"  origin criterion: {det.origin_criterion.replace('_', ' ')}")
    if det.warnings:
        out.append("")
        out.append("Warnings (check the BOM before relying on this verdict):")
        out.extend(warning_line(w) for w in det.warnings)
    if det.missing:
        out.append("")
        out.append("Missing data (needed to decide):")
        out.extend(f"  - {m}" for m in det.missing)
    hidden: set[str] = set()  # sources of steps about other goods, left out without product.hs
    kept: set[str] = set()
    if det.explanation is not None:
        out.append("")
        out.append("Why:")
        children = det.explanation.children
        if det.hs is None and not full:
            maybe = [c for c in children if c.result != "false" and _depends_on_code(c)]
            for node in maybe:
                _sources(node, hidden)
            children = [c for c in children if c not in maybe]
        for child in children:
            _tree(child, 1, out, full)
            _sources(child, kept)
        if hidden:
            n = len([c for c in det.explanation.children if c.source in hidden])
            out.append(f"  ? {n} requirement{'s' if n != 1 else ''} of other goods could apply until product.hs is "
                       "known (left out here; `--explain full` shows them)")
    if det.figures:
        out.append("")
        out.append("Figures:")
        for name, value in det.figures.items():
            unit = "%" if _percent_figure(name) else ""
            out.append(f"  {figure_name(name):<22} {value}{unit}")
    shown = [h for h in det.headroom if not hidden or h.source in kept]
    needed, unneeded = shown, []
    if det.verdict == "qualifies":  # a failing threshold did not decide: another way qualified
        needed = [h for h in shown if h.holds]
        unneeded = [h for h in shown if not h.holds]
    if needed:
        out.append("")
        out.append("Headroom:")
        for h in needed:
            out.append("  " + headroom_line(h))
    if unneeded:
        out.append("")
        out.append("Alternatives not needed (the good qualifies another way; shown for reference):")
        for h in unneeded:
            out.append("  " + headroom_line(h))
    if det.failed_materials:
        out.append("")
        out.append("Materials to look at:")
        for f in det.failed_materials:
            hs = f" ({f.hs})" if f.hs else ""
            out.append(f"  - {f.id}{hs}: {f.reason}")
    return "\n".join(out)


def _depends_on_code(node: ExplanationNode) -> bool:
    return node.text.startswith("require") and "depends on missing facts" in node.text


def _sources(node: ExplanationNode, out: set[str]) -> None:
    if node.source:
        out.add(node.source)
    for child in node.children:
        _sources(child, out)


def warning_line(w) -> str:
    """``  - product.hs: `84.69` was deleted in HS 2022 ... [BOM101]``"""
    where = f"{w.path}: " if w.path else ""
    return f"  - {where}{w.message} [{w.code}]"


def headroom_line(h) -> str:
    """``RVC (net cost) 61.00% against 60% (>=): 1.00 point of headroom; ...``"""
    where = f"  [{h.source}]" if h.source else ""
    margin = h.margin.lstrip("-")
    if h.criterion.startswith("fact("):  # a declared percentage (`fact(lvc) >= 40%`), in points
        points = "point" if margin == "1" else "points"
        head = f"{h.figure} {h.value}% (declared) against {h.threshold}% ({h.comparison})"
        return (f"{head}: {margin} {points} of headroom" if h.holds else f"{head}: fails by {margin} {points}") + where
    if h.figure.startswith(("rvc", "max_nom")):
        points = "point" if margin == "1.00" else "points"
        head = f"{figure_name(h.figure)} {h.value}% against {h.threshold}% ({h.comparison})"
        strict = h.comparison in (">", "<")  # the boundary itself fails a strict test
        if h.holds:
            line = f"{head}: {margin} {points} of headroom"
            if h.flip_value is not None:
                line += (f"; {h.flip_value} or more of additional non-originating value would fail it" if strict
                         else f"; more than {h.flip_value} of additional non-originating value would fail it")
        else:
            line = f"{head}: fails by {margin} {points}"
            if h.flip_value is not None:
                less = h.flip_value.lstrip("-")
                line += (f"; more than {less} less non-originating value would meet it" if strict
                         else f"; {less} less non-originating value would meet it")
        return line + where
    # a value or weight test: `value(FILTER) <= 10% of transaction_value`
    unit = " kg" if h.figure in ("weight", "polymer_weight") else ""
    head = f"{h.criterion}: {h.value}{unit} against a limit of {h.threshold}{unit}"
    if h.holds:
        line = f"{head}: {margin}{unit} of headroom"
        if h.flip_value is not None:
            line += (f"; {h.flip_value}{unit} or more of it would fail it" if h.comparison in (">", "<")
                     else f"; more than {h.flip_value}{unit} more of it would fail it")
    else:
        if h.margin.strip("-0.") == "" and h.comparison in (">", "<"):  # at the limit, which a strict test excludes
            line = f"{head}: must be {'more' if h.comparison == '>' else 'less'} than it"
        else:
            line = f"{head}: {'over' if h.comparison in ('<=', '<') else 'short'} by {margin}{unit}"
    return line + where


def one_line_reason(det: Determination) -> str:
    """Why a good does not qualify, in one line (for tables); a supplier certification not
    valid on the date (warning BOM108) is named after it."""
    reason = _one_line_reason(det)
    lapsed = [w.message for w in getattr(det, "warnings", ()) if w.code == "BOM108"] if reason else []
    return "; ".join([reason, *lapsed])


def _one_line_reason(det: Determination) -> str:
    if det.verdict == "insufficient_data":
        return "missing " + ", ".join(det.missing[:4]) + (" ..." if len(det.missing) > 4 else "")
    if det.verdict == "no_rule":
        return "no rule covers this code"
    if det.verdict == "qualifies" or det.explanation is None:
        return ""
    failing = [c for c in det.explanation.children if c.result == "false"]
    if not failing:
        return ""
    # the rule applied is the node at the rule's own source (by identity, not by its text)
    rule_source = det.rule.source if det.rule is not None else None
    node = failing[0]
    while True:
        deeper = [c for c in node.children if c.result == "false"]
        if not deeper or (rule_source is not None and node.source == rule_source):
            break
        node = deeper[0]
    reason = node.text
    if rule_source is not None and node.source == rule_source:
        reason = f"fails rule {det.rule.selector} [{node.source}]"
    elif node.source:
        reason += f" [{node.source}]"
    bad = [h for h in det.headroom if not h.holds]
    if bad:
        h = bad[0]
        percent = h.figure.startswith(("rvc", "max_nom"))
        what = figure_name(h.figure) if percent else h.figure
        reason += f"; {what} {h.value}{'%' if percent else ''} against {h.threshold}{'%' if percent else ''}"
    return reason
