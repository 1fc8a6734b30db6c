"""`origin-rules test`: run the rule tests (`*.test.yaml`) and measure rule coverage.

In: test files or folders (default ``rules/``), options. Out: pass/fail per case with the
expected and actual verdicts and, on failure, the explanation; a summary; with
``--coverage`` the rules, requirements and `or` alternatives exercised and not (file:line:col)
and the percentage. ``--format json`` for machines, ``--format junit`` (JUnit XML: a
testsuite per test file, a testcase per case and agreement) for CI systems.
Exit codes: 0 every case passed; 1 a case failed, coverage is below ``--threshold``, or no
test was found and ``--fail-on-empty`` was given; 2 a test file, BOM or rule file could
not be used, or bad usage. The running is in :mod:`origin_rules.ruletests.runner`.
"""

import gc
import json
import re
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from .root import app
from .common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, err, fail_usage, no_cache_option

HELP = """Run the rule tests: `*.test.yaml` files beside the rules (docs/testing-rules.md).

Each case names a BOM (inline, or a path relative to the test file) and the verdict expected under each agreement or scenario. A case without `as_of` is evaluated as of today; a case without `rules` uses the .roo files in its test file's folder.

Coverage (--coverage): the items are every rule and every `require` of every agreement and scenario in the rule files the tests load (and the .roo files under the folders given), and every alternative of every top-level `or` in a rule's body line (each at its file:line:col). A rule is exercised when some case's determination applied it (the rule selected, or any of the rules evaluated because a fact a `when` needs was missing); an alternative when it held in a case where its rule applied; a requirement when it applied to a case. Percentage = exercised items / all items.

Exit codes: 0 all passed; 1 a case failed, coverage below --threshold, or no tests with --fail-on-empty; 2 a test file, BOM or rule file could not be used, or bad usage."""

MARK = {"passed": "PASS", "failed": "FAIL", "error": "ERROR"}


class Format(str, Enum):
    text = "text"
    json = "json"
    junit = "junit"


@app.command("test", help=HELP)
def test(
    paths: Annotated[Optional[list[Path]], typer.Argument(help="Test files or folders searched for *.test.yaml. Default: rules/.", show_default=False)] = None,
    run: Annotated[Optional[str], typer.Option("--run", help="Run only the cases whose name matches this regular expression (anywhere in the name).")] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="text for people, json for machines, junit (JUnit XML) for CI.")] = Format.text,
    coverage: Annotated[bool, typer.Option("--coverage", help="List the rules, requirements, fallbacks, deemings and `or` alternatives exercised and not, with the percentage.")] = False,
    threshold: Annotated[Optional[str], typer.Option("--threshold", help="Exit 1 when coverage is below N percent (implies measuring coverage).", metavar="N")] = None,
    fail_on_empty: Annotated[bool, typer.Option("--fail-on-empty", help="Exit 1 when no test case is found (default: exit 0 with a note).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Text format: leave out the cases that pass.")] = False,
    no_cache: Annotated[bool, no_cache_option()] = False,
) -> None:
    from ..ruletests.runner import run as run_tests

    pattern = None
    if run is not None:
        try:
            pattern = re.compile(run)
        except re.error as exc:
            fail_usage(f"`--run {run}` is not a regular expression: {exc}")
    limit = _threshold(threshold)
    default = not paths
    targets = list(paths) if paths else [Path("rules")]
    searched = [] if default and not targets[0].exists() else targets
    # The rulebooks, BOMs and results of a run live until it ends and hold no cyclic garbage
    # (the shipped rules' 4,600 cases peak at the same memory either way): the cyclic
    # collector would only walk them again and again, 40% of the run.
    gc.disable()
    try:
        report = run_tests(searched, pattern=pattern, coverage=coverage or limit is not None, cache=not no_cache)
    finally:
        gc.enable()

    if format is Format.json:
        typer.echo(json.dumps(to_json(report, coverage or limit is not None), indent=2))
    elif format is Format.junit:
        typer.echo(to_junit(report))
    else:
        typer.echo(to_text(report, quiet=quiet, coverage=coverage))
    below = limit is not None and report.coverage is not None and report.coverage.fraction < limit
    if format is not Format.text:
        for problem in report.problems:  # machine formats: usage-level problems go to stderr too
            err(f"error: {problem}")
        if report.coverage is not None and (coverage or limit is not None):
            err(coverage_summary(report.coverage))
    if below:
        err(f"error: coverage {report.coverage.percent_text()}% is below the threshold of {threshold}%")
    if report.empty:
        where = ", ".join(str(t) for t in targets)
        err(f"note: no test cases found in {where}" + (f" matching `{run}`" if run else "")
            + " (test files are named *.test.yaml)")
    if report.has_errors:
        raise typer.Exit(EXIT_USAGE)
    if report.count("failed") or below or (report.empty and fail_on_empty):
        raise typer.Exit(EXIT_FINDINGS)
    raise typer.Exit(EXIT_OK)


