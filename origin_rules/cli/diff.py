"""`origin-rules diff`: what an edit of the rules does, before it ships.

In: two rulebooks (``OLD NEW``: files or folders; agreements and scenarios compared by
name), or one rulebook with ``--under A --vs B`` (an agreement against a scenario); BOMs
(``--boms``) for the portfolio impact; the intent (``--expect``); the search budget and seed.
Out: the changes in meaning in words, the BOMs whose verdict flips with both reasons, the
counterexamples (YAML a user can save and evaluate) and the verdict ``stricter`` /
``looser`` / ``mixed`` / ``equivalent (no difference found in N examples)``; text or JSON.
Exit codes: 0 ran (and the intent holds); 1 ``--expect`` violated; 2 bad usage, rule files
with errors, or BOMs that cannot be read. The work is in :mod:`origin_rules.diff`.
"""

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from .root import app
from .common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, err, fail_usage, load_rules, no_cache_option, parse_date, read_records

HELP = """Compare rules: what changed in meaning, which BOMs flip, and BOMs that tell the sides apart.

`origin-rules diff OLD NEW`: two versions of a rulebook (files or folders); agreements and scenarios are compared by name (--under NAME: only that one).

`origin-rules diff RULES... --under A --vs B`: one rulebook (all the paths together); agreement or scenario A against B (--vs repeatable). Without --vs, A against every scenario built on it; without --under, B against its agreement.

The structural diff compares normalized rules: layout, comments, the order of rules, of `or` alternatives and of set items, and aliases (CTH) are no change in meaning. The counterexample search generates BOMs aimed at each change (hypothesis; reproducible with --seed) and shrinks what it finds. Verdicts are ordered qualifies > insufficient_data > does_not_qualify (= no_rule): a BOM whose verdict falls is stricter evidence, one whose verdict rises is looser evidence; both: mixed; none: equivalent (no difference found in N examples), never a proof.

--prove decides instead of searching (the z3 SMT solver): `equivalent` (proven for BOMs of up to --materials materials with every fact given), `stricter` or `looser` (proven never the other way), `both`, each with a counterexample per direction that the engine confirms, or `unknown` with the reason (a construct it cannot encode, or --timeout).

--expect stricter fails when looser evidence is found; looser when stricter evidence is found; equivalent when any is; with --prove, also when the answer is unknown. With two rulebooks, a name in the old one only (removed: its goods lose their verdict) is stricter evidence, a name in the new one only (added) looser evidence. Exit codes: 0 ok, 1 --expect violated, 2 bad usage, rule files with errors or unreadable BOMs."""


class Format(str, Enum):
    text = "text"
    json = "json"


class Expect(str, Enum):
    stricter = "stricter"
    looser = "looser"
    equivalent = "equivalent"


def _check_names(book, names: list[str]) -> None:
    from ..rulebook.book import UnknownAgreement

    for name in names:
        if name not in book.names:
            err(f"error: {UnknownAgreement(name, book.names)}")
            raise typer.Exit(EXIT_USAGE)


def _sides(paths: list[Path], under: str | None, vs: list[str], cache: bool = True) -> tuple[list, list[str], list]:
    """The pairs of sides to compare, notes (names found on one side only), and those names:
    ``(side, removed, paths of the other rulebook)``."""
    from ..diff.compare import Side

    notes: list[str] = []
    alone: list[tuple] = []
    if vs or (len(paths) == 1 and under):
        book = load_rules(paths, cache=cache)
        where = tuple(str(p) for p in paths)
        _check_names(book, [n for n in [under, *vs] if n])
        programs = book.parsed.programs
        if not vs:
            vs = [n for n in book.scenarios if under in programs[n].chain[1:]]
            if not vs:
                fail_usage(f"no scenario of these rules is built on `{under}`: name the other side with --vs")
        pairs = []
        for name in vs:
            base = under or programs[name].chain[-1]
            if base == name:
                fail_usage(f"`{name}` is an agreement: name the side to compare it with, --under NAME")
            pairs.append((Side(book, base, base, where), Side(book, name, name, where)))
        return pairs, notes, alone
    if len(paths) != 2:
        fail_usage("give two rulebooks (OLD NEW), or one rulebook with --under and/or --vs")
    old_book, new_book = load_rules([paths[0]], cache=cache), load_rules([paths[1]], cache=cache)
    if under:
        _check_names(old_book, [under])
        _check_names(new_book, [under])
        names = [under]
    else:
        names = [n for n in old_book.names if n in new_book.names]
        only_old = [n for n in old_book.names if n not in new_book.names]
        only_new = [n for n in new_book.names if n not in old_book.names]
        if only_old:
            notes.append(f"only in {paths[0]} (removed): {', '.join(only_old)}")
        if only_new:
            notes.append(f"only in {paths[1]} (added): {', '.join(only_new)}")
        if not names:
            fail_usage(f"no agreement or scenario name is in both {paths[0]} and {paths[1]}")
        alone = [(Side(old_book, n, f"{n} ({paths[0]})", (str(paths[0]),)), True, (str(paths[1]),)) for n in only_old]
        alone += [(Side(new_book, n, f"{n} ({paths[1]})", (str(paths[1]),)), False, (str(paths[0]),)) for n in only_new]
    pairs = [(Side(old_book, n, f"{n} ({paths[0]})", (str(paths[0]),)), Side(new_book, n, f"{n} ({paths[1]})", (str(paths[1]),)))
             for n in names]
    return pairs, notes, alone


