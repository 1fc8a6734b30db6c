"""The HTTP API: ``create_app(Settings(...))`` -> a FastAPI application.

In: settings (rule paths or a loaded rulebook, the audit store's URL or a store, the folder
for batch jobs). Out: the endpoints below, all answering JSON (errors as
:mod:`origin_rules.service.errors`), the OpenAPI schema at ``/openapi.json`` and the docs at
``/docs``. Every determination made is appended to the audit store.

- ``GET /health``; ``GET /rulebooks``: agreements and scenarios, parties, rules digest.
- ``POST /evaluate``: one BOM (YAML or JSON body) under ``under`` (repeatable; default every
  applicable agreement and scenario) as of ``as_of``; the determinations and record ids.
- ``POST /batches``: a batch file (JSON Lines, CSV, XLSX, YAML/JSON list) as the body ->
  a job (202); ``GET /batches/{id}`` its status and progress; ``/results`` the JSON Lines
  output; ``/report`` the HTML impact report.
- ``GET /determinations`` (newest first, filters), ``GET /determinations/export`` (JSON
  Lines or CSV, leads) and ``GET /determinations/{id}``.
- ``GET /tokens``, ``POST /tokens``, ``POST /tokens/{id}/revoke``: API tokens (admins).

Every request needs a token (:mod:`origin_rules.service.access`: roles, the policy of
each route, refusals logged) unless the app is built with ``insecure_local``.

The rulebook is loaded and the store opened (migrations run) at start-up, not when the app
is built, so the schema can be generated without rules or database.
"""

from __future__ import annotations

import tempfile
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse

from ..model.dates import iso_date
from .access import AccessControl, Principal, principal_of
from .bodies import BATCH_FORMATS, batch_format, count_records, read_body, read_bom_body
from .errors import ApiError, ErrorBody, install_handlers, log, problem
from .jobs import Jobs
from .schemas import (ApiTokenInfo, BatchJob, Evaluation, Health, NewToken, NewTokenRequest, RecordList, Rulebooks,
                      StoredRecord)

__all__ = ["Settings", "create_app"]

MAX_BOM_BYTES = 5 * 1024 * 1024
MAX_BATCH_BYTES = 200 * 1024 * 1024
MAX_BATCH_RECORDS = 1_000_000
ERRORS = {status: {"model": ErrorBody} for status in (401, 403, 404, 409, 413, 415, 422, 500)}


@dataclass
class Settings:
    """What the app serves: ``rules`` (paths) or ``book`` (a loaded Rulebook); ``db`` (a URL,
    None: ``$ORIGIN_RULES_DB`` or the user's data directory) or ``store``; ``jobs_dir`` for
    batch files (None: a temporary folder); ``batch_workers`` per batch; the limits (413 over
    them); ``insecure_local``: no tokens, every request allowed (``serve --insecure-local``,
    which binds to 127.0.0.1 only)."""

    rules: list[str] = field(default_factory=lambda: ["rules"])
    book: Any = None
    db: str | None = None
    store: Any = None
    jobs_dir: str | None = None
    batch_workers: int = 1
    max_bom_bytes: int = MAX_BOM_BYTES
    max_batch_bytes: int = MAX_BATCH_BYTES
    max_batch_records: int = MAX_BATCH_RECORDS
    insecure_local: bool = False


class _State:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.book = settings.book
        self.store = settings.store
        self.own_store = False
        self.temp: tempfile.TemporaryDirectory | None = None
        self.jobs: Jobs | None = None

    def start(self) -> None:
        from ..audit import Store
        from ..rulebook.book import load

        if self.book is None:
            self.book = load(self.settings.rules)
        if self.store is None:
            self.store = Store(self.settings.db)
            self.own_store = True
        folder = self.settings.jobs_dir
        if folder is None:
            self.temp = tempfile.TemporaryDirectory(prefix="origin-rules-jobs-")
            folder = self.temp.name
        Path(folder).mkdir(parents=True, exist_ok=True)
        self.jobs = Jobs(Path(folder), lambda: self.book, lambda: self.store, self.settings.batch_workers)
        self.jobs.restore()

    def stop(self) -> None:
        if self.jobs is not None:
            self.jobs.stop()
        if self.own_store and self.store is not None:
            self.store.close()
        if self.temp is not None:
            self.temp.cleanup()


