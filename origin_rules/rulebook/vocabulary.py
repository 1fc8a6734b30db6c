"""The facts a rulebook asks BOMs to declare: every end use, declared fact of the good,
declared fact of a material, declared number and part weight of a material (``weight(polymer
of ...)``) the rules test, with the words they test for and the codes whose rules ask
(``origin-rules rulebook facts``).

In: a parsed rulebook (:class:`~origin_rules.rulebook.sources.Parsed`). Out: :class:`Asked` rows,
read from the rules' AST (never from their text), sorted by kind, fact and word; and their
text, JSON and Markdown renderings. Only agreements are read, not scenarios (hypothetical).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model import ast

__all__ = ["Asked", "asked_of", "markdown", "text"]

KINDS = {
    "end_use": "end use of the good (product.end_use)",
    "good": "declared fact of the good (product.facts)",
    "material": "declared fact of a material (materials[i].facts)",
    "number": "declared number of the good (product.facts)",
    "part": "declared part weight of a material (materials[i].polymer_weight_kg)",
}


@dataclass
class Asked:
    """One fact the rules test: its kind, name, the words tested for (numbers: none) and
    the codes of the goods whose rules, requirements or fallbacks ask."""

    kind: str  # end_use | good | material | number | part
    name: str
    words: dict[str, set[str]] = field(default_factory=dict)  # word -> codes
    codes: set[str] = field(default_factory=set)

    def to_json(self) -> dict:
        return {"kind": self.kind, "fact": self.name, "codes": sorted(self.codes, key=_code_key),
                "words": {w: sorted(c, key=_code_key) for w, c in sorted(self.words.items())}}


def _code_key(text: str):
    # by first code, then as written: two ranges from one code keep one order on every run
    return text.split("..")[0].replace(".", ""), text


def _codes(expr: ast.HsSetExpr | None, program) -> list[str]:
    """The codes of a selector as written (ranges kept, set names resolved)."""
    if expr is None:
        return ["every good"]
    out = []
    for item in program.hs_set(expr).items:
        out.append(str(item))
    return out


def asked_of(parsed) -> list[Asked]:
    found: dict[tuple[str, str], Asked] = {}

    def note(kind: str, name: str, words, codes) -> None:
        row = found.setdefault((kind, name), Asked(kind, name))
        row.codes.update(codes)
        for w in words:
            row.words.setdefault(w, set()).update(codes)

    def walk(node, codes, in_filter: bool) -> None:
        stack = [(node, in_filter)]
        while stack:
            n, filt = stack.pop()
            if n is None:
                continue
            if isinstance(n, (ast.And, ast.Or)):
                stack.extend((o, filt) for o in n.operands)
            elif isinstance(n, ast.Not):
                stack.append((n.operand, filt))
            elif isinstance(n, ast.FactIn):
                words = [w.text for w in n.values.words] if isinstance(n.values, ast.WordList) else []
                if filt:
                    note("material", n.fact, words, codes)
                elif n.fact == "end_use":
                    note("end_use", n.fact, words, codes)
                elif n.fact not in ("produced_in", "imported_from"):
                    note("good", n.fact, words, codes)
            elif isinstance(n, ast.Change):
                for s in n.sources:
                    if isinstance(s, ast.Where):
                        note("material", s.fact, [w.text for w in s.values.words], codes)
            elif isinstance(n, ast.Comparison):
                if isinstance(n.measure, ast.FactValue):
                    note("number", n.measure.name, [], codes)
                for part in (n.measure, n.base):
                    if isinstance(part, ast.Sum) and part.part is not None:
                        note("part", part.part, [], codes)
                    if isinstance(part, ast.Sum) and part.filter is not None:
                        stack.append((part.filter, True))

    for program in parsed.programs.values():
        if program.is_scenario:
            continue
        for placed in program.rules:
            rule = placed.node
            codes = _codes(rule.selector, program)
            walk(rule.when, codes, False)
            for c in rule.criteria:
                walk(c, codes, False)
        for placed in [*program.requires, *program.fallbacks, *program.deemed]:
            node = placed.node
            codes = _codes(node.for_, program)
            walk(node.when, codes, False)
            for c in node.criteria:
                walk(c, codes, False)
    order = list(KINDS)
    return sorted(found.values(), key=lambda a: (order.index(a.kind), a.name))


def _codes_text(codes) -> str:
    return ", ".join(sorted(codes, key=_code_key))


def text(rows: list[Asked]) -> str:
    lines: list[str] = []
    kind = None
    for row in rows:
        if row.kind != kind:
            kind = row.kind
            lines.append(("\n" if lines else "") + KINDS[kind][0].upper() + KINDS[kind][1:] + ":")
        if row.words:
            lines.append(f"  {row.name}:")
            lines += [f"    {w}: {_codes_text(c)}" for w, c in sorted(row.words.items())]
        else:
            lines.append(f"  {row.name}: {_codes_text(row.codes)}")
    return "\n".join(lines) + "\n"


def markdown(rows: list[Asked]) -> str:
    out = ["| kind | fact | words (codes whose rules ask) |", "|---|---|---|"]
    for row in rows:
        if row.words:
            cell = "; ".join(f"`{w}` ({_codes_text(c)})" for w, c in sorted(row.words.items()))
        else:
            cell = f"{'a weight' if row.kind == 'part' else 'a number'} ({_codes_text(row.codes)})"
        out.append(f"| {row.kind.replace('_', ' ')} | `{row.name}` | {cell} |")
    return "\n".join(out) + "\n"
