"""`origin-rules audit list|show|export|replay`: the audit store from the command line;
`origin-rules audit token create|list|revoke`: the service's API tokens; and the
``--record`` of ``evaluate`` and ``batch``.

In: the store's URL (``--db``, else ``$ORIGIN_RULES_DB``, else the user's data directory),
filters, record ids, for ``replay`` optionally rule files. Out: a table of records, one
record (its determination as ``evaluate`` shows it), an export (JSON Lines or CSV), or the
replay of records with any difference from what was stored. Exit codes: 0; ``replay``
1 when some record differs; 2 bad usage, unknown record, unreachable store, a store that
fails while it is read or written (damaged, read-only), a record that cannot be read (the
others are listed, exported or replayed first) or replayed. SQLAlchemy is imported inside
the commands only.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer

from .root import app
from .common import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, check_output_path, cpus, err, fail_usage, load_rules
from .serve import DB_HELP, open_store

MAX_ID = 2**63 - 1  # (origin_rules.audit.MAX_ID, without importing the store for --help)

audit_app = typer.Typer(name="audit", help="The audit store: list, show, export and replay recorded determinations.",
                        no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                        context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(audit_app, name="audit")


class Format(str, Enum):
    text = "text"
    json = "json"


class ExportFormat(str, Enum):
    jsonl = "jsonl"
    csv = "csv"


Db = Annotated[Optional[str], typer.Option("--db", help=DB_HELP, show_default=False)]
Product = Annotated[Optional[str], typer.Option("--product", help="Only records of this product id.", show_default=False)]
Under = Annotated[Optional[str], typer.Option("--under", "-u", help="Only records under this agreement or scenario.", show_default=False)]
VerdictOpt = Annotated[Optional[str], typer.Option("--verdict", help="Only records with this verdict.", show_default=False)]
By = Annotated[Optional[str], typer.Option("--by", help="Only records requested by this name.", show_default=False)]


def _filters(product, under, verdict, by) -> dict:
    from ..audit import StoreError, refuse_nul

    try:
        for option, value in (("--product", product), ("--under", under), ("--verdict", verdict), ("--by", by)):
            refuse_nul(value, f"`{option}`")
    except StoreError as exc:
        fail_usage(str(exc))
    return dict(product_id=product, agreement=under, verdict=verdict, requested_by=by)


@contextmanager
def using(store, doing: str = "read") -> Iterator[None]:
    """The store's errors while it is read or written (a damaged file, a read-only one, a
    value the database refuses): a one-line message naming the store and exit 2. The store
    is closed at the end."""
    from sqlalchemy.exc import SQLAlchemyError

    from ..audit.store import first_line

    try:
        yield
    except SQLAlchemyError as exc:
        err(f"error: cannot {doing} the audit store {store.shown_url}: {first_line(exc)}")
        raise typer.Exit(EXIT_USAGE)
    finally:
        store.close()


def _readable(records, unreadable: list):
    """The records that read back; the others added to ``unreadable``."""
    from ..audit import UnreadableRecord

    for record in records:
        if isinstance(record, UnreadableRecord):
            unreadable.append(record)
        else:
            yield record


def _report_unreadable(unreadable: list, store) -> None:
    """Each record that cannot be read, on stderr, then exit 2 (after the others were shown)."""
    if not unreadable:
        return
    for record in unreadable:
        err(f"error: record {record.id} in {store.shown_url} cannot be read: {record.reason}")
    raise typer.Exit(EXIT_USAGE)


@audit_app.command("list")
def list_records(
    db: Db = None, product: Product = None, under: Under = None, verdict: VerdictOpt = None, by: By = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=MAX_ID, help="At most this many records, newest first.")] = 50,
    format: Annotated[Format, typer.Option("--format", "-f", help="text for people, json for machines.")] = Format.text,
) -> None:
    """List recorded determinations, newest first."""
    filters = _filters(product, under, verdict, by)
    store = open_store(db)
    unreadable: list = []
    with using(store):
        records = list(_readable(store.records(limit=limit, newest_first=True, **filters), unreadable))
    if format is Format.json:
        typer.echo(json.dumps([r.to_dict(parsed=False) | {"determination": None, "bom_received": None} for r in records],
                              indent=2))
        _report_unreadable(unreadable, store)
        raise typer.Exit(EXIT_OK)
    if not records:
        err("no records")
        _report_unreadable(unreadable, store)
        raise typer.Exit(EXIT_OK)
    from io import StringIO

    from rich.console import Console
    from rich.table import Table

    table = Table(header_style="bold")
    for column in ("id", "recorded (UTC)", "by", "product", "agreement / scenario", "as of", "verdict"):
        table.add_column(column, overflow="fold")
    for r in records:
        table.add_row(str(r.id), r.to_dict(parsed=False)["recorded_at"][:19].replace("T", " "), r.requested_by,
                      r.product_id, r.agreement, r.as_of.isoformat(), r.verdict)
    buf = StringIO()
    Console(file=buf, width=160, force_terminal=False, color_system=None).print(table)
    typer.echo(buf.getvalue().rstrip())
    _report_unreadable(unreadable, store)
    raise typer.Exit(EXIT_OK)


@audit_app.command("show")
def show(
    record_id: Annotated[int, typer.Argument(help="The record's id (`audit list`).", show_default=False)],
    db: Db = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="text: who, when, and the determination as `evaluate` shows it; json: the whole record.")] = Format.text,
) -> None:
    """Show one record: who asked, when, the BOM's hash, and the determination."""
    from ..audit import UnreadableRecord
    from ..audit.store import first_line
    from ..model.determination import Determination
    from ..rulebook.explain import render

    store = open_store(db)
    with using(store):
        record = store.get(record_id)
    if record is None:
        fail_usage(f"no record {record_id} in {store.shown_url}")
    unreadable = f"record {record_id} in {store.shown_url} cannot be read"
    if isinstance(record, UnreadableRecord):
        fail_usage(f"{unreadable}: {record.reason}")
    try:
        data = record.to_dict()
    except ValueError as exc:
        fail_usage(f"{unreadable}: its determination is not JSON ({exc})")
    if format is Format.json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        raise typer.Exit(EXIT_OK)
    try:
        det = Determination.model_validate_json(record.determination)
    except ValueError as exc:  # (pydantic's ValidationError is one)
        fail_usage(f"{unreadable}: its determination does not read as one ({first_line(exc)})")
    typer.echo(f"record {record.id}: {data['recorded_at']} by {record.requested_by} ({record.channel}), "
               f"request {record.request_id}")
    typer.echo(f"BOM {record.bom_hash} ({record.bom_format}), rules {record.rules_digest}")
    typer.echo("\n" + render(det, full=record.explain == "full"))
    raise typer.Exit(EXIT_OK)


