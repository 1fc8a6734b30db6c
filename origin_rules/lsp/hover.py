"""What the cursor is on, in words (Markdown), for hover.

In: an :class:`~origin_rules.lsp.index.Occurrence` of a rulebook's index, and the cases of
the rule tests that exercised each rule (:mod:`origin_rules.lsp.exercise`). Out: Markdown:

- an HS code: its HS 2022 description from the shipped nomenclature, under its chapter and
  heading (a national tariff item: its subheading's); a code not in HS 2022 says so;
- a range: its first and last codes and how many codes of its level it covers, with the
  first of them;
- a set name (used or declared): where it is declared and its members (HS codes with their
  descriptions, countries with their names); set names inside it resolved;
- a rule, requirement or fallback header: where it applies, its citations and the rule-test
  cases that exercise it;
- an agreement or scenario name, or an ``extends`` target: what it extends, its parties,
  effective date, rules and citations, and the files it is written over;
- a country code: the country's name.
"""

from __future__ import annotations

from functools import lru_cache

from ..model import ast
from ..model.hs import HsCode, HsRange, Level, nomenclature
from ..semantics.resolve import resolve_hs_set
from .index import Index, Occurrence, source_text

MAX_LISTED = 12


@lru_cache(maxsize=512)
def country_name(code: str) -> str | None:
    import pycountry

    found = pycountry.countries.get(alpha_2=code)
    return found.name if found is not None else None


def code_line(code: HsCode) -> str:
    """``8708.30`` (subheading): description."""
    nom = nomenclature()
    desc = nom.description(code)
    level = code.level.word
    if desc is None:
        return f"`{code}` ({level}): not in HS 2022"
    if len(code.digits) > 6:
        return f"`{code}` (national tariff item of subheading `{code.at(Level.SUBHEADING)}`): {desc}"
    return f"`{code}` ({level}): {desc}"


def code_markdown(code: HsCode) -> str:
    nom = nomenclature()
    lines = [f"**HS 2022** {code_line(code)}"]
    for level in (Level.CHAPTER, Level.HEADING):
        if len(code.digits) > int(level):
            parent = code.at(level)
            if nom.description(parent) is not None:
                lines.append(f"- in {level.word} `{parent}`: {nom.description(parent)}")
    return "\n".join(lines)


def covered(item: HsCode | HsRange) -> list[HsCode]:
    """The HS 2022 codes of the item's level that a code or range covers."""
    if isinstance(item, HsCode):
        return [item]
    n = len(item.low.digits)
    level = Level.of_digits(n)
    if n > 6:
        return [item.low, item.high]
    return [c for c in nomenclature().codes(level) if item.low.digits <= c.digits <= item.high.digits]


def _listed(codes: list[HsCode], limit: int = MAX_LISTED) -> list[str]:
    out = [f"- {code_line(c)}" for c in codes[:limit]]
    if len(codes) > limit:
        out.append(f"- ... and {len(codes) - limit} more")
    return out


def range_markdown(item: HsRange) -> str:
    codes = covered(item)
    word = item.level.word + ("s" if len(codes) != 1 else "")
    lines = [f"**HS 2022** range `{item}`: {len(codes)} {word}"]
    return "\n".join(lines + _listed(codes))


def set_markdown(index: Index, decl: ast.SetDecl, block: str | None) -> str:
    span = index.set_name_span(decl)
    where = f"{span.file}:{span.line}"
    if isinstance(decl.value, ast.WordList):
        words = [w.text for w in decl.value.words]
        lines = [f"**set** `{decl.name}`: {len(words)} countr{'y' if len(words) == 1 else 'ies'} (declared at {where})"]
        lines += [f"- `{w}` {country_name(w) or '(not an ISO 3166-1 code)'}" for w in words]
        return "\n".join(lines)
    program = index.program(block)
    written = source_text(index.parsed.sources.get(decl.span.file, ""), decl.value.span)
    if program is not None:
        resolved = program.hs_set(decl.value)
    else:
        resolved = resolve_hs_set(decl.value, index.file_sets.get)  # names: the file-level sets
    lines = [f"**set** `{decl.name}` = {written} (declared at {where})", "", "Covers:"]
    for item in resolved.items:
        if isinstance(item, HsCode):
            lines.append(f"- {code_line(item)}")
        else:
            codes = covered(item)
            first = f"; from {code_line(codes[0])}" if codes else ""
            lines.append(f"- `{item}`: {len(codes)} {item.level.word}{'s' if len(codes) != 1 else ''}{first}")
        if len(lines) > MAX_LISTED + 3:
            lines.append(f"- ... ({len(resolved.items)} items in all)")
            break
    return "\n".join(lines)


