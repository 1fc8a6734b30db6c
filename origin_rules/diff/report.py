"""Diff reports: comparisons -> text for people, JSON for CI. Nothing here prints.

In: :class:`~origin_rules.diff.compare.Comparison` values and the stated intent
(``--expect``). Out: text (the changes in words, wording-only edits, the BOMs of the
portfolio that flip with each side's reason, the counterexamples as YAML documents a user
can save and evaluate, the verdict), or a JSON document with the same content; and
:func:`expectation`, which says whether the intent holds and, when not, why.

Several comparisons (two versions of a rulebook compared name by name, or an agreement
against each of its scenarios) are shown grouped: a change found in several comparisons
(an edit of an agreement that the scenarios built on it inherit) is shown once, with the
names it holds under (``under USMCA and the 5 scenarios built on it (...)``); so are a
portfolio outcome, a search result and a counterexample that several comparisons share.
The JSON keeps every comparison whole and adds ``changes``, the grouped list, each with
the names it holds under (``under``: those it does not inherit from another name of the
list; ``inherited_by``: the scenarios that inherit it); each change of a comparison points
to its group by ``group``.

Names of one side only (:class:`~origin_rules.diff.compare.OneSided`: an agreement or
scenario removed or added) turn the report into the grouped one: each is listed in the
portfolio with the BOMs that lose (get) a verdict under it, and among the verdicts; a
removed name is stricter evidence, an added one looser evidence, in the overall verdict and
for the intent.

Intent: ``stricter`` holds when no looser evidence was found (no BOM gains); ``looser`` when
no stricter evidence was found; ``equivalent`` when no difference at all was found.
"""

from __future__ import annotations

import json
import re
import shlex

import yaml

from .compare import Comparison, OneSided
from .search import Finding, classify

CONTRARY = {"stricter": {"looser"}, "looser": {"stricter"}, "equivalent": {"stricter", "looser"}}


def _directions(comparisons: list[Comparison], one_sided=()) -> set[str]:
    return set().union(*(c.directions for c in comparisons), {o.direction for o in one_sided})


def overall(comparisons: list[Comparison], one_sided: list[OneSided] = ()) -> str:
    """The verdict over every comparison and name of one side only (``mixed`` as soon as both
    directions appear; with proofs, ``both``, and ``unknown`` when a proof could not settle
    the rest)."""
    found = _directions(comparisons, one_sided)
    if any(c.proof is not None for c in comparisons):
        if {"stricter", "looser"} <= found:
            return "both"
        if any(c.verdict == "unknown" for c in comparisons):
            return "unknown"
    return classify(found)


def expectation(comparisons: list[Comparison], expect: str | None,
                one_sided: list[OneSided] = ()) -> tuple[bool | None, str]:
    """(held?, message); (None, "") when nothing was expected. With ``--prove`` the intent
    holds only when it is proven: an unknown answer does not confirm it. A name removed is
    stricter evidence, one added looser evidence (``one_sided``)."""
    if expect is None:
        return None, ""
    found = _directions(comparisons, one_sided)
    against = found & CONTRARY[expect]
    if against:
        seen = _directions(comparisons) & CONTRARY[expect]
        reasons = [f"{' and '.join(sorted(seen))} evidence was found (see above)"] if seen else []
        for word, way in (("removed", "stricter"), ("added", "looser")):
            names = [f"`{o.side.name}`" for o in one_sided if o.word == word and way in against]
            if names:
                reasons.append(f"{', '.join(names)} {'was' if len(names) == 1 else 'were'} {word} ({way})")
        return False, f"expected {expect}, but {' and '.join(reasons)}"
    unproven = [c for c in comparisons if c.proof is not None and c.verdict == "unknown"]
    if unproven:
        return False, f"expected {expect}, but it could not be proven: {unproven[0].proof.reason}"
    if any(c.proof is not None for c in comparisons):
        return True, f"expected {expect}: proven"
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
        + (f"for: {finding.change}" if finding.origin in ("search", "prove") else f"simplified from the {finding.change}"),
        f"# old, {c.old.label}: {_verdict(finding.old_verdict, finding.old_reason)}",
        f"# new, {c.new.label}: {_verdict(finding.new_verdict, finding.new_reason)}",
    ]
    for side, word in ((c.old, "old"), (c.new, "new")):
        if side.paths:
            rules = " ".join(f"--rules {shlex.quote(p)}" for p in side.paths)
            lines.append(f"# evaluate ({word}): origin-rules evaluate FILE.yaml {rules} --under {shlex.quote(side.name)} --as-of {on}")
    return "\n".join(lines) + "\n" + body