@audit_app.command("export")
def export_records(
    db: Db = None, product: Product = None, under: Under = None, verdict: VerdictOpt = None, by: By = None,
    format: Annotated[ExportFormat, typer.Option("--format", "-f", help="jsonl: one record a line; csv: one a row.")] = ExportFormat.jsonl,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write here (atomically). Default: stdout.", show_default=False)] = None,
) -> None:
    """Export records, oldest first, with the BOM as received and the full determination."""
    from ..audit import export
    from ..files.atomic import write_atomically

    filters = _filters(product, under, verdict, by)
    if out is not None:
        check_output_path(out)
    store = open_store(db)
    unreadable: list = []
    with using(store):
        records = store.records(**filters)
        if out is None:
            count = export(records, sys.stdout, format.value, unreadable=unreadable)
        else:
            counted = []
            try:
                write_atomically(str(out), lambda handle: counted.append(
                    export(records, handle, format.value, unreadable=unreadable)))
            except OSError as exc:
                fail_usage(f"cannot write `{out}`: {exc.strerror or exc}")
            count = counted[0]
    err(f"exported {count:,} record{'s' if count != 1 else ''}" + (f" to {out}" if out else ""))
    _report_unreadable(unreadable, store)
    raise typer.Exit(EXIT_OK)


@audit_app.command("replay")
def replay_records(
    ids: Annotated[Optional[list[int]], typer.Argument(help="Record ids. Default: every record (with the filters).", show_default=False)] = None,
    db: Db = None, product: Product = None, under: Under = None, verdict: VerdictOpt = None, by: By = None,
    rules: Annotated[Optional[list[Path]], typer.Option("--rules", "-r", help="Replay under these rule files instead of the rules each record was made with (what would change today?).", show_default=False)] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="text for people, json for machines.")] = Format.text,
    workers: Annotated[Optional[int], typer.Option("--workers", "-j", min=1, help="Processes that evaluate. Default: the number of CPUs.")] = None,
) -> None:
    """Re-evaluate stored BOMs under the stored rules (or --rules) and report any difference."""
    from concurrent.futures.process import BrokenProcessPool

    from ..audit import replay

    filters = _filters(product, under, verdict, by)
    store = open_store(db)
    book = load_rules(rules) if rules else None
    with using(store):
        if ids:
            missing = [i for i in ids if store.get(i) is None]
            if missing:
                fail_usage(f"no record {', '.join(map(str, missing))} in {store.shown_url}")
        records = store.records(ids=ids or None, **filters)
        count = workers or cpus()
        try:
            results = list(replay(store, records, book, workers=count))
        except BrokenProcessPool:
            err("error: a worker process died (out of memory?); nothing replayed. Try fewer --workers.")
            raise typer.Exit(EXIT_USAGE)
    if format is Format.json:
        typer.echo(json.dumps([r.to_dict() for r in results], indent=2, ensure_ascii=False))
    else:
        for r in results:
            if r.same:
                continue
            if r.error:
                what = f" ({r.product_id} under {r.agreement})" if r.agreement else ""
                typer.echo(f"record {r.record_id}{what}: cannot replay: {r.error}")
                continue
            change = (f"verdict {r.stored_verdict} -> {r.verdict}" if r.verdict != r.stored_verdict
                      else f"verdict {r.verdict} unchanged")
            typer.echo(f"record {r.record_id} ({r.product_id} under {r.agreement}, as of {r.as_of}): {change}; "
                       f"differs at {', '.join(r.paths)}")
        same = sum(r.same for r in results)
        under_text = f"under {book.digest[:19]}..." if book is not None else "under their stored rules"
        moved = sum(1 for r in results if r.same and r.moved)
        moved_text = f" ({moved:,} of them decided by rules that moved in their files)" if moved else ""
        typer.echo(f"replayed {len(results):,} record{'s' if len(results) != 1 else ''} {under_text}: "
                   f"{same:,} same{moved_text}, "
                   f"{sum(1 for r in results if r.error is None and not r.same):,} different, "
                   f"{sum(1 for r in results if r.error):,} not replayable")
    if any(r.error for r in results):
        raise typer.Exit(EXIT_USAGE)
    raise typer.Exit(EXIT_FINDINGS if any(not r.same for r in results) else EXIT_OK)