def _threshold(text: str | None) -> "Fraction | None":
    from decimal import Decimal, InvalidOperation
    from fractions import Fraction

    if text is None:
        return None
    try:
        value = Decimal(text.strip().rstrip("%"))
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or not 0 <= value <= 100:
        fail_usage(f"`--threshold {text}` is not a percentage between 0 and 100")
    return Fraction(value)


# ---------------------------------------------------------------------------- text


def _indent(text: str, pad: str) -> str:
    return "\n".join(pad + line if line else line for line in text.splitlines())


def to_text(report, *, quiet: bool = False, coverage: bool = False) -> str:
    from ..rulebook.explain import render

    out: list[str] = []
    for problem in report.problems:
        out.append(f"ERROR  {problem}")
        if problem.detail:
            out.append(_indent(problem.detail, "       "))
    for f in report.files:
        shown = [c for c in f.cases if not (quiet and c.status == "passed")]
        if not shown and not f.problems and quiet:
            continue
        out.append(f.file)
        for problem in f.problems:
            out.append(f"  ERROR  {problem}")
        for case in shown:
            if case.status == "passed":
                verdicts = ", ".join(f"{c.agreement}: {c.actual}" for c in case.checks)
                out.append(f"  PASS   {case.name}  ({verdicts})")
                continue
            out.append(f"  {MARK[case.status]:<6} {case.name}  [{case.file}:{case.line}]")
            for problem in case.problems:
                out.append(f"         {problem}")
                if problem.detail:
                    out.append(_indent(problem.detail, "           "))
            for check in case.checks:
                if check.actual is None or check.passed:
                    if check.actual is not None:
                        out.append(f"         {check.agreement}: {check.actual} (as expected)")
                    continue
                out.append(f"         {check.agreement}: expected {check.expected}, got {check.actual}")
                if check.determination is not None:
                    out.append(_indent(render(check.determination), "           "))
    if out:
        out.append("")
    out.append(summary(report))
    if coverage and report.coverage is not None:
        out.append("")
        out.append(coverage_text(report.coverage))
    elif report.coverage is not None:
        out.append(coverage_summary(report.coverage))
    return "\n".join(out)


def error_count(report) -> int:
    """The errors of a run, as the text summary and the JSON's ``summary.errors`` count them:
    the cases in error, the test files that could not be used, and the problems of no file."""
    return report.count("error") + len(report.problems) + sum(1 for f in report.files if f.problems)


def summary(report) -> str:
    cases = report.cases
    checks = len(report.checked)
    parts = [f"{report.count('passed')} passed", f"{report.count('failed')} failed"]
    errors = error_count(report)
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    files = len(report.files)
    return (f"{', '.join(parts)} ({len(cases)} case{'s' if len(cases) != 1 else ''}, {checks} "
            f"verdict{'s' if checks != 1 else ''} checked, {files} test file{'s' if files != 1 else ''})")


def coverage_summary(cov) -> str:
    kinds = cov.by_kind()
    # fallbacks and deemings are named only when the rule files have some (most rulebooks have none)
    detail = ", ".join(f"{name} {kinds[kind][0]}/{kinds[kind][1]}" for kind, name in
                       (("rule", "rules"), ("alternative", "or-alternatives"), ("require", "requirements"),
                        ("fallback", "fallbacks"), ("deemed", "deemings"))
                       if kind not in ("fallback", "deemed") or kinds[kind][1])
    return f"coverage: {cov.percent_text()}% ({cov.exercised} of {cov.total} items: {detail})"


def coverage_text(cov) -> str:
    out = [coverage_summary(cov)]
    by_file: dict[str, list] = {}
    for item in cov.sorted_items():
        by_file.setdefault(item.file, []).append(item)
    width = max((len(i.where) for i in cov.items.values()), default=0)
    for file, items in by_file.items():
        done = sum(1 for i in items if i.exercised)
        out.append(f"  {file}: {done}/{len(items)}")
        for i in items:
            mark = "✓" if i.exercised else "✗"
            pad = "    " if i.kind == "alternative" else ""
            out.append(f"    {mark} {i.where:<{width}}  {pad}{i.label}  [{i.program}]")
    return "\n".join(out)