def counterexample_files(comparisons: list[Comparison]) -> list[tuple[str, str]]:
    """(file name, YAML text) of every counterexample of the search or the proof, one file
    per comparison and direction: ``NAME-stricter.yaml`` (the comments say how to evaluate it)."""
    out: dict[str, str] = {}
    for c in comparisons:
        found = (c.proof.findings if c.proof is not None else []) + (c.search.findings if c.search is not None else [])
        for f in found:
            stem = re.sub(r"[^A-Za-z0-9._-]+", "-", c.new.name).strip("-") or "rules"
            name = f"{stem}-{f.direction}.yaml"
            out.setdefault(name, _bom_yaml(f, c) + "\n")
    return list(out.items())


def _verdict(verdict: str | None, reason: str) -> str:
    verdict = _word(verdict)
    return f"{verdict}: {reason}" if reason else verdict


def _word(verdict: str | None) -> str:
    """A verdict in words; None (the name is not on that side) is ``no verdict``."""
    return "no verdict" if verdict is None else verdict


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
            out.append(f"  {f.product_id} ({f.hs or 'no HS code'}): {_word(f.old_verdict)} -> {_word(f.new_verdict)}  [{f.source}]")
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
    if c.proof is not None:
        out.append("")
        out.append(f"Proof ({_proof_scope(c.proof)}): {c.proof.text}")
        for f in c.proof.findings:
            out.append("")
            out.append(_bom_yaml(f, c))
    out.append("")
    out.append(f"Verdict: {c.verdict_text}")
    return "\n".join(out)


# ---- several comparisons, grouped -------------------------------------------------------------------


def _ancestors(c: Comparison) -> tuple[str, ...]:
    """The names the new side of ``c`` is built on (a scenario's bases, nearest first)."""
    program = c.new.book.parsed.programs.get(c.new.name)
    return tuple(program.chain[1:]) if program is not None else ()


class _Names:
    """Names of comparisons (the new side's), and how a subset of them reads in words:
    ``USMCA and the 5 scenarios built on it (A, B, ...)``; ``CPTPP; EU-UK TCA``."""

    def __init__(self, comparisons: list[Comparison], short: bool = False):
        self.order = [c.new.name for c in comparisons]
        self.ancestors = {c.new.name: _ancestors(c) for c in comparisons}
        self.short = short  # the heading lists every family: later mentions may abbreviate

    def families(self, names) -> list[tuple[str, list[str]]]:
        """(root, the names built on it) for ``names``: a root is a name none of whose bases
        is among ``names``; every other name goes with the furthest of its bases that is."""
        present = [n for n in self.order if n in set(names)]
        inside = set(present)
        out: dict[str, list[str]] = {}
        for name in present:
            up = [a for a in self.ancestors.get(name, ()) if a in inside]
            if not up:
                out.setdefault(name, [])
        for name in present:
            up = [a for a in self.ancestors.get(name, ()) if a in inside]
            if up:
                out.setdefault(up[-1], []).append(name)
        return list(out.items())

    def text(self, names, full: bool = False) -> str:
        """The names in words. A root with every compared scenario built on it reads
        ``USMCA and its 5 scenarios`` (the heading lists them, ``full``); one with some of
        them lists those: ``USMCA and the scenario built on it (A)``."""
        chosen = set(names)
        short = self.short and not full
        if short and chosen == set(self.order) and len(self.families(self.order)) > 1:
            return f"all {len(self.order)} agreements and scenarios"
        parts = []
        for root, heirs in self.families(names):
            every = [n for n in self.order if root in self.ancestors.get(n, ())]
            listed = not any(a in self.order for a in self.ancestors.get(root, ()))  # a family of the heading
            if heirs and heirs == every and short and listed:
                parts.append(f"{root} and its {'scenario' if len(heirs) == 1 else f'{len(heirs)} scenarios'}")
            elif heirs:
                word = "scenario" if len(heirs) == 1 else f"{len(heirs)} scenarios"
                parts.append(f"{root} and the {word} built on it ({', '.join(heirs)})")
            else:
                parts.append(root)
        return "; ".join(parts)