# ---------------------------------------------------------------------------- tokens

token_app = typer.Typer(name="token", help="API tokens of `origin-rules serve`: create (the secret is shown once), list, revoke.",
                        no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                        context_settings={"help_option_names": ["-h", "--help"]})
audit_app.add_typer(token_app, name="token")


class Role(str, Enum):
    analyst = "analyst"
    lead = "lead"
    admin = "admin"


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="Who holds it (recorded as `requested_by` of what it evaluates).", show_default=False)],
    role: Annotated[Role, typer.Option("--role", help="analyst: evaluate, read own records; lead: also read and export all; admin: tokens only.")] = Role.analyst,
    db: Db = None,
) -> None:
    """Create a token and print its secret, once: the store keeps only its sha256."""
    from ..audit import StoreError, cli_user, create_token

    store = open_store(db)
    with using(store, "write to"):
        try:
            secret, token = create_token(store, name, role.value, created_by=cli_user())
        except StoreError as exc:
            fail_usage(str(exc))
    err(f"token {token.id} for {token.name} ({token.role}); the secret below is shown this once:")
    typer.echo(secret)
    raise typer.Exit(EXIT_OK)


@token_app.command("list")
def token_list(
    db: Db = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="text for people, json for machines.")] = Format.text,
) -> None:
    """List the tokens (never a secret), revoked ones too."""
    from ..audit import list_tokens

    store = open_store(db)
    with using(store):
        tokens = [t.to_dict() for t in list_tokens(store)]
    if format is Format.json:
        typer.echo(json.dumps(tokens, indent=2, ensure_ascii=False))
        raise typer.Exit(EXIT_OK)
    if not tokens:
        err("no tokens")
        raise typer.Exit(EXIT_OK)
    for t in tokens:
        state = f"revoked {t['revoked_at'][:19]} by {t['revoked_by']}" if t["revoked_at"] else "active"
        typer.echo(f"{t['id']:>4}  {t['role']:<7}  {t['name']}  (created {t['created_at'][:19]} by {t['created_by']}; {state})")
    raise typer.Exit(EXIT_OK)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (`audit token list`).", show_default=False)],
    db: Db = None,
) -> None:
    """Revoke a token: the service refuses it from its next request on."""
    from ..audit import StoreError, cli_user, revoke_token

    store = open_store(db)
    with using(store, "write to"):
        try:
            token = revoke_token(store, token_id, revoked_by=cli_user())
        except StoreError as exc:
            fail_usage(str(exc))
    err(f"revoked token {token.id} ({token.name}, {token.role})")
    raise typer.Exit(EXIT_OK)