def _as_of(text: str | None) -> date:
    if text is None:
        return date.today()
    try:
        return iso_date(text)
    except ValueError:
        raise ApiError(422, "the request is not valid",
                       [problem(f"`{text}` is not a date: write YYYY-MM-DD, e.g. 2026-07-01", "query.as_of")]) from None


def _names(book, under: list[str] | None) -> list[str] | None:
    from ..rulebook.book import UnknownAgreement

    if not under:
        return None
    bad = [problem(str(UnknownAgreement(n, book.names)), f"query.under[{i}]") for i, n in enumerate(under)
           if n not in book.names]
    if bad:
        raise ApiError(422, "unknown agreement or scenario", bad)
    return list(dict.fromkeys(under))


def _agreements(book) -> list[dict[str, Any]]:
    out = []
    for name, program in book.parsed.programs.items():
        out.append({"name": name, "kind": "scenario" if program.is_scenario else "agreement",
                    "base": program.chain[-1] if program.is_scenario else None,
                    "hypothetical": program.is_scenario, "parties": sorted(program.parties),
                    "effective": program.effective.isoformat() if program.effective else None,
                    "rules": len(program.rules), "rules_digest": book.digest})
    return out


BOM_BODY = {"requestBody": {"required": True, "description": "One BOM (docs/bom.md), as YAML or JSON.", "content": {
    "application/yaml": {"schema": {"type": "string"}},
    "application/json": {"schema": {"$ref": "#/components/schemas/BOM"}}}}}