def _change_key(ch) -> tuple:
    return (ch.kind, ch.summary)


def change_groups(comparisons: list[Comparison]) -> list[tuple[object, list[str], dict[tuple, list[str]]]]:
    """Each distinct change once, in order of first appearance: the change, the names (new
    sides) of the comparisons that show it, and those names by where the change is made
    (``(old_source, new_source)``: two scenarios may restate the same edit each)."""
    groups: dict[tuple, tuple[object, list[str], dict[tuple, list[str]]]] = {}
    for c in comparisons:
        for ch in c.structural.changes:
            _, names, places = groups.setdefault(_change_key(ch), (ch, [], {}))
            names.append(c.new.name)
            places.setdefault((ch.old_source, ch.new_source), []).append(c.new.name)
    return list(groups.values())


def _where(old_source: str | None, new_source: str | None) -> str:
    return " -> ".join(w for w in (old_source and f"old {old_source}", new_source and f"new {new_source}") if w)


def _grouped(items) -> list[tuple[object, list[str]]]:
    """``(key, name)`` pairs -> ``(key, [names])`` in order of first appearance."""
    out: dict = {}
    for key, name in items:
        names = out.setdefault(key, [])
        if name not in names:
            names.append(name)
    return list(out.items())


def _by_name(comparisons: list[Comparison]) -> bool:
    """Two versions of a rulebook, compared name by name."""
    first = comparisons[0]
    return all(c.old.name == c.new.name for c in comparisons) and first.old.book is not first.new.book


def _heading(comparisons: list[Comparison], names: _Names) -> str:
    first = comparisons[0]
    if _by_name(comparisons):
        old = " ".join(first.old.paths) or "the old rules"
        new = " ".join(first.new.paths) or "the new rules"
        return f"Comparing {old} with {new}, name by name: {names.text(names.order, full=True)}"
    olds = list(dict.fromkeys(c.old.name for c in comparisons))
    if len(olds) == 1:
        return f"Comparing {olds[0]} with each of: {'; '.join(names.order)}"
    return "Comparing " + "; ".join(f"{c.old.name} with {c.new.name}" for c in comparisons)


def _flip_lines(f) -> list[str]:
    return [f"    {f.product_id} ({f.hs or 'no HS code'}): {_word(f.old_verdict)} -> {_word(f.new_verdict)}  [{f.source}]",
            f"        old: {_verdict(f.old_verdict, f.old_reason)}",
            f"        new: {_verdict(f.new_verdict, f.new_reason)}"]


def _finding_key(f: Finding) -> tuple:
    return (f.change, f.direction, f.origin, f.bom.to_json(), f.as_of, f.old_verdict, f.new_verdict,
            f.old_reason, f.new_reason, f.shrunk)


