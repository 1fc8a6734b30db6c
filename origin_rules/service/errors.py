"""Errors of the HTTP API as JSON, never a traceback.

In: what went wrong while serving a request: a BOM that cannot be read (the readers'
:class:`~origin_rules.model.bom.BomError`), a bad query parameter, an unknown route, a bug.
Out: a JSON body ``{"status": 422, "message": "...", "problems": [{"file", "path", "line",
"column", "message"}]}``: the problems carry the same field paths and messages the CLI prints
(``materials[1].value: expected a decimal ...``), query parameters as ``query.as_of``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..model.bom import BomError, path_text

__all__ = ["ApiError", "ErrorBody", "PRINCIPAL", "Problem", "REFUSALS", "bom_error", "install_handlers", "log_refused",
           "problem"]

log = logging.getLogger("origin_rules.service")
access_log = logging.getLogger("origin_rules.service.access")

PRINCIPAL = "origin_rules.principal"  # the scope key of who is asking (service.access.Principal)
REFUSALS = (401, 403, 413)  # refused requests, each logged (who, what, why)


def log_refused(scope: dict[str, Any], status: int, why: str, who: str | None = None) -> None:
    """Log a refused request: who (the token's id, name and role; never the secret), what
    (method, path, client address) and why. ``who`` defaults to the request's principal."""
    if who is None:
        principal = scope.get(PRINCIPAL)
        who = principal.label if principal is not None else "no token"
    client = scope.get("client") or ("?", 0)
    access_log.warning("refused %s %s from %s: %d %s (who: %s)", scope.get("method", "?"), scope.get("path", "?"),
                       client[0], status, why, who)


class Problem(BaseModel):
    """One thing wrong with the request: where (``path``, and for a BOM body its line) and what."""

    file: str | None = None
    path: str = ""
    line: int | None = None
    column: int | None = None
    message: str


class ErrorBody(BaseModel):
    """Every error response of the API."""

    status: int
    message: str
    problems: list[Problem] = []


def problem(message: str, path: str = "") -> dict[str, Any]:
    return {"file": None, "path": path, "line": None, "column": None, "message": message}


class ApiError(Exception):
    """An error the API answers with ``status`` and the JSON of :class:`ErrorBody`."""

    def __init__(self, status: int, message: str, problems: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = problems or []

    def response(self) -> JSONResponse:
        return JSONResponse({"status": self.status, "message": self.message, "problems": self.problems},
                            status_code=self.status)


def bom_error(error: BomError) -> ApiError:
    """A BOM that cannot be read: 422 with every problem the readers found."""
    count = len(error.problems)
    return ApiError(422, f"the BOM is not valid ({count} problem{'s' if count != 1 else ''})", error.to_dicts())


def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        problems.append(problem(str(err.get("msg", "invalid")), path_text(loc)))
    return ApiError(422, "the request is not valid", problems).response()


def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    message = exc.detail if isinstance(exc.detail, str) else "request refused"
    if exc.status_code == 404 and message == "Not Found":
        message = f"no such endpoint: {request.method} {request.url.path}"
    return JSONResponse({"status": exc.status_code, "message": message, "problems": []},
                        status_code=exc.status_code, headers=getattr(exc, "headers", None))


def _internal(request: Request, exc: Exception) -> JSONResponse:
    log.exception("internal error on %s %s", request.method, request.url.path)
    return ApiError(500, f"internal error ({type(exc).__name__}); please report it").response()


def _api(request: Request, exc: ApiError) -> JSONResponse:
    if exc.status in REFUSALS:
        log_refused(request.scope, exc.status, exc.message)
    return exc.response()


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _internal)
