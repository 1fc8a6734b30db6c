"""Access control of the service: API tokens, roles, and who may call which endpoint.

In: every HTTP request (its ``Authorization: Bearer`` header or the page's cookie), the
tokens of the audit store (:mod:`origin_rules.audit.tokens`), the settings
(``insecure_local``). Out: the request passed on with its :class:`Principal` in the scope
(:func:`principal_of`), or refused: 401 without a valid token (the page's routes redirect
to the login form instead), 403 for a role the endpoint does not allow; each refusal
logged with who, what and why, never the secret.

Roles: ``analyst`` evaluates and reads the records and batch jobs it asked for; ``lead``
evaluates, reads and exports every record; ``admin`` manages tokens only. Every route
must be listed in :data:`POLICY`: a route missing from it is refused to everyone (fail
closed), and tests/test_service_access.py checks every route of the app. Under
``--insecure-local`` (loopback only, for one person's machine) every request is allowed,
as the ``local`` role, and ``X-Requested-By`` names who asks.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Match

from .errors import PRINCIPAL, ApiError, log_refused

__all__ = ["ANY", "AccessControl", "COOKIE", "LOCAL", "POLICY", "PUBLIC", "Principal", "principal_of"]

COOKIE = "origin_rules_token"
LOCAL = "local"
ANONYMOUS = "anonymous"

ANY = frozenset({"analyst", "lead", "admin"})
EVALUATE = frozenset({"analyst", "lead"})
READ = frozenset({"analyst", "lead"})  # an analyst: only the records and jobs it asked for
EXPORT = frozenset({"lead"})
ADMIN = frozenset({"admin"})
PUBLIC = frozenset({"public"})  # no token needed: the login form only

#: (method, route path) -> the roles allowed. HEAD is checked as GET.
POLICY: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/health"): ANY,
    ("GET", "/rulebooks"): ANY,
    ("GET", "/openapi.json"): ANY,
    ("GET", "/docs"): ANY,
    ("GET", "/docs/oauth2-redirect"): ANY,
    ("GET", "/redoc"): ANY,
    ("POST", "/evaluate"): EVALUATE,
    ("POST", "/batches"): EVALUATE,
    ("GET", "/batches/{job_id}"): READ,
    ("GET", "/batches/{job_id}/results"): READ,
    ("GET", "/batches/{job_id}/report"): READ,
    ("GET", "/determinations"): READ,
    ("GET", "/determinations/export"): EXPORT,
    ("GET", "/determinations/{record_id}"): READ,
    ("GET", "/tokens"): ADMIN,
    ("POST", "/tokens"): ADMIN,
    ("POST", "/tokens/{token_id}/revoke"): ADMIN,
    ("GET", "/"): READ,
    ("POST", "/ui/evaluate"): EVALUATE,
    ("GET", "/ui/records/{record_id}"): READ,
    ("GET", "/ui/login"): PUBLIC,
    ("POST", "/ui/login"): PUBLIC,
    ("POST", "/ui/logout"): PUBLIC,
}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who asks: the token's holder (``name``, kept as ``requested_by`` in the records) and
    role; under ``--insecure-local``, the ``X-Requested-By`` name and the role ``local``."""

    name: str
    role: str
    token_id: int | None = None

    @property
    def sees_all(self) -> bool:
        """Reads every record and job (a lead; anyone on an insecure local server)."""
        return self.role in ("lead", LOCAL)

    @property
    def label(self) -> str:
        return f"token {self.token_id} ({self.name}, {self.role})" if self.token_id is not None else f"{self.name} (local)"

    def may_read(self, requested_by: str) -> bool:
        return self.sees_all or requested_by == self.name


def principal_of(request: Request) -> Principal:
    """The request's principal, set by :class:`AccessControl`."""
    principal = request.scope.get(PRINCIPAL)
    if principal is None:  # only reachable if the middleware is missing: refuse, never allow
        raise ApiError(401, "no token")
    return principal


def _secret(connection: HTTPConnection) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return connection.cookies.get(COOKIE) or None