BATCH_BODY = {"requestBody": {"required": True, "description": "A batch file: JSON Lines, CSV, XLSX, or a YAML/JSON list of BOMs.",
                              "content": {"application/x-ndjson": {"schema": {"type": "string"}},
                                          "text/csv": {"schema": {"type": "string"}},
                                          "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}


def create_app(settings: Settings | None = None) -> FastAPI:
    from .. import __version__

    state = _State(settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await run_in_threadpool(state.start)
        try:
            yield
        finally:
            await run_in_threadpool(state.stop)

    app = FastAPI(title="origin-rules", version=__version__, lifespan=lifespan,
                  description="Rules of origin as a service: evaluate bills of materials under free-trade "
                              "agreements; every determination kept in an append-only audit store (docs/service.md). "
                              "Every request needs a token: `Authorization: Bearer TOKEN`.")
    app.state.origin_rules = state
    app.add_middleware(AccessControl, state=state)
    install_handlers(app)
    _routes(app, state)
    from .page import add_page

    add_page(app, state)
    _add_bom_schema(app)
    return app


def _add_bom_schema(app: FastAPI) -> None:
    """``#/components/schemas/BOM`` (the JSON Schema of ``origin-rules schema bom``) for the
    evaluate body, which the endpoint reads itself (so YAML and JSON share the readers)."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from ..model.bom import bom_json_schema

            schema = original()
            bom = bom_json_schema()
            defs = bom.pop("$defs", {})
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for name, value in defs.items():
                components.setdefault(name, value)
            components["BOM"] = bom
            components.setdefault("securitySchemes", {})["token"] = {
                "type": "http", "scheme": "bearer", "description": "An API token (`origin-rules audit token create`)."}
            schema["security"] = [{"token": []}]
            text = _rewrite_refs(schema)
            app.openapi_schema = text
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _rewrite_refs(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (v.replace("#/$defs/", "#/components/schemas/") if k == "$ref" and isinstance(v, str)
                    else _rewrite_refs(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite_refs(v) for v in value]
    return value


# Query and header parameters shared by the endpoints (module level: the annotations are
# resolved by name when FastAPI reads the signatures).
Under = Annotated[list[str] | None, Query(description="Agreement or scenario (repeatable). Default: every one whose parties include the country of production.")]
AsOf = Annotated[str | None, Query(description="Date of the determination, YYYY-MM-DD. Default: today.", examples=["2026-07-01"])]
Who = Annotated[str | None, Header(description="Who asks, under --insecure-local only (kept in the audit record; default: anonymous). With a token: the token's name.")]
Explain = Annotated[Literal["summary", "full"], Query(description="summary: the decisive steps; full: every step and sub-assembly.")]
BomFormat = Annotated[Literal["yaml", "json"] | None, Query(description="The body's format; default by Content-Type (application/json, else YAML).")]
BatchFormat = Annotated[Literal["jsonl", "csv", "xlsx", "yaml", "json"] | None, Query(description="The file's format; default by Content-Type.")]
VerdictFilter = Literal["qualifies", "does_not_qualify", "insufficient_data", "no_rule"] | None
Limit = Annotated[int, Query(ge=1, le=1000)]
ExportFormat = Annotated[Literal["jsonl", "csv"], Query(description="jsonl: one record a line; csv: one a row.")]
Offset = Annotated[int, Query(ge=0, le=2**63 - 1)]  # (origin_rules.audit.MAX_ID: what the databases can hold)


def _no_nul(**values: str | None) -> None:
    """A NUL character (U+0000) in a text the store is asked about is a 422 naming the
    parameter: PostgreSQL refuses it, and no record or token holds one."""
    bad = [problem("holds a NUL character (U+0000), which no record or token of the store can hold", f"query.{name}")
           for name, value in values.items() if value is not None and "\x00" in value]
    if bad:
        raise ApiError(422, "the request is not valid", bad)


def _readable(records) -> list[dict[str, Any]]:
    """The records as JSON; a row that cannot be read is left out, and logged."""
    from ..audit import UnreadableRecord

    out = []
    for record in records:
        if isinstance(record, UnreadableRecord):
            log.warning("audit record %d cannot be read: %s", record.id, record.reason)
            continue
        try:
            out.append(record.to_dict())
        except ValueError as exc:
            log.warning("audit record %d cannot be read: its determination is not JSON (%s)", record.id, exc)
    return out


def _mine(principal: Principal, requested_by: str, what: str) -> None:
    """An analyst reads only what it asked for."""
    if not principal.may_read(requested_by):
        raise ApiError(403, f"{what} was not requested by {principal.name}: an analyst reads only its own")


def _routes(app: FastAPI, state: _State) -> None:
    import json


    @app.get("/health", response_model=Health, tags=["service"])
    def health() -> dict[str, Any]:
        """Whether the service is up, with the rules digest it evaluates under."""
        return {"status": "ok", "version": app.version, "rules_digest": state.book.digest,
                "store": state.store.shown_url}

    @app.get("/rulebooks", response_model=Rulebooks, tags=["rules"])
    def rulebooks() -> dict[str, Any]:
        """The agreements and scenarios served (scenarios are hypothetical), their parties and rules digest."""
        return {"rules_digest": state.book.digest, "files": sorted(state.book.parsed.sources),
                "agreements": _agreements(state.book)}

    @app.post("/evaluate", response_model=Evaluation, responses=ERRORS, tags=["evaluate"], openapi_extra=BOM_BODY)
    async def evaluate(request: Request, under: Under = None, as_of: AsOf = None,
                       explain: Explain = "summary", format: BomFormat = None,
                       x_requested_by: Who = None) -> JSONResponse:
        """Evaluate one BOM: one determination per agreement or scenario, each recorded in the audit store."""
        on = _as_of(as_of)
        names = _names(state.book, under)
        who = principal_of(request).name
        body = await read_body(request, state.settings.max_bom_bytes)
        content_type = request.headers.get("content-type")

        def work() -> dict[str, Any]:
            from ..audit import record_determinations
            from ..audit.store import bom_hash

            # read in the worker thread, not on the event loop: a large BOM (up to
            # max_bom_bytes) takes long to read, and every other request would wait for it
            bom, text, fmt = read_bom_body(body, content_type, format)
            chosen = names if names is not None else state.book.applicable(bom)
            dets = [state.book.evaluate(bom, under=n, as_of=on, explain=explain) for n in chosen]
            ids = record_determinations(state.store, state.book, [(bom, text, fmt, dets)], explain=explain,
                                        requested_by=who, channel="api evaluate")
            return {"product_id": bom.product.id, "bom_hash": bom_hash(text), "as_of": on.isoformat(),
                    "rules_digest": state.book.digest, "records": ids,
                    "determinations": [json.loads(d.to_json(indent=None)) for d in dets]}

        return JSONResponse(await run_in_threadpool(work))

    @app.post("/batches", response_model=BatchJob, status_code=202, responses=ERRORS, tags=["batches"],
              openapi_extra=BATCH_BODY)
    async def submit_batch(request: Request, under: Under = None, as_of: AsOf = None,
                           format: BatchFormat = None,
                           x_requested_by: Who = None) -> JSONResponse:
        """Submit a batch file; evaluated in the background (poll ``GET /batches/{id}``)."""
        on = _as_of(as_of)
        names = _names(state.book, under)
        fmt = batch_format(request.headers.get("content-type"), format)
        body = await read_body(request, state.settings.max_batch_bytes)
        if not body.strip():
            raise ApiError(422, "the batch file is empty", [problem("the body holds no records (it is empty)")])
        limit = state.settings.max_batch_records
        if await run_in_threadpool(count_records, body, fmt, limit) > limit:
            raise ApiError(413, f"the batch holds more than {limit:,} records")
        job = state.jobs.submit(body, BATCH_FORMATS[fmt], names, on, principal_of(request).name)
        return JSONResponse(job.to_dict(), status_code=202, headers={"Location": f"/batches/{job.id}"})

    def _job(request: Request, job_id: str, done: bool = False):
        job = state.jobs.get(job_id)
        if job is None:
            raise ApiError(404, f"no batch job `{job_id}`")
        _mine(principal_of(request), job.requested_by, f"batch job `{job_id}`")
        if done and job.status != "done":
            raise ApiError(409, f"batch job `{job_id}` is {job.status}, not done" + (f": {job.error}" if job.error else ""))
        return job

    @app.get("/batches/{job_id}", response_model=BatchJob, responses=ERRORS, tags=["batches"])
    def batch_status(request: Request, job_id: str) -> dict[str, Any]:
        """A batch job's status, progress (records, bytes of the input done) and, once done, summary."""
        return _job(request, job_id).to_dict()

    @app.get("/batches/{job_id}/results", responses={**ERRORS, 200: {"content": {"application/x-ndjson": {}}}},
             response_class=FileResponse, tags=["batches"])
    def batch_results(request: Request, job_id: str) -> FileResponse:
        """The batch output: JSON Lines, one record per input record (the format of ``origin-rules batch``)."""
        job = _job(request, job_id, done=True)
        return FileResponse(job.output, media_type="application/x-ndjson", filename=f"results-{job.id}.jsonl")

    @app.get("/batches/{job_id}/report", responses={**ERRORS, 200: {"content": {"text/html": {}}}},
             response_class=FileResponse, tags=["batches"])
    def batch_report(request: Request, job_id: str) -> FileResponse:
        """The HTML impact report of a finished batch (``origin-rules report``)."""
        from ..report import write_report

        job = _job(request, job_id, done=True)
        if not job.report.exists():
            write_report(job.output, job.report, title=f"Batch {job.id}")
        return FileResponse(job.report, media_type="text/html")

    @app.get("/determinations", response_model=RecordList, tags=["audit"])
    def determinations(request: Request, product_id: str | None = None, agreement: str | None = None,
                       verdict: VerdictFilter = None,
                       requested_by: str | None = None, request_id: str | None = None,
                       limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
        """Stored determinations, newest first (an analyst's own only)."""
        _no_nul(product_id=product_id, agreement=agreement, requested_by=requested_by, request_id=request_id)
        principal = principal_of(request)
        if not principal.sees_all:
            if requested_by is not None:
                _mine(principal, requested_by, f"a record requested by {requested_by}")
            requested_by = principal.name
        filters = dict(product_id=product_id, agreement=agreement, verdict=verdict, requested_by=requested_by,
                       request_id=request_id)
        records = state.store.records(limit=limit, offset=offset, newest_first=True, **filters)
        return {"total": state.store.count(**filters), "records": _readable(records)}

    @app.get("/determinations/export", responses={**ERRORS, 200: {"content": {"application/x-ndjson": {}, "text/csv": {}}}},
             response_class=FileResponse, tags=["audit"])
    def export_determinations(product_id: str | None = None, agreement: str | None = None,
                              verdict: VerdictFilter = None, requested_by: str | None = None,
                              format: ExportFormat = "jsonl") -> FileResponse:
        """Every matching record, oldest first, with the BOM as received and the full
        determination (``origin-rules audit export``); leads only."""
        from starlette.background import BackgroundTask

        from ..audit import export

        _no_nul(product_id=product_id, agreement=agreement, requested_by=requested_by)
        filters = dict(product_id=product_id, agreement=agreement, verdict=verdict, requested_by=requested_by)
        handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", newline="", suffix=f".{format}", delete=False)
        unreadable: list = []
        with handle:
            export(state.store.records(**filters), handle, format, unreadable=unreadable)
        for record in unreadable:
            log.warning("audit record %d cannot be read, not exported: %s", record.id, record.reason)
        media = "application/x-ndjson" if format == "jsonl" else "text/csv"
        return FileResponse(handle.name, media_type=media, filename=f"determinations.{format}",
                            background=BackgroundTask(Path(handle.name).unlink, missing_ok=True))

    @app.get("/determinations/{record_id}", response_model=StoredRecord, responses=ERRORS, tags=["audit"])
    def determination(request: Request, record_id: int) -> dict[str, Any]:
        """One stored determination: the BOM as received, who asked, when, and the full determination."""
        from ..audit import UnreadableRecord

        record = state.store.get(record_id)
        if record is None:
            raise ApiError(404, f"no determination record {record_id}")
        if isinstance(record, UnreadableRecord) or not (found := _readable([record])):
            raise ApiError(500, f"determination record {record_id} cannot be read from the audit store")
        _mine(principal_of(request), record.requested_by, f"record {record_id}")
        return found[0]

    _token_routes(app, state)


def _token_routes(app: FastAPI, state: _State) -> None:
    """The admins' endpoints: API tokens (the secret is in the answer to ``POST /tokens`` only)."""
    from ..audit import StoreError, create_token, list_tokens, revoke_token

    @app.get("/tokens", response_model=list[ApiTokenInfo], responses=ERRORS, tags=["tokens"])
    def tokens() -> list[dict[str, Any]]:
        """Every API token, revoked ones included (never a secret)."""
        return [t.to_dict() for t in list_tokens(state.store)]

    @app.post("/tokens", response_model=NewToken, status_code=201, responses=ERRORS, tags=["tokens"])
    def new_token(request: Request, body: NewTokenRequest) -> dict[str, Any]:
        """A new token: its secret is in this answer only (the store keeps its sha256)."""
        if "\x00" in body.name:
            raise ApiError(422, "the request is not valid", [problem(
                "holds a NUL character (U+0000), which no record or token of the store can hold", "body.name")])
        try:
            secret, token = create_token(state.store, body.name, body.role, created_by=principal_of(request).label)
        except StoreError as exc:
            raise ApiError(422, str(exc), [problem(str(exc), "body")]) from None
        return {"token": secret, **token.to_dict()}

    @app.post("/tokens/{token_id}/revoke", response_model=ApiTokenInfo, responses=ERRORS, tags=["tokens"])
    def revoke(request: Request, token_id: int) -> dict[str, Any]:
        """Revoke a token: refused from the next request on."""
        try:
            return revoke_token(state.store, token_id, revoked_by=principal_of(request).label).to_dict()
        except StoreError as exc:
            raise ApiError(404 if "no token" in str(exc) else 409, str(exc)) from None
