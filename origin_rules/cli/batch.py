"""`origin-rules batch`: evaluate whole portfolios of shipments, every record accounted for.

In: input files or folders (JSON Lines, YAML/JSON lists, flat CSV, XLSX), the rule files,
agreements/scenarios (default: every one whose parties include the country of
production), a date, the output path (``.jsonl``/``.ndjson`` or ``.csv``). Out: the output
file, one record per input record in input order (format: :mod:`origin_rules.batch.records`),
written to a temporary file and moved into place at the end; a summary of verdicts on
stderr and, with ``--summary``, as JSON; a progress bar when stderr is a terminal.
Exit codes: 0 every record read (whatever the verdicts) unless ``--fail-on`` matches (1);
2 bad usage, or some records could not be read (they are error records in the output), or,
with ``--strict``, some determination carries a warning about its BOM (as ``evaluate --strict``).
"""

import os
import signal
import sys
from contextlib import ExitStack, contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from .root import app
from .common import (EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, check_output_path, cpus, err, fail_usage, load_rules,
                     no_cache_option, parse_date, read_rates_option)

OUTPUT_SUFFIXES = (".jsonl", ".ndjson", ".csv", ".parquet")

RECORD_HELP = """\
One output record per input record, in input order. JSON Lines: source, position (line,
sheet row or list index), line, product_id, hs, produced_in and determinations: per
agreement or scenario its verdict, base (for a scenario: the agreement it modifies), rule,
figures (vnm, rvc_*, max_nom_*), thresholds (figure, value, threshold, comparison, margin,
holds; each once) and, when it does not qualify, criterion, rule_source, reason, missing (fields
needed) and causes (the materials behind the failure: id, hs, origin, value); warnings
(code, message, path) when the BOM carries some (docs/errors.md, BOM input). A record that
cannot be read has error.problems [{path, message, line}] instead. CSV flattens this into
columns NAME.verdict, NAME.vnm, NAME.figures, NAME.thresholds, NAME.reason, NAME.missing,
NAME.causes, NAME.warnings per agreement or scenario. Parquet: the JSON Lines fields as
columns, with determinations and error as JSON text."""


class Verdict(str, Enum):
    qualifies = "qualifies"
    does_not_qualify = "does_not_qualify"
    insufficient_data = "insufficient_data"
    no_rule = "no_rule"


def _inputs(paths: list[Path]) -> list[str]:
    from ..batch.inputs import INPUT_SUFFIXES

    files: list[str] = []
    for p in paths:
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.suffix.lower() in INPUT_SUFFIXES and f.is_file())
            files.extend(str(f) for f in found)
        elif not p.exists():
            fail_usage(f"`{p}` does not exist")
        elif p.suffix.lower() not in INPUT_SUFFIXES:
            fail_usage(f"`{p}`: unsupported input type; expected one of {', '.join(sorted(INPUT_SUFFIXES))}")
        else:
            files.append(str(p))
    if not files:
        fail_usage("no input files found")
    return files


def _check_output(out: Path, inputs: list[str], flag: str = "--out") -> None:
    if flag == "--out" and out.suffix.lower() not in OUTPUT_SUFFIXES:
        fail_usage(f"`{flag} {out}`: the output format follows the extension; use .jsonl, .ndjson, .csv or .parquet")
    check_output_path(out, flag)
    if any(os.path.abspath(i) == os.path.abspath(out) for i in inputs):
        fail_usage(f"`{flag} {out}` is also an input")