def render_grouped(comparisons: list[Comparison], one_sided: list[OneSided] = ()) -> str:
    """Several comparisons as one report, each change, outcome and counterexample once; and
    the names of one side only (``one_sided``): in the portfolio and among the verdicts."""
    names = _Names(comparisons, short=_by_name(comparisons))
    under = names.text
    out: list[str] = [_heading(comparisons, names), ""]
    groups = change_groups(comparisons)
    same = [c.new.name for c in comparisons if c.structural.same_meaning]
    if groups:
        out.append(f"Changes in meaning ({len(groups)}):")
        for ch, _, places in groups:
            out.append(f"  {ch.summary}")
            for (old_source, new_source), place_names in places.items():
                where = _where(old_source, new_source)
                out.append(f"      {f'[{where}] ' if where else ''}under {under(place_names)}")
    if same:
        if groups:
            out.append("")
        out.append(f"No change in meaning under {under(same)}: the normalized rules are identical "
                   "(layout, comments, order or wording only).")
    wording = _grouped((w, c.new.name) for c in comparisons for w in c.structural.wording)
    if wording:
        out.append("")
        out.append("Wording only (no change in meaning):")
        out.extend(f"  {w}  (under {under(ns)})" for w, ns in wording)
    impacts = [(c, c.impact) for c in comparisons if c.impact is not None]
    alone = [o for o in one_sided if o.impact is not None]
    if impacts or alone:
        out.append("")
        out.append(f"Portfolio, as of {(impacts[0][1] if impacts else alone[0].impact).as_of.isoformat()}:")
        outcomes = _grouped(((imp.summary, tuple(_flip_key(f) for f in imp.flips)), c.new.name) for c, imp in impacts)
        flips = {_flip_key(f): f for _, imp in impacts for f in imp.flips}
        for (summary, keys), ns in outcomes:
            out.append(f"  under {under(ns)}: {summary}")
            for key in keys:
                out.extend(_flip_lines(flips[key]))
        for o in alone:
            out.append(f"  under {o.side.name} ({o.word}): {o.impact.summary}")
            for f in o.impact.flips:
                out.extend(_flip_lines(f))
        for e in dict.fromkeys(e for imp in [i for _, i in impacts] + [o.impact for o in alone] for e in imp.errors):
            out.append(f"  unreadable: {e}")
    searched = [c for c in comparisons if c.search is not None]
    if searched:
        s0 = searched[0].search
        examples = sum(c.search.examples for c in searched)
        hunted = len({_change_key(cs.change) for c in searched for cs in c.search.per_change})
        out.append("")
        out.append(f"Counterexample search (seed {s0.seed}, up to {s0.budget} examples per hunt, "
                   f"{hunted} change{'s' if hunted != 1 else ''} under {len(searched)} name{'s' if len(searched) != 1 else ''}, "
                   f"{examples} examples):")
        labels: dict[tuple, list[tuple[str, str]]] = {}
        for c in searched:
            for cs in c.search.per_change:
                label = cs.verdict if cs.verdict != "equivalent" else f"no difference found in {cs.examples} examples"
                labels.setdefault(_change_key(cs.change), []).append((label, c.new.name))
        summaries = {_change_key(ch): ch.summary for ch, _, _ in groups}
        for key, pairs in labels.items():
            by_label = _grouped(pairs)
            if len(by_label) == 1:
                label, ns = by_label[0]
                out.append(f"  {summaries.get(key, key[1])}: {label} (under {under(ns)})")
            else:
                out.append(f"  {summaries.get(key, key[1])}:")
                out.extend(f"      {label} under {under(ns)}" for label, ns in by_label)
        found: dict[tuple, tuple[Finding, Comparison, list[str]]] = {}
        for c in searched:
            for f in c.search.findings:
                entry = found.setdefault(_finding_key(f), (f, c, []))
                entry[2].append(c.new.name)
        for f, c, ns in found.values():
            out.append("")
            doc = _bom_yaml(f, c)
            if len(ns) > 1:
                head, _, body = doc.partition("\nproduct:")
                doc = f"{head}\n# the same under {under(ns)}\nproduct:{body}" if body else doc
            out.append(doc)
    proven = [c for c in comparisons if c.proof is not None]
    if proven:
        out.append("")
        out.append(f"Proofs ({_proof_scope(proven[0].proof)}):")
        for text, ns in _grouped((c.proof.text, c.new.name) for c in proven):
            out.append(f"  {text} (under {under(ns)})")
        shown: dict[tuple, tuple[Finding, Comparison, list[str]]] = {}
        for c in proven:
            for f in c.proof.findings:
                shown.setdefault(_finding_key(f), (f, c, []))[2].append(c.new.name)
        for f, c, ns in shown.values():
            out.append("")
            doc = _bom_yaml(f, c)
            if len(ns) > 1:
                head, _, body = doc.partition("\nproduct:")
                doc = f"{head}\n# the same under {under(ns)}\nproduct:{body}" if body else doc
            out.append(doc)
    out.append("")
    out.append("Verdicts:")
    for verdict, ns in _grouped((c.verdict_text, c.new.name) for c in comparisons):
        out.append(f"  {verdict}: under {under(ns)}")
    for verdict, ns in _grouped((o.verdict_text, o.side.name) for o in one_sided):
        out.append(f"  {verdict}: under {', '.join(ns)}")
    return "\n".join(out)