# ---------------------------------------------------------------------------- JSON


def to_json(report, with_coverage: bool) -> dict:
    files = []
    for f in report.files:
        cases = []
        for c in f.cases:
            cases.append({
                "name": c.name,
                "file": c.file,
                "line": c.line,
                "status": c.status,
                "as_of": c.as_of.isoformat() if c.as_of else None,
                "bom": c.bom,
                "results": [{
                    "agreement": k.agreement,
                    "expected": k.expected,
                    "actual": k.actual,
                    "passed": k.passed,
                    "determination": (json.loads(k.determination.to_json(indent=None))
                                      if k.determination is not None and not k.passed else None),
                } for k in c.checks],
                "errors": [p.to_dict() for p in c.problems],
            })
        files.append({"file": f.file, "status": f.status, "errors": [p.to_dict() for p in f.problems],
                      "cases": cases})
    checks = report.checked
    return {
        "summary": {
            "cases": len(report.cases),
            "passed": report.count("passed"),
            "failed": report.count("failed"),
            "errors": error_count(report),
            "verdicts": len(checks),
            "verdicts_failed": sum(1 for k in checks if not k.passed),
            "test_files": len(report.files),
        },
        "errors": [p.to_dict() for p in report.problems],
        "files": files,
        "coverage": report.coverage.to_dict() if with_coverage and report.coverage is not None else None,
    }


# ---------------------------------------------------------------------------- JUnit XML


def to_junit(report) -> str:
    """JUnit XML as CI systems read it: a testsuite per test file, a testcase per case and
    agreement (``name [AGREEMENT]``); a wrong verdict is a ``failure``, a case that could not
    run an ``error``."""
    import xml.etree.ElementTree as ET

    from ..rulebook.explain import render

    root = ET.Element("testsuites", name="origin-rules test")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    suites: list[tuple[str, list]] = [(f.file, [("file", f)] + [("case", c) for c in f.cases]) for f in report.files]
    if report.problems:
        suites.insert(0, ("origin-rules", [("problem", p) for p in report.problems]))
    for name, entries in suites:
        suite = ET.SubElement(root, "testsuite", name=name)
        counts = {"tests": 0, "failures": 0, "errors": 0}
        seconds = 0.0
        classname = re.sub(r"\.test\.ya?ml$", "", name).replace("/", ".").replace("\\", ".")
        for kind, entry in entries:
            if kind == "problem":
                case = ET.SubElement(suite, "testcase", name=str(entry.file), classname=classname)
                _error(case, str(entry), entry.detail)
                counts["tests"] += 1
                counts["errors"] += 1
            elif kind == "file":
                if entry.problems:
                    case = ET.SubElement(suite, "testcase", name="(test file)", classname=classname, file=entry.file)
                    _error(case, "; ".join(str(p) for p in entry.problems), None)
                    counts["tests"] += 1
                    counts["errors"] += 1
            else:
                seconds += entry.seconds
                checks = entry.checks or [None]
                share = entry.seconds / len(checks)
                for check in checks:
                    label = entry.name if check is None else f"{entry.name} [{check.agreement}]"
                    case = ET.SubElement(suite, "testcase", name=label, classname=classname,
                                         file=entry.file, line=str(entry.line), time=f"{share:.3f}")
                    counts["tests"] += 1
                    if entry.problems:
                        details = "\n".join(str(p) + (f"\n{p.detail}" if p.detail else "") for p in entry.problems)
                        _error(case, str(entry.problems[0]), details)
                        counts["errors"] += 1
                    elif check is not None and not check.passed:
                        failure = ET.SubElement(case, "failure", type="verdict",
                                                message=f"{check.agreement}: expected {check.expected}, got {check.actual}")
                        failure.text = render(check.determination) if check.determination is not None else None
                        counts["failures"] += 1
        suite.set("tests", str(counts["tests"]))
        suite.set("failures", str(counts["failures"]))
        suite.set("errors", str(counts["errors"]))
        suite.set("skipped", "0")
        suite.set("time", f"{seconds:.3f}")
        for key in totals:
            totals[key] += counts[key]
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _error(case: "ET.Element", message: str, detail: str | None) -> None:
    import xml.etree.ElementTree as ET

    node = ET.SubElement(case, "error", type="test-file", message=message)
    if detail:
        node.text = detail
