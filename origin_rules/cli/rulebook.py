"""`origin-rules rulebook coverage [PATHS...]`: completeness evidence of a rulebook.

In: rule files or folders (default ``rules/``) with their ``*.gn11.yaml`` completeness
manifests, an output format and a threshold. Out on stdout: per chapter, the GN11(o) rule
numbers in the source, encoded, listed as not encoded and missing, the totals and the
not-encoded list with the reasons (text, JSON or Markdown; the computation is in
:mod:`origin_rules.rulebook.completeness`). Exit code: 0 the gate holds; 1 a cite names a rule the
source does not have (by the manifest), a GN11(o) cite names no readable rule, or the
rules encoded or listed as not encoded are below ``--threshold`` percent of the source's
rules (default 100: any missing rule fails); 2 a manifest or rule file that cannot be read
or does not validate, a path that does not exist, bad usage.
"""

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from .root import Group, app
from .common import EXIT_FINDINGS, EXIT_OK, err, fail_usage, no_cache_option

rulebook_app = typer.Typer(
    name="rulebook",
    cls=Group,
    help="Facts about the shipped rulebooks: `rulebook coverage` shows which rules of the source are encoded.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # plain, as the main app (a fast --help)
)
app.add_typer(rulebook_app, name="rulebook")

HELP = """Show, per chapter, the GN11(o) rule numbers of the source and which of them the rules encode.

Completeness manifests (`*.gn11.yaml`, beside the rule files) list the rule numbers of each chapter as the source numbers them, and the rules not encoded with the reason. A rule is encoded when the `cite` of some rule or `require` of an agreement names it ("HTSUS GN11(o), ch. 15, rule 2", "rules 4 and 5", "rules 4-6", "rule 7(A)": rule 7; scenarios are not counted). Missing: in the source, neither encoded nor listed.

Exit codes: 0 the gate holds; 1 a cite names a rule the manifest does not list, a GN11(o) cite names no readable rule, or fewer than --threshold percent of the source's rules are encoded or listed as not encoded (default 100: any missing rule fails); 2 a manifest or rule file that cannot be read or does not validate, a path that does not exist, bad usage."""


class Format(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


@rulebook_app.command("coverage", help=HELP)
def coverage(
    paths: Annotated[Optional[list[Path]], typer.Argument(help="Rule files or folders (searched for *.roo and *.gn11.yaml). Default: rules/.", show_default=False)] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="text for people, json for machines, markdown for docs/rulebooks.md.")] = Format.text,
    threshold: Annotated[float, typer.Option("--threshold", metavar="N", help="Exit 1 when the rules encoded or listed as not encoded are below N percent of the source's rules.")] = 100.0,
    no_cache: Annotated[bool, no_cache_option()] = False,
) -> None:
    from ..rulebook.completeness import ManifestError, coverage_of_paths, markdown, text

    if not 0 <= threshold <= 100:
        fail_usage(f"`--threshold {threshold:g}` is not a percentage between 0 and 100")
    try:
        cov = coverage_of_paths(paths or [Path("rules")], cache=not no_cache)
    except ManifestError as exc:
        fail_usage(str(exc))
    if format is Format.json:
        typer.echo(json.dumps(cov.to_json(threshold), indent=2, ensure_ascii=False))
    elif format is Format.markdown:
        typer.echo(markdown(cov), nl=False)
    else:
        typer.echo(text(cov), nl=False)
    failures = cov.failures(threshold)
    for failure in failures:
        err(f"error: {failure}")
    raise typer.Exit(EXIT_FINDINGS if failures else EXIT_OK)


FACTS_HELP = """List what the rules ask BOMs to declare beyond codes, origins and values: the end uses (`product.end_use`), the declared facts of the good (`product.facts`, tested by `when NAME in [words]`), the declared facts of materials (`materials[i].facts`, tested by `CODE where NAME in [words]` and material filters) the declared numbers (`fact(NAME)`) and the declared part weights of materials (`materials[i].polymer_weight_kg`, weighed by `weight(polymer of ...)`), each with the words tested for and the codes whose rules, requirements or fallbacks ask. Read from the rules themselves; scenarios are left out.

Exit codes: 0 listed; 2 a rule file that cannot be read or does not check, a path that does not exist, bad usage."""


@rulebook_app.command("facts", help=FACTS_HELP)
def facts(
    paths: Annotated[Optional[list[Path]], typer.Argument(help="Rule files or folders. Default: rules/.", show_default=False)] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="text for people, json for machines, markdown for docs/rulebooks.md.")] = Format.text,
    no_cache: Annotated[bool, no_cache_option()] = False,
) -> None:
    from ..model.render import render_text
    from ..rulebook.cache import parse_cached
    from ..rulebook.sources import parse_paths
    from ..rulebook.vocabulary import asked_of, markdown, text

    missing = [p for p in (paths or [Path("rules")]) if not p.exists()]
    if missing:
        fail_usage(f"`{missing[0]}` does not exist")
    parsed = (parse_paths if no_cache else parse_cached)(paths or [Path("rules")])
    if any(d.severity == "error" for d in parsed.diagnostics):
        err(render_text([d for d in parsed.diagnostics if d.severity == "error"], parsed.sources))
        raise typer.Exit(2)
    rows = asked_of(parsed)
    if format is Format.json:
        typer.echo(json.dumps([r.to_json() for r in rows], indent=2, ensure_ascii=False))
    elif format is Format.markdown:
        typer.echo(markdown(rows), nl=False)
    else:
        typer.echo(text(rows), nl=False)
    raise typer.Exit(EXIT_OK)