# ---------------------------------------------------------------------------- --record


def _received(record) -> tuple[str, str]:
    """The text a BOM record was read from and its format: the whole file for a YAML/JSON
    file holding this one BOM, the line for JSON Lines, else the BOM's JSON as read."""
    from ..files.boms import loads_bom
    from ..model.bom import BomError

    path = Path(record.source)
    suffix = path.suffix.lower()
    try:
        if suffix in (".yaml", ".yml", ".json") and record.position == 0:
            text = path.read_text(encoding="utf-8-sig")
            fmt = "json" if suffix == ".json" else "yaml"
            if loads_bom(text, format=fmt, file=str(path)) == record.bom:
                return text, fmt
        if suffix in (".jsonl", ".ndjson") and record.line:
            with open(path, encoding="utf-8-sig") as handle:
                for number, line in enumerate(handle, 1):
                    if number == record.line:
                        return line.rstrip("\r\n"), "json"
    except (OSError, UnicodeDecodeError, BomError):
        pass
    return record.bom.to_json(indent=None), "bom-json"


def record_evaluations(results, book, explain: str, db: Optional[str] = None) -> None:
    """``evaluate --record``: append each BOM's determinations to the audit store."""
    from ..audit import cli_user, record_determinations

    store = open_store(db)
    entries = [(rec.bom, *_received(rec), dets) for rec, dets in results]
    with using(store, "record the determinations in"):
        ids = record_determinations(store, book, entries, explain=explain, requested_by=cli_user(),
                                    channel="cli evaluate")
    err(f"recorded {len(ids):,} determination{'s' if len(ids) != 1 else ''} in {store.shown_url}")


@contextmanager
def batch_recording(book, out: Path, db: Optional[str] = None) -> Iterator:
    """``batch --record``: the audit store opened before the batch runs (a store that cannot
    be opened is a usage error before any work) and the batch's recording, its temporary
    files beside the output; both closed at the end, what was not committed dropped."""
    from ..audit import BatchRecording, cli_user

    store = open_store(db)
    folder = out.resolve().parent
    try:
        try:
            recording = BatchRecording(store, book, requested_by=cli_user(), channel="cli batch", folder=str(folder))
        except OSError as exc:
            err(f"error: --record: cannot write temporary files in `{folder}`: {exc.strerror or exc}")
            raise typer.Exit(EXIT_USAGE)
        with recording:
            yield recording
    finally:
        store.close()


def commit_recording(recording, out: Path) -> None:
    """Append a finished batch's determinations to the audit store, and say so; a store that
    fails now is an error (exit 2) that says the output is written all the same."""
    from sqlalchemy.exc import SQLAlchemyError

    from ..audit.store import first_line

    try:
        count = recording.commit()
    except (SQLAlchemyError, OSError) as exc:
        err(f"error: could not record the determinations in {recording.store.shown_url}: {first_line(exc)};"
            f" `{out}` is written")
        raise typer.Exit(EXIT_USAGE)
    err(f"recorded {count:,} determination{'s' if count != 1 else ''} in {recording.store.shown_url}")