@app.command("diff", help=HELP)
def diff(
    paths: Annotated[list[Path], typer.Argument(help="OLD NEW (two rulebooks), or the rule files of one rulebook with --under/--vs.", show_default=False)],
    under: Annotated[Optional[str], typer.Option("--under", "-u", help="The old side: an agreement or scenario (with two rulebooks: compare only this name).")] = None,
    vs: Annotated[Optional[list[str]], typer.Option("--vs", help="The new side: an agreement or scenario of the same rulebook (repeatable).")] = None,
    boms: Annotated[Optional[list[Path]], typer.Option("--boms", "-b", help="BOM files or folders: list those whose verdict changes (repeatable).")] = None,
    expect: Annotated[Optional[Expect], typer.Option("--expect", help="The intent of the edit; exit 1 with a counterexample when it is violated.")] = None,
    examples: Annotated[int, typer.Option("--examples", "-n", min=1, help="Examples per hunt (two hunts per change: stricter, looser).")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the search: the same seed gives the same run.")] = 0,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Date of the determinations, YYYY-MM-DD. Default: today.")] = None,
    no_search: Annotated[bool, typer.Option("--no-search", help="Structural diff and portfolio impact only.")] = False,
    prove: Annotated[bool, typer.Option("--prove", help="Prove with the z3 SMT solver instead of searching: equivalent, stricter, looser, both (with counterexamples) or unknown.")] = False,
    materials: Annotated[int, typer.Option("--materials", min=0, max=64, help="With --prove: the most materials of the BOMs it reasons about.")] = 8,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="With --prove: seconds before the answer is unknown.")] = 60.0,
    save: Annotated[Optional[Path], typer.Option("--save", help="Write each counterexample to this folder as a BOM file (NAME-stricter.yaml, NAME-looser.yaml), ready for `evaluate`.", show_default=False)] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="text for people, json for CI.")] = Format.text,
    no_cache: Annotated[bool, no_cache_option()] = False,
) -> None:
    from ..diff.compare import compare, one_sided
    from ..diff.report import expectation, render_json, render_text

    on = parse_date(as_of)
    if prove and no_search:
        fail_usage("--prove and --no-search exclude each other")
    pairs, notes, alone = _sides(paths, under, list(vs or []), cache=not no_cache)
    records = None
    bad_input = False
    if boms:
        records = list(read_records(boms))
        if not records:
            fail_usage(f"no BOMs found in {', '.join(str(b) for b in boms)}")
        for record in records:
            if isinstance(record, Exception) or not record.ok:
                err(f"error: {record if isinstance(record, Exception) else record.error}")
                bad_input = True
    comparisons = [
        compare(old, new, boms=records, on=on, examples=examples, seed=seed, run_search=not no_search,
                run_proof=prove, materials=materials, timeout=timeout)
        for old, new in pairs
    ]
    # a name removed (added) is not compared, but its goods lose (get) their verdict
    lone = [one_sided(side, removed, other, boms=records, on=on) for side, removed, other in alone]
    wanted = expect.value if expect else None
    render = render_json if format is Format.json else render_text
    typer.echo(render(comparisons, wanted, notes, lone))
    if save is not None:
        from ..diff.report import counterexample_files
        from ..files.atomic import write_text_atomically

        save.mkdir(parents=True, exist_ok=True)
        for name, text in counterexample_files(comparisons):
            write_text_atomically(save / name, text)
            err(f"wrote {save / name}")
    if bad_input:
        raise typer.Exit(EXIT_USAGE)
    held, _ = expectation(comparisons, wanted, lone)
    raise typer.Exit(EXIT_FINDINGS if held is False else EXIT_OK)
