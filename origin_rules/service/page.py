"""The analyst's page, served by the same process: paste or upload a BOM, pick agreements
and a date, and read the verdict; a batch upload with a progress bar; recent determinations.

In: browser requests (``GET /``, a form ``POST /ui/evaluate``, ``GET /ui/records/{id}``;
``/ui/login`` and ``/ui/logout``: the token kept in an HttpOnly, SameSite=Strict cookie).
Out: HTML from Jinja2 templates with autoescaping (``templates/``: every value from a BOM,
a rule file or the store is escaped, never markup), a little JavaScript (reading a chosen
file into the form; the batch upload through the JSON API and its progress). The page
evaluates and records exactly as ``POST /evaluate`` does (the same readers, engine and
audit store); a BOM that cannot be read shows the readers' problems with their lines and
field paths. An analyst's history shows its own records only; the name recorded is the
token's (under ``--insecure-local``, the name typed in the form).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from ..model.dates import iso_date
from .access import COOKIE, EVALUATE, LOCAL, principal_of
from .bodies import read_body, read_bom_body
from .errors import ApiError, log_refused

__all__ = ["add_page"]

TEMPLATES = Path(__file__).resolve().parent / "templates"
HISTORY = 20
# A BOM of the API's limit, URL-encoded by the browser (a byte of UTF-8 text becomes up to three:
# `%C3`), and the other fields; the BOM itself is then held to the API's limit (docs/service.md).
MAX_FORM_BYTES = 3 * 5 * 1024 * 1024 + 64 * 1024


def _environment():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))


def add_page(app: FastAPI, state) -> None:
    """Register the page's routes on ``app`` (``state``: the app's rulebook and store)."""
    env = _environment()

    def render(name: str, status: int = 200, **values: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**values), status_code=status)

    def history(principal) -> list[dict[str, Any]]:
        from ..audit import UnreadableRecord

        rows = []
        mine = {} if principal.sees_all else {"requested_by": principal.name}
        for record in state.store.records(limit=HISTORY, newest_first=True, **mine):
            if isinstance(record, UnreadableRecord):
                continue  # (GET /determinations logs it)
            row = record.to_dict(parsed=False)
            row["recorded_at"] = row["recorded_at"][:19].replace("T", " ")
            rows.append(row)
        return rows

    def agreements() -> list[dict[str, Any]]:
        return [{"name": n, "hypothetical": p.is_scenario} for n, p in state.book.parsed.programs.items()]

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(request: Request) -> HTMLResponse:
        principal = principal_of(request)
        return render("index.html", title="Evaluate", bom="", today=date.today().isoformat(),
                      agreements=agreements(), history=history(principal), principal=principal, local=LOCAL)

    @app.get("/ui/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form() -> HTMLResponse:
        return render("login.html", title="Sign in", message="")

    @app.post("/ui/login", include_in_schema=False)
    async def login(request: Request):
        from ..audit import find_token

        form = parse_qs((await read_body(request, 4096)).decode("utf-8", "replace"))
        secret = (form.get("token") or [""])[0].strip()
        token = await run_in_threadpool(find_token, state.store, secret) if secret else None
        if token is not None and token.active and token.role not in EVALUATE:  # (an admin manages tokens only)
            log_refused(request.scope, 403, f"sign-in refused: the role {token.role} may not use the page",
                        f"token {token.id} ({token.name}, {token.role})")
            return render("login.html", 403, title="Sign in", message=f"Sign-in refused: the page is for analysts and "
                          f"leads; the role {token.role} manages tokens through the API.")
        if token is None or not token.active:
            why = "no token" if not secret else "unknown token" if token is None else "the token was revoked"
            who = "no token" if not secret else "an unknown token" if token is None else f"token {token.id} ({token.name}, {token.role}, revoked)"
            log_refused(request.scope, 401, f"sign-in refused: {why}", who)
            return render("login.html", 401, title="Sign in", message=f"Sign-in refused: {why}.")
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, secret, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                            path="/")
        return response

    @app.post("/ui/logout", include_in_schema=False)
    def logout() -> RedirectResponse:
        response = RedirectResponse("/ui/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.post("/ui/evaluate", response_class=HTMLResponse, include_in_schema=False)
    async def evaluate_form(request: Request) -> HTMLResponse:
        principal = principal_of(request)
        form = parse_qs((await read_body(request, MAX_FORM_BYTES)).decode("utf-8", "replace"), keep_blank_values=True)
        one = lambda key, default="": (form.get(key) or [default])[0]  # noqa: E731
        fmt = one("format", "yaml") if one("format", "yaml") in ("yaml", "json") else "yaml"
        explain = one("explain", "summary") if one("explain", "summary") in ("summary", "full") else "summary"
        try:
            on = iso_date(one("as_of") or date.today().isoformat())
            names = list(dict.fromkeys(n for n in form.get("under", []) if n))  # each once, as POST /evaluate
            unknown = [n for n in names if n not in state.book.names]
            if unknown:
                raise ApiError(422, f"unknown agreement or scenario: {', '.join(unknown)}")
            # read in a worker thread, not on the event loop (as POST /evaluate does)
            body = one("bom").encode("utf-8")
            if len(body) > state.settings.max_bom_bytes:
                raise ApiError(413, f"the BOM is larger than {state.settings.max_bom_bytes:,} bytes")
            bom, text, fmt = await run_in_threadpool(read_bom_body, body, None, fmt)
        except ValueError:
            return render("result.html", 422, title="Error", message="the date is not a date (YYYY-MM-DD)",
                          problems=[{"path": "as_of", "message": f"`{one('as_of')}` is not a date"}], determinations=[])
        except ApiError as exc:
            return render("result.html", exc.status, title="Error", message=exc.message,
                          problems=exc.problems or [{"path": "", "message": exc.message}], determinations=[])

        who = (one("by").strip()[:200] or principal.name) if principal.role == LOCAL else principal.name
        if "\x00" in who:
            message = "holds a NUL character (U+0000), which no record of the store can hold"
            return render("result.html", 422, title="Error", message=f"your name {message}",
                          problems=[{"path": "by", "message": message}], determinations=[])

        def work() -> list[dict[str, Any]]:
            import json

            from ..audit import record_determinations

            chosen = names or state.book.applicable(bom)
            dets = [state.book.evaluate(bom, under=n, as_of=on, explain=explain) for n in chosen]
            record_determinations(state.store, state.book, [(bom, text, fmt, dets)], explain=explain,
                                  requested_by=who, channel="page evaluate")
            return [json.loads(d.to_json(indent=None)) for d in dets]

        determinations = await run_in_threadpool(work)
        return render("result.html", title=f"{bom.product.id}", determinations=determinations, problems=[],
                      principal=principal)

    @app.get("/ui/records/{record_id}", response_class=HTMLResponse, include_in_schema=False)
    def record_page(request: Request, record_id: int) -> HTMLResponse:
        from ..audit import UnreadableRecord

        record = state.store.get(record_id)
        if isinstance(record, UnreadableRecord):
            raise ApiError(500, f"record {record_id} cannot be read from the audit store")
        if record is not None and not principal_of(request).may_read(record.requested_by):
            raise ApiError(403, f"record {record_id} was not requested by {principal_of(request).name}: "
                                "an analyst reads only its own")
        if record is None:
            return render("result.html", 404, title="Not found", message=f"no record {record_id}", missing=True,
                          problems=[{"path": "", "message": f"no record {record_id}"}], determinations=[],
                          principal=principal_of(request))
        data = record.to_dict()
        return render("result.html", title=f"Record {record_id}", record=data, determinations=[data["determination"]],
                      problems=[], principal=principal_of(request))
