"""The analyst's page, served by the same process: paste or upload a BOM, pick agreements
and a date, and read the verdict; a batch upload with a progress bar; recent determinations.

In: browser requests (``GET /``, a form ``POST /ui/evaluate``, ``GET /ui/records/{id}``).
Out: HTML from Jinja2 templates with autoescaping (``templates/``: every value from a BOM,
a rule file or the store is escaped, never markup), a little JavaScript (reading a chosen
file into the form; the batch upload through the JSON API and its progress). The page
evaluates and records exactly as ``POST /evaluate`` does (the same readers, engine and
audit store); a BOM that cannot be read shows the readers' problems with their lines and
field paths.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from .bodies import read_bom_body
from .errors import ApiError

__all__ = ["add_page"]

TEMPLATES = Path(__file__).resolve().parent / "templates"
HISTORY = 20


def _environment():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))


def add_page(app: FastAPI, state) -> None:
    """Register the page's routes on ``app`` (``state``: the app's rulebook and store)."""
    env = _environment()

    def render(name: str, status: int = 200, **values: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**values), status_code=status)

    def history() -> list[dict[str, Any]]:
        rows = []
        for record in state.store.records(limit=HISTORY, newest_first=True):
            row = record.to_dict(parsed=False)
            row["recorded_at"] = row["recorded_at"][:19].replace("T", " ")
            rows.append(row)
        return rows

    def agreements() -> list[dict[str, Any]]:
        return [{"name": n, "hypothetical": p.is_scenario} for n, p in state.book.parsed.programs.items()]

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        return render("index.html", title="Evaluate", bom="", today=date.today().isoformat(),
                      agreements=agreements(), history=history())

    @app.post("/ui/evaluate", response_class=HTMLResponse, include_in_schema=False)
    async def evaluate_form(request: Request) -> HTMLResponse:
        form = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
        one = lambda key, default="": (form.get(key) or [default])[0]  # noqa: E731
        fmt = one("format", "yaml") if one("format", "yaml") in ("yaml", "json") else "yaml"
        explain = one("explain", "summary") if one("explain", "summary") in ("summary", "full") else "summary"
        try:
            on = date.fromisoformat(one("as_of") or date.today().isoformat())
            names = [n for n in form.get("under", []) if n]
            unknown = [n for n in names if n not in state.book.names]
            if unknown:
                raise ApiError(422, f"unknown agreement or scenario: {', '.join(unknown)}")
            bom, text, fmt = read_bom_body(one("bom").encode("utf-8"), None, fmt)
        except ValueError:
            return render("result.html", 422, title="Error", message="the date is not a date (YYYY-MM-DD)",
                          problems=[{"path": "as_of", "message": f"`{one('as_of')}` is not a date"}], determinations=[])
        except ApiError as exc:
            return render("result.html", exc.status, title="Error", message=exc.message,
                          problems=exc.problems or [{"path": "", "message": exc.message}], determinations=[])

        def work() -> list[dict[str, Any]]:
            import json

            from ..audit import record_determinations

            chosen = names or state.book.applicable(bom)
            dets = [state.book.evaluate(bom, under=n, as_of=on, explain=explain) for n in chosen]
            record_determinations(state.store, state.book, [(bom, text, fmt, dets)], explain=explain,
                                  requested_by=one("by").strip()[:200] or "anonymous", channel="page evaluate")
            return [json.loads(d.to_json(indent=None)) for d in dets]

        determinations = await run_in_threadpool(work)
        return render("result.html", title=f"{bom.product.id}", determinations=determinations, problems=[])

    @app.get("/ui/records/{record_id}", response_class=HTMLResponse, include_in_schema=False)
    def record_page(record_id: int) -> HTMLResponse:
        record = state.store.get(record_id)
        if record is None:
            return render("result.html", 404, title="Not found", message=f"no record {record_id}",
                          problems=[{"path": "", "message": f"no record {record_id}"}], determinations=[])
        data = record.to_dict()
        return render("result.html", title=f"Record {record_id}", record=data, determinations=[data["determination"]],
                      problems=[])