@contextmanager
def _terminate_as_interrupt():
    """SIGTERM cleans up like Ctrl-C: the temporary output is removed."""
    def raise_interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, raise_interrupt)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Progress:
    """A rich progress bar on stderr when it is a terminal; nothing otherwise."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar = None
        self.task = None

    def start(self, total: int) -> None:
        if not self.enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("[bold]evaluating"), BarColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[records]:>12,} records"), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
            console=Console(file=sys.stderr), transient=True,
        )
        self.bar.start()
        self.task = self.bar.add_task("batch", total=max(total, 1), records=0)

    def update(self, records: int, done: int, total: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=min(done, max(total, 1)), records=records)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def _print_summary(summary) -> None:
    from rich.console import Console
    from rich.table import Table

    from ..model.determination import VERDICTS

    console = Console(file=sys.stderr)
    if not console.is_terminal:
        console = Console(file=sys.stderr, width=160, color_system=None)
    table = Table(header_style="bold", title=summary.headline(), title_justify="left")
    table.add_column("agreement / scenario", no_wrap=True)
    for verdict in VERDICTS:
        table.add_column(verdict.replace("_", " "), justify="right")
    table.add_column("loses vs agreement", justify="right")
    for row in summary.rows():
        table.add_row(*row)
    console.print(table)


def _cluster_error() -> type[Exception]:
    """The cluster's error class once the cluster module is loaded (a run with --cluster),
    else a class nothing raises: plain batches never import Dask."""
    module = sys.modules.get("origin_rules.batch.cluster")
    return module.ClusterError if module is not None else _Never


class _Never(Exception):
    pass


@app.command(epilog=RECORD_HELP)
def batch(
    inputs: Annotated[list[Path], typer.Argument(help="Input files (JSON Lines, YAML/JSON list, flat CSV, XLSX, flat Parquet) or folders of them.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file: .jsonl/.ndjson (JSON Lines), .csv or .parquet, by extension.", show_default=False)],
    rules: Annotated[list[Path], typer.Option("--rules", "-r", help="Rule files or folders (repeatable).")] = [Path("rules")],
    under: Annotated[Optional[list[str]], typer.Option("--under", "-u", help="Agreement or scenario to evaluate under (repeatable). Default: every one whose parties include the country of production.")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Date of the determinations, YYYY-MM-DD. Default: today.")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", "-j", min=1, help="Processes that evaluate: 1 runs the batch in this process; more start that many worker processes while this one reads and writes. Default: the number of CPUs.")] = None,
    summary: Annotated[Optional[Path], typer.Option("--summary", help="Also write the summary (counts per verdict per agreement/scenario, errors) as JSON here.")] = None,
    figures: Annotated[bool, typer.Option("--figures/--verdicts-only", help="Figures and thresholds for every determination (the report needs them), or for those that do not qualify only: a good that qualifies gets its verdict (and warnings) alone (faster).")] = True,
    fail_on: Annotated[Optional[list[Verdict]], typer.Option("--fail-on", help="Exit 1 when any determination has this verdict (repeatable).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 2 when any determination carries a warning about its BOM (docs/errors.md, BOM input); the output is written all the same.")] = False,
    cluster: Annotated[Optional[str], typer.Option("--cluster", help="Run on a Dask cluster: a scheduler's address (tcp://host:8786), or local:N for a local cluster of N worker processes (docs/scale.md). Default: local worker processes (--workers).", show_default=False)] = None,
    chunk_size: Annotated[int, typer.Option("--chunk-size", min=1, hidden=True, help="Records per chunk sent to a worker.")] = 500,
    record_them: Annotated[bool, typer.Option("--record", help="Also append every determination to the audit store ($ORIGIN_RULES_DB, else the user's data directory; docs/service.md).")] = False,
    rates: Annotated[Optional[Path], typer.Option("--rates", help="Exchange rates (YAML or JSON, docs/bom.md, Currencies) for materials priced in another currency than the product, added to every BOM; a rate a BOM declares itself wins.", show_default=False)] = None,
    no_cache: Annotated[bool, no_cache_option()] = False,
) -> None:
    """Evaluate many BOMs (e.g. a year of shipments): one output record per input record, in input order."""
    from ..batch import Options
    from ..rulebook.book import UnknownAgreement

    files = _inputs(inputs)
    _check_output(out, files)
    if summary is not None:
        _check_output(summary, files, "--summary")
    on = parse_date(as_of)
    extra_rates = read_rates_option(rates)
    book = load_rules(rules, cache=not no_cache)
    for name in under or []:
        if name not in book.names:
            err(f"error: {UnknownAgreement(name, book.names)}")
            raise typer.Exit(EXIT_USAGE)
    if cluster is not None:
        from ..batch.cluster import parse_address

        try:
            parse_address(cluster)
        except ValueError as exc:
            fail_usage(f"--cluster {exc}")
        if workers is not None:
            fail_usage("--workers and --cluster do not go together: the cluster's workers do the work")
    count = workers or cpus()
    options = Options(inputs=files, out=str(out), names=list(dict.fromkeys(under)) if under else None, as_of=on,
                      workers=count, chunk=chunk_size, figures=figures, rule_paths=[str(r) for r in rules],
                      cache=not no_cache, cluster=cluster, rates=tuple(extra_rates))
    with ExitStack() as stack:
        recording = None
        if record_them:  # the store opened before any work; the determinations kept as the batch runs
            from .audit import batch_recording

            recording = stack.enter_context(batch_recording(book, out))
        result = _run(book, options, out, summary, recording)
        _print_summary(result)
        err(f"wrote {out}" + (f" and {summary}" if summary is not None else ""))
        if recording is not None:
            from .audit import commit_recording

            commit_recording(recording, out)
    if not result.records:
        err("error: no records found in the inputs")
        raise typer.Exit(EXIT_USAGE)
    if result.errors:
        err(f"{result.errors:,} record{'s' if result.errors != 1 else ''} could not be read: see `error` in the output")
        raise typer.Exit(EXIT_USAGE)
    if strict and result.warned:
        from ..batch.summary import count

        err(f"error: --strict: {count(result.warned, 'record')} with warnings about the input: see `warnings` in the output")
        raise typer.Exit(EXIT_USAGE)
    wanted = {v.value for v in fail_on or []}
    if wanted and any(result.verdicts.get(n, {}).get(v, 0) for n in result.verdicts for v in wanted):
        raise typer.Exit(EXIT_FINDINGS)
    raise typer.Exit(EXIT_OK)


def _run(book, options, out: Path, summary: Optional[Path], recording):
    """Run the batch with a progress bar and write the summary file; the errors a user can act
    on (an interruption, a cluster or worker failure, an unwritable output) end the command."""
    from concurrent.futures.process import BrokenProcessPool

    from ..batch import run_batch, write_atomically

    progress = _Progress(sys.stderr.isatty())
    try:
        with _terminate_as_interrupt():
            try:
                result = run_batch(book, options, progress=progress.update, started=progress.start,
                                   recording=recording)
            finally:
                progress.stop()
            if summary is not None:
                write_atomically(str(summary), lambda handle: handle.write(result.to_json()))
    except KeyboardInterrupt:
        err("interrupted: no output written")
        raise typer.Exit(130)
    except _cluster_error() as exc:
        err(f"error: {exc}; no output written")
        raise typer.Exit(EXIT_USAGE)
    except BrokenProcessPool:
        err("error: a worker process died (out of memory?); no output written. Try fewer --workers.")
        raise typer.Exit(EXIT_USAGE)
    except OSError as exc:
        err(f"error: cannot write `{exc.filename or out}`: {exc.strerror or exc}")
        raise typer.Exit(EXIT_USAGE)
    return result
