"""Diff reports: comparisons -> text for people, JSON for CI. Nothing here prints.

In: :class:`~origin_rules.diff.compare.Comparison` values and the stated intent
(``--expect``). Out: text (the changes in words, wording-only edits, the BOMs of the
portfolio that flip with each side's reason, the counterexamples as YAML documents a user
can save and evaluate, the verdict), or a JSON document with the same content; and
:func:`expectation`, which says whether the intent holds and, when not, why.

Intent: ``stricter`` holds when no looser evidence was found (no BOM gains); ``looser`` when
no stricter evidence was found; ``equivalent`` when no difference at all was found.
"""

from __future__ import annotations

import json
import shlex

import yaml

from .compare import Comparison
from .search import Finding, classify

CONTRARY = {"stricter": {"looser"}, "looser": {"stricter"}, "equivalent": {"stricter", "looser"}}


def overall(comparisons: list[Comparison]) -> str:
    """The verdict over every comparison (``mixed`` as soon as both directions appear)."""
    return classify(set().union(*(c.directions for c in comparisons)) if comparisons else set())


def expectation(comparisons: list[Comparison], expect: str | None) -> tuple[bool | None, str]:
    """(held?, message); (None, "") when nothing was expected."""
    if expect is None:
        return None, ""
    found = set().union(*(c.directions for c in comparisons)) if comparisons else set()
    against = found & CONTRARY[expect]
    if against:
        return False, f"expected {expect}, but {' and '.join(sorted(against))} evidence was found (see above)"
    note = ""
    if expect != "equivalent" and expect not in found:
        note = f" (no {expect} example was found either: the edit may change nothing)"
    return True, f"expected {expect}: holds{note}"


# ---- text ------------------------------------------------------------------------------------------


def _bom_yaml(finding: Finding, c: Comparison) -> str:
    data = json.loads(finding.bom.to_json())
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100).rstrip()
    on = finding.as_of.isoformat()
    lines = [
        f"# counterexample ({finding.direction}{'' if finding.shrunk else ', not shrunk'}) "
        + (f"for: {finding.change}" if finding.origin == "search" else f"simplified from the {finding.change}"),
        f"# old, {c.old.label}: {_verdict(finding.old_verdict, finding.old_reason)}",
        f"# new, {c.new.label}: {_verdict(finding.new_verdict, finding.new_reason)}",
    ]
    for side, word in ((c.old, "old"), (c.new, "new")):
        if side.paths:
            rules = " ".join(f"--rules {shlex.quote(p)}" for p in side.paths)
            lines.append(f"# evaluate ({word}): origin-rules evaluate FILE.yaml {rules} --under {shlex.quote(side.name)} --as-of {on}")
    return "\n".join(lines) + "\n" + body


def _verdict(verdict: str, reason: str) -> str:
    return f"{verdict}: {reason}" if reason else verdict


def render_comparison(c: Comparison) -> str:
    out: list[str] = [f"Comparing {c.old.label} with {c.new.label}", ""]
    changes = c.structural.changes
    if changes:
        out.append(f"Changes in meaning ({len(changes)}):")
        for ch in changes:
            out.append(f"  {ch.summary}")
            where = " -> ".join(w for w in (ch.old_source and f"old {ch.old_source}", ch.new_source and f"new {ch.new_source}") if w)
            if where:
                out.append(f"      [{where}]")
    else:
        out.append("No change in meaning: the normalized rules are identical (layout, comments, order or wording only).")
    if c.structural.wording:
        out.append("")
        out.append("Wording only (no change in meaning):")
        out.extend(f"  {w}" for w in c.structural.wording)
    if c.impact is not None:
        imp = c.impact
        out.append("")
        out.append(f"Portfolio, as of {imp.as_of.isoformat()}: {imp.summary}")
        for f in imp.flips:
            out.append(f"  {f.product_id} ({f.hs or 'no HS code'}): {f.old_verdict} -> {f.new_verdict}  [{f.source}]")
            out.append(f"      old: {_verdict(f.old_verdict, f.old_reason)}")
            out.append(f"      new: {_verdict(f.new_verdict, f.new_reason)}")
        for e in imp.errors:
            out.append(f"  unreadable: {e}")
    if c.search is not None:
        s = c.search
        out.append("")
        n = len(s.per_change)
        out.append(f"Counterexample search (seed {s.seed}, up to {s.budget} examples per hunt, "
                   f"{n} change{'s' if n != 1 else ''}, {s.examples} examples): {s.text}")
        for cs in s.per_change:
            label = cs.verdict if cs.verdict != "equivalent" else f"no difference found in {cs.examples} examples"
            out.append(f"  {cs.change.summary}: {label}")
        for f in s.findings:
            out.append("")
            out.append(_bom_yaml(f, c))
    out.append("")
    out.append(f"Verdict: {c.verdict_text}")
    return "\n".join(out)


def render_text(comparisons: list[Comparison], expect: str | None = None, notes: list[str] | None = None) -> str:
    parts = [render_comparison(c) for c in comparisons]
    text = ("\n\n" + "=" * 88 + "\n\n").join(parts)
    tail: list[str] = list(notes or [])
    if len(comparisons) > 1:
        tail.append(f"Overall verdict: {overall(comparisons)}")
    held, message = expectation(comparisons, expect)
    if held is not None:
        tail.append(("OK: " if held else "FAILED: ") + message)
    return text + ("\n\n" + "\n".join(tail) if tail else "")


# ---- JSON ------------------------------------------------------------------------------------------


def comparison_dict(c: Comparison) -> dict:
    return {
        "old": {"name": c.old.name, "label": c.old.label, "rules": list(c.old.paths)},
        "new": {"name": c.new.name, "label": c.new.label, "rules": list(c.new.paths)},
        "same_meaning": c.structural.same_meaning,
        "changes": [ch.to_dict() for ch in c.structural.changes],
        "wording": list(c.structural.wording),
        "impact": c.impact.to_dict() if c.impact is not None else None,
        "search": c.search.to_dict() if c.search is not None else None,
        "verdict": c.verdict,
        "verdict_text": c.verdict_text,
    }


def render_json(comparisons: list[Comparison], expect: str | None = None, notes: list[str] | None = None) -> str:
    held, message = expectation(comparisons, expect)
    doc = {
        "comparisons": [comparison_dict(c) for c in comparisons],
        "verdict": overall(comparisons),
        "expect": expect,
        "expectation_met": held,
        "expectation": message or None,
        "notes": list(notes or []),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)