def is_page(path: str) -> bool:
    return path == "/" or path.startswith("/ui/")


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _cross_site(connection: HTTPConnection) -> str | None:
    """Why a request that changes something came from another site's page, or None: a
    browser says so (``Sec-Fetch-Site: cross-site``), or names an ``Origin`` other than the
    server's own. Any web page the user opens could otherwise post BOMs, batches or sign-ins
    to a server on this machine (under ``--insecure-local``, records under any name in the
    append-only store). Clients that are not browsers send neither header."""
    headers = connection.headers
    if headers.get("sec-fetch-site") == "cross-site":
        return "Sec-Fetch-Site: cross-site"
    origin = headers.get("origin")
    if origin is None:
        return None
    hosts = {headers.get("host", "")} | {h.strip() for h in headers.get("x-forwarded-host", "").split(",") if h.strip()}
    if origin == "null" or origin.split("://", 1)[-1].rstrip("/") not in hosts:  # (behind a proxy: X-Forwarded-Host)
        return f"Origin {origin} is not this server ({', '.join(sorted(h for h in hosts if h))})"
    return None


class AccessControl:
    """ASGI middleware: refuse a request that changes something from another site's page,
    authenticate every request, then check its role against :data:`POLICY` for the route it
    matches (see the module doc)."""

    def __init__(self, app, state):
        self.app = app
        self.state = state  # the app's _State: settings and the store (opened at start-up)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        route_path = self._route(scope)
        method = "GET" if scope["method"] == "HEAD" else scope["method"]
        if method not in SAFE_METHODS:
            crossed = _cross_site(HTTPConnection(scope))
            if crossed:
                return await self._refuse(scope, receive, send, 403, f"a cross-site request is refused ({crossed})")
        allowed = POLICY.get((method, route_path)) if route_path is not None else None
        if allowed is PUBLIC:
            return await self.app(scope, receive, send)
        principal, why, who = await self._authenticate(scope)
        if principal is None:
            return await self._refuse(scope, receive, send, 401, why, who)
        scope[PRINCIPAL] = principal
        if route_path is not None and allowed is None:
            return await self._refuse(scope, receive, send, 403, "this endpoint has no access rule (refused to everyone)")
        if allowed is not None and principal.role != LOCAL and principal.role not in allowed:
            return await self._refuse(scope, receive, send, 403,
                                      f"the role {principal.role} may not {method} {route_path} "
                                      f"(allowed: {', '.join(sorted(allowed))})")
        return await self.app(scope, receive, send)  # no route matched: the app answers 404 or 405

    def _route(self, scope) -> str | None:
        """The path of the route that matches the request (method and path), else None."""
        for route in scope["app"].router.routes if "app" in scope else []:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return getattr(route, "path", None)
        return None

    async def _authenticate(self, scope) -> tuple[Principal | None, str, str]:
        from ..audit import find_token

        connection = HTTPConnection(scope)
        settings = self.state.settings
        if settings.insecure_local:
            name = (connection.headers.get("x-requested-by") or "").strip()[:200] or ANONYMOUS
            return Principal(name, LOCAL), "", ""
        secret = _secret(connection)
        if secret is None:
            return None, "no token (send Authorization: Bearer TOKEN)", "no token"
        token = await run_in_threadpool(find_token, self.state.store, secret)
        if token is None:
            return None, "unknown token", "an unknown token"
        if not token.active:
            return None, "the token was revoked", f"token {token.id} ({token.name}, {token.role}, revoked)"
        return Principal(token.name, token.role, token.id), "", ""

    async def _refuse(self, scope, receive, send, status: int, why: str, who: str | None = None):
        log_refused(scope, status, why, who)
        path = scope.get("path", "")
        if status == 401 and is_page(path):
            response = RedirectResponse("/ui/login", status_code=303)
        else:
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            response = JSONResponse({"status": status, "message": why, "problems": []}, status_code=status,
                                    headers=headers)
        await response(scope, receive, send)
