"""`origin-rules serve`: the HTTP API (docs/service.md), served by uvicorn.

In: host, port, the rule files, the audit store's URL (default ``$ORIGIN_RULES_DB`` or an
SQLite file in the user's data directory), the batch jobs' folder, ``--insecure-local``.
Out: a server until interrupted; bad rules, an unreachable store, a port in use, or
``--insecure-local`` with a host other than 127.0.0.1 are reported before it starts (exit 2). Every request
needs an API token (``origin-rules audit token create``) unless ``--insecure-local``.
FastAPI, uvicorn and SQLAlchemy are imported inside the command, so ``origin-rules --help``
and the other commands start without them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .root import app
from .common import EXIT_OK, EXIT_USAGE, err, fail_usage, load_rules

LOOPBACK = ("127.0.0.1", "localhost")
DB_HELP = "Audit store: sqlite:///PATH, a file path, or postgresql://USER@HOST/DB. Default: $ORIGIN_RULES_DB, else a file in the user's data directory."


def open_store(db: Optional[str]):
    """The audit store, or an error message and exit 2."""
    from ..audit import Store, StoreError

    try:
        return Store(db)
    except StoreError as exc:
        err(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE)


def check_port(host: str, port: int) -> None:
    """Exit 2 with one line when the server could not listen on ``host:port`` (in use, or an
    address of another machine), before anything is loaded; uvicorn would log the error and
    exit 3. (Bound as uvicorn binds: IPv6 for an address with a colon, SO_REUSEADDR.)"""
    import socket

    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        import errno

        why = ("the port is in use (another server, or an earlier one still running): stop it or give another --port"
               if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc))
        fail_usage(f"cannot listen on {host}:{port}: {why}")


def _log_config() -> dict:
    """uvicorn's logging, plus the service's loggers (refused requests, internal errors) on
    stderr with their names."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["origin_rules"] = {"()": "uvicorn.logging.DefaultFormatter",
                                            "fmt": "%(levelprefix)s %(name)s: %(message)s", "use_colors": False}
    config["handlers"]["origin_rules"] = {"formatter": "origin_rules", "class": "logging.StreamHandler",
                                          "stream": "ext://sys.stderr"}
    config["loggers"]["origin_rules.service"] = {"handlers": ["origin_rules"], "level": "INFO", "propagate": False}
    return config


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (0.0.0.0: every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=0, max=65535, help="Port to listen on.")] = 8000,
    rules: Annotated[list[Path], typer.Option("--rules", "-r", help="Rule files or folders (repeatable).")] = [Path("rules")],
    db: Annotated[Optional[str], typer.Option("--db", help=DB_HELP, show_default=False)] = None,
    jobs_dir: Annotated[Optional[Path], typer.Option("--jobs-dir", help="Folder for batch inputs and results. Default: a temporary folder.", show_default=False)] = None,
    batch_workers: Annotated[int, typer.Option("--batch-workers", min=1, help="Worker processes per batch job.")] = 1,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn's log level (debug, info, warning, error).")] = "info",
    insecure_local: Annotated[bool, typer.Option("--insecure-local", help="No tokens: every request is allowed. Listens on 127.0.0.1 only (one person's machine).")] = False,
) -> None:
    """Serve the HTTP API and the analysts' page: evaluate BOMs, run batch jobs, read the audit store."""
    if insecure_local and host not in LOOPBACK:
        fail_usage(f"--insecure-local serves without tokens, so it listens on 127.0.0.1 only, not on {host}")
    import uvicorn

    from ..audit import list_tokens
    from ..service import Settings, create_app

    host = "127.0.0.1" if insecure_local else host
    check_port(host, port)
    store = open_store(db)  # first: a store that cannot be opened is known in a moment
    try:
        book = load_rules(rules)
    except BaseException:
        store.close()
        raise
    err(f"origin-rules: {len(book.names)} agreements and scenarios ({book.digest[:19]}...), audit store {store.shown_url}")
    if insecure_local:
        err("origin-rules: --insecure-local: no tokens asked, on 127.0.0.1 only")
    elif not any(t.active for t in list_tokens(store)):
        err("origin-rules: no API token in this store yet, so every request will be refused: create one with "
            "`origin-rules audit token create NAME --role admin|lead|analyst`, or serve --insecure-local")
    settings = Settings(rules=[str(r) for r in rules], book=book, store=store,
                        jobs_dir=str(jobs_dir) if jobs_dir else None, batch_workers=batch_workers,
                        insecure_local=insecure_local)
    try:
        uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level, log_config=_log_config())
    except SystemExit as exc:  # uvicorn could not start (a port taken since check_port): it said why
        if exc.code in (None, 0):
            raise
        err(f"error: the server could not start on {host}:{port} (see above)")
        raise typer.Exit(EXIT_USAGE)
    finally:
        store.close()
    raise typer.Exit(EXIT_OK)