def rule_markdown(index: Index, occurrence: Occurrence, tests) -> str:
    node = occurrence.node
    text = index.parsed.sources.get(node.span.file, "")
    head = source_text(text, occurrence.span).rstrip("{ ").strip()
    lines = [f"**{head}**"]
    if occurrence.block is not None:
        kind = "scenario" if index.program(occurrence.block) and index.program(occurrence.block).is_scenario else "agreement"
        lines.append(f"in {kind} \"{occurrence.block}\"")
    if node.cites:
        lines += ["", "Cited:"] + [f"- {c}" for c in node.cites]
    else:
        lines += ["", "No `cite` line."]
    lines.append("")
    lines += tests_lines(index, occurrence, tests)
    return "\n".join(lines)


def tests_lines(index: Index, occurrence: Occurrence, tests) -> list[str]:
    """The rule-test cases that exercised a rule, requirement or fallback."""
    if tests is None:
        return ["Rule tests: not run (no `*.test.yaml` beside these rules, or turned off)."]
    if tests.running and not tests.done:
        return ["Rule tests: running..."]
    cases = tests.cases_of(occurrence.node.span, index.analysis.paths.get(occurrence.node.span.file))
    when = f" (run on the saved files at {tests.finished})" if tests.finished else ""
    if not cases:
        return [f"No rule-test case exercises it{when}."]
    out = [f"Exercised by {len(cases)} rule-test case{'s' if len(cases) != 1 else ''}{when}:"]
    out += [f"- {c}" for c in cases[:MAX_LISTED]]
    if len(cases) > MAX_LISTED:
        out.append(f"- ... and {len(cases) - MAX_LISTED} more")
    return out


def program_markdown(index: Index, name: str) -> str:
    program = index.parsed.programs.get(name)
    blocks = index.blocks.get(name, [])
    if program is None:
        return f'**"{name}"**: no agreement or scenario of that name in this rulebook'
    kind = "scenario" if program.is_scenario else "agreement"
    facts = []
    if program.is_scenario:
        chain = " -> ".join(f'"{n}"' for n in program.chain[1:])
        facts.append(f"extends {chain}" if chain else f'extends "{program.node.base}" (not found)')
    parties = sorted(program.parties)
    if parties:
        facts.append("parties: " + ", ".join(f"`{p}` {country_name(p) or ''}".strip() for p in parties))
    if program.effective is not None:
        facts.append(f"effective: {program.effective.isoformat()}")
    own = sum(len(b.rules) for b, _ in blocks)
    facts.append(f"{len(program.rules)} rules in force ({own} written in it), {len(program.requires)} "
                 f"requirements, {len(program.fallbacks)} fallbacks")
    files = sorted({span.file for _, span in blocks})
    if len(files) > 1:
        shown = ", ".join(f"`{f}`" for f in files[:MAX_LISTED])
        facts.append(f"written over {len(files)} files: {shown}" + (" ..." if len(files) > MAX_LISTED else ""))
    lines = [f'**{kind}** "{name}"', ""] + [f"- {f}" for f in facts]
    if program.cites:
        lines += ["", "Cited:"] + [f"- {c}" for c in program.cites]
    return "\n".join(lines)


def hover_markdown(index: Index, occurrence: Occurrence, tests=None) -> str | None:
    kind = occurrence.kind
    if kind == "code":
        return code_markdown(occurrence.node.code)
    if kind == "range":
        return range_markdown(HsRange(occurrence.node.low.code, occurrence.node.high.code))
    if kind in ("set", "set_decl"):
        decl = index.resolve_set(occurrence)
        if decl is None:
            return f"unknown set `{occurrence.node.name}`"
        block = occurrence.block
        if kind == "set" and index.program(block) is not None:
            # the set's members resolve in the scope where it is declared
            block = _declaring_block(index, decl) or block
        return set_markdown(index, decl, block)
    if kind in ("rule", "require", "fallback"):
        return rule_markdown(index, occurrence, tests)
    if kind in ("agreement", "scenario", "base"):
        return program_markdown(index, index.target(occurrence))
    if kind == "country":
        name = country_name(occurrence.node.text)
        return f"`{occurrence.node.text}`: {name}" if name else None
    return None


def _declaring_block(index: Index, decl: ast.SetDecl) -> str | None:
    for occurrences in index.by_file.values():
        for o in occurrences:
            if o.kind == "set_decl" and o.node is decl:
                return o.block
    return None