def _proof_scope(p) -> str:
    """What a proof covered: ``z3; up to 8 materials; 1 good; as of 2026-07-01``."""
    days = ", ".join(d.isoformat() for d in p.dates[:4]) + (f" and {len(p.dates) - 4} more" if len(p.dates) > 4 else "")
    return (f"z3; up to {p.materials} materials; {p.goods} good{'s' if p.goods != 1 else ''} checked"
            + (f"; as of {days}" if days else ""))


def _flip_key(f) -> tuple:
    return (f.source, f.product_id, f.hs, f.old_verdict, f.new_verdict, f.old_reason, f.new_reason)


def render_text(comparisons: list[Comparison], expect: str | None = None, notes: list[str] | None = None,
                one_sided: list[OneSided] = ()) -> str:
    """The report; with names of one side only (``one_sided``), grouped even for one
    comparison, so that the overall verdict counts them."""
    grouped = len(comparisons) > 1 or bool(one_sided)
    text = render_grouped(comparisons, one_sided) if grouped else render_comparison(comparisons[0])
    tail: list[str] = list(notes or [])
    if grouped:
        verdict = overall(comparisons, one_sided)
        if verdict == "equivalent" and any(c.search is None and c.proof is None and not c.structural.same_meaning
                                           for c in comparisons):
            verdict = "not searched (run without --no-search to look for differences)"
        tail.append(f"Overall verdict: {verdict}")
    held, message = expectation(comparisons, expect, one_sided)
    if held is not None:
        tail.append(("OK: " if held else "FAILED: ") + message)
    return text + ("\n\n" + "\n".join(tail) if tail else "")


# ---- JSON ------------------------------------------------------------------------------------------


def comparison_dict(c: Comparison, groups: dict[tuple, int] | None = None) -> dict:
    def change(ch) -> dict:
        out = ch.to_dict()
        if groups is not None:
            out["group"] = groups[_change_key(ch)]
        return out

    return {
        "old": {"name": c.old.name, "label": c.old.label, "rules": list(c.old.paths)},
        "new": {"name": c.new.name, "label": c.new.label, "rules": list(c.new.paths)},
        "same_meaning": c.structural.same_meaning,
        "changes": [change(ch) for ch in c.structural.changes],
        "wording": list(c.structural.wording),
        "impact": c.impact.to_dict() if c.impact is not None else None,
        "search": c.search.to_dict() if c.search is not None else None,
        "proof": c.proof.to_dict() if c.proof is not None else None,
        "verdict": c.verdict,
        "verdict_text": c.verdict_text,
    }


def one_sided_dict(o: OneSided) -> dict:
    return {"name": o.side.name, "label": o.side.label, "rules": list(o.side.paths), "verdict": o.direction,
            "verdict_text": o.verdict_text, "impact": o.impact.to_dict() if o.impact is not None else None}


def render_json(comparisons: list[Comparison], expect: str | None = None, notes: list[str] | None = None,
                one_sided: list[OneSided] = ()) -> str:
    held, message = expectation(comparisons, expect, one_sided)
    names = _Names(comparisons)
    groups = change_groups(comparisons)
    ids = {_change_key(ch): i for i, (ch, _, _) in enumerate(groups)}
    grouped = []
    for i, (ch, where, places) in enumerate(groups):
        families = names.families(where)
        entry = {"group": i, **ch.to_dict(), "under": [root for root, _ in families],
                 "inherited_by": [n for _, heirs in families for n in heirs],
                 "places": [{"old_source": old, "new_source": new, "names": ns} for (old, new), ns in places.items()]}
        grouped.append(entry)
    doc = {
        "changes": grouped,
        "comparisons": [comparison_dict(c, ids) for c in comparisons],
        "removed": [one_sided_dict(o) for o in one_sided if o.removed],
        "added": [one_sided_dict(o) for o in one_sided if not o.removed],
        "verdict": overall(comparisons, one_sided),
        "expect": expect,
        "expectation_met": held,
        "expectation": message or None,
        "notes": list(notes or []),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)
