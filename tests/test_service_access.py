"""Access control of the service (TestClient, an SQLite store): every route of the app is
refused without a token, with a wrong or revoked token and to the roles it does not allow
(parametrized over the app's routes, so a route added without an access rule fails here);
analysts read only their own records and jobs; the store keeps the sha256 of a token, not
the token; every refusal is logged without the secret; bodies and batches over the limits
are 413; the page's sign-in; ``audit token`` and ``serve --insecure-local`` on the CLI."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from typer.testing import CliRunner

from origin_rules.audit import Store, create_token, list_tokens, revoke_token
from origin_rules.cli import app as cli_app
from origin_rules.service import Settings, create_app

ROOT = Path(__file__).resolve().parent.parent
BRAKE = ROOT / "examples" / "boms" / "brake-assembly.yaml"
YAML = {"content-type": "application/yaml"}

# Who may call what, written out here (not read from the code): a route the app gains
# without a line here fails test_every_route_is_listed_here.
EVAL, READ, LEAD, ADMIN, ANY = {"analyst", "lead"}, {"analyst", "lead"}, {"lead"}, {"admin"}, {"analyst", "lead", "admin"}
EXPECTED = {
    ("GET", "/health"): ANY, ("GET", "/rulebooks"): ANY, ("GET", "/openapi.json"): ANY, ("GET", "/docs"): ANY,
    ("GET", "/docs/oauth2-redirect"): ANY, ("GET", "/redoc"): ANY,
    ("POST", "/evaluate"): EVAL, ("POST", "/batches"): EVAL,
    ("GET", "/batches/{job_id}"): READ, ("GET", "/batches/{job_id}/results"): READ,
    ("GET", "/batches/{job_id}/report"): READ,
    ("GET", "/determinations"): READ, ("GET", "/determinations/export"): LEAD,
    ("GET", "/determinations/{record_id}"): READ,
    ("GET", "/tokens"): ADMIN, ("POST", "/tokens"): ADMIN, ("POST", "/tokens/{token_id}/revoke"): ADMIN,
    ("GET", "/"): READ, ("POST", "/ui/evaluate"): EVAL, ("GET", "/ui/records/{record_id}"): READ,
}
PUBLIC = {("GET", "/ui/login"), ("POST", "/ui/login"), ("POST", "/ui/logout")}


def _routes() -> list[tuple[str, str]]:
    out = []
    for route in create_app().routes:
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                out.append((method, route.path))
    return out


ROUTES = _routes()
GUARDED = [r for r in ROUTES if r not in PUBLIC]


def _url(path: str) -> str:
    return path.replace("{job_id}", "nope").replace("{record_id}", "1").replace("{token_id}", "99999")


def _page(path: str) -> bool:
    return path == "/" or path.startswith("/ui/")


@pytest.fixture(scope="module")
def book(shipped_rulebook):
    return shipped_rulebook  # the shipped rules, loaded once per test process (tests/conftest.py)


@pytest.fixture(scope="module")
def served(book, tmp_path_factory):
    """An app with one token per role, one revoked token, and its TestClient."""
    folder = tmp_path_factory.mktemp("access")
    store = Store(f"sqlite:///{folder / 'audit.sqlite3'}")
    secrets = {role: create_token(store, f"{role}-1", role, created_by="test")[0] for role in ("analyst", "lead", "admin")}
    secrets["analyst-2"] = create_token(store, "analyst-2", "analyst", created_by="test")[0]
    revoked, token = create_token(store, "gone", "lead", created_by="test")
    revoke_token(store, token.id, revoked_by="test")
    secrets["revoked"] = revoked
    app = create_app(Settings(book=book, store=store, jobs_dir=str(folder / "jobs"), max_bom_bytes=4096,
                              max_batch_records=3))
    with TestClient(app, follow_redirects=False) as client:
        yield client, store, secrets, folder
    store.close()


def _call(client, method: str, path: str, secret: str | None = None, **kwargs):
    headers = dict(kwargs.pop("headers", {}))
    if secret is not None:
        headers["Authorization"] = f"Bearer {secret}"
    return client.request(method, _url(path), headers=headers, **kwargs)


def _refused(response, path: str, status: int) -> None:
    if status == 401 and _page(path):
        assert response.status_code == 303 and response.headers["location"] == "/ui/login", response.text
    else:
        assert response.status_code == status, (response.status_code, response.text)
        assert response.json()["status"] == status


def test_every_route_is_listed_here():
    assert set(ROUTES) == set(EXPECTED) | PUBLIC, "a route without its expected roles in this test"
    assert len(ROUTES) == len(set(ROUTES))


@pytest.mark.parametrize("method, path", GUARDED)
def test_without_a_token_every_route_is_refused(served, method, path):
    client, *_ = served
    _refused(_call(client, method, path), path, 401)


@pytest.mark.parametrize("method, path", GUARDED)
@pytest.mark.parametrize("secret", ["ort_not-a-token", "garbage", "revoked"])
def test_a_wrong_or_revoked_token_is_refused(served, method, path, secret):
    client, _, secrets, _ = served
    _refused(_call(client, method, path, secrets.get(secret, secret)), path, 401)


@pytest.mark.parametrize("method, path", GUARDED)
def test_the_roles_an_endpoint_does_not_allow_are_refused(served, method, path):
    client, _, secrets, _ = served
    for role in ("analyst", "lead", "admin"):
        response = _call(client, method, path, secrets[role], content=b"{}", headers={"content-type": "application/json"})
        if role in EXPECTED[(method, path)]:
            assert response.status_code not in (401, 403), (role, response.status_code, response.text)
        else:
            _refused(response, path, 403)
            assert f"the role {role} may not" in response.json()["message"]


def test_a_route_without_an_access_rule_is_refused_to_everyone(book, tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    lead, _ = create_token(store, "lead", "lead", created_by="test")
    app = create_app(Settings(book=book, store=store, jobs_dir=str(tmp_path)))

    @app.get("/forgotten")
    def forgotten() -> dict:
        return {"secret": "data"}

    with TestClient(app) as client:
        response = client.get("/forgotten", headers={"Authorization": f"Bearer {lead}"})
        assert response.status_code == 403 and "no access rule" in response.json()["message"]
        assert client.get("/forgotten").status_code == 401
        # an unknown path: 401 without a token (nothing about the routes is told), 404 with one
        assert client.get("/nowhere").status_code == 401
        assert client.get("/nowhere", headers={"Authorization": f"Bearer {lead}"}).status_code == 404
    store.close()


def test_analysts_read_only_their_own_records_and_jobs(served):
    client, store, secrets, _ = served
    mine = _call(client, "POST", "/evaluate?under=USMCA&as_of=2026-07-01", secrets["analyst"], content=BRAKE.read_bytes(),
                 headers={**YAML, "X-Requested-By": "someone else"})
    theirs = _call(client, "POST", "/evaluate?under=CPTPP&as_of=2026-07-01", secrets["analyst-2"],
                   content=BRAKE.read_bytes(), headers=YAML)
    assert mine.status_code == theirs.status_code == 200
    (mine_id,), (their_id,) = mine.json()["records"], theirs.json()["records"]
    # with a token, who asked is the token's name (X-Requested-By is not believed)
    assert store.get(mine_id).requested_by == "analyst-1" and store.get(their_id).requested_by == "analyst-2"
    listed = _call(client, "GET", "/determinations", secrets["analyst"]).json()
    assert {r["requested_by"] for r in listed["records"]} == {"analyst-1"} and mine_id in [r["id"] for r in listed["records"]]
    assert their_id not in [r["id"] for r in listed["records"]]
    assert _call(client, "GET", f"/determinations/{mine_id}", secrets["analyst"]).status_code == 200
    refused = _call(client, "GET", f"/determinations/{their_id}", secrets["analyst"])
    assert refused.status_code == 403 and "reads only its own" in refused.json()["message"]
    assert _call(client, "GET", "/determinations?requested_by=analyst-2", secrets["analyst"]).status_code == 403
    assert _call(client, "GET", f"/ui/records/{their_id}", secrets["analyst"]).status_code == 403
    page = _call(client, "GET", "/", secrets["analyst"]).text
    assert f"/ui/records/{mine_id}\"" in page and f"/ui/records/{their_id}\"" not in page
    # a lead reads everything
    everything = _call(client, "GET", "/determinations?limit=1000", secrets["lead"]).json()
    assert {mine_id, their_id} <= {r["id"] for r in everything["records"]}
    assert _call(client, "GET", f"/determinations/{their_id}", secrets["lead"]).status_code == 200
    # batch jobs: the same
    job = _call(client, "POST", "/batches?format=jsonl&under=USMCA&as_of=2026-07-01", secrets["analyst-2"],
                content=json.dumps({"product": {"id": "P1"}, "materials": []}) + "\n").json()
    assert job["requested_by"] == "analyst-2"
    assert _call(client, "GET", f"/batches/{job['id']}", secrets["analyst"]).status_code == 403
    assert _call(client, "GET", f"/batches/{job['id']}", secrets["analyst-2"]).status_code == 200
    assert _call(client, "GET", f"/batches/{job['id']}", secrets["lead"]).status_code == 200
    # the job records its determination in the background: done before the next test counts
    # the store's records (the app is shared by the module's tests)
    deadline = time.monotonic() + 60
    while _call(client, "GET", f"/batches/{job['id']}", secrets["lead"]).json()["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline, "the batch job did not finish in 60 s"
        time.sleep(0.05)


def test_a_lead_exports_every_record(served):
    client, store, secrets, _ = served
    _call(client, "POST", "/evaluate?under=USMCA&as_of=2026-07-01", secrets["lead"], content=BRAKE.read_bytes(), headers=YAML)
    lines = _call(client, "GET", "/determinations/export", secrets["lead"]).text.splitlines()
    assert [json.loads(line)["id"] for line in lines] == [r.id for r in store.records()]
    csv_text = _call(client, "GET", "/determinations/export?format=csv&requested_by=lead-1", secrets["lead"]).text
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert len(rows) == store.count(requested_by="lead-1") == 1
    assert rows[0]["requested_by"] == "lead-1" and rows[0]["bom_received"] == BRAKE.read_text(encoding="utf-8")


def test_a_token_revoked_through_the_api_is_refused_from_then_on(served):
    client, store, secrets, _ = served
    made = _call(client, "POST", "/tokens", secrets["admin"], json={"name": "temp", "role": "analyst"})
    assert made.status_code == 201
    secret, token_id = made.json()["token"], made.json()["id"]
    assert _call(client, "GET", "/health", secret).status_code == 200
    listed = _call(client, "GET", "/tokens", secrets["admin"]).json()
    assert "token" not in listed[0] and secret not in json.dumps(listed)
    revoked = _call(client, "POST", f"/tokens/{token_id}/revoke", secrets["admin"])
    assert revoked.status_code == 200 and revoked.json()["revoked_by"].startswith("token ")
    response = _call(client, "GET", "/health", secret)
    assert response.status_code == 401 and response.json()["message"] == "the token was revoked"
    assert _call(client, "POST", f"/tokens/{token_id}/revoke", secrets["admin"]).status_code == 409
    assert _call(client, "POST", "/tokens/99999/revoke", secrets["admin"]).status_code == 404
    assert _call(client, "POST", "/tokens", secrets["admin"], json={"name": "x", "role": "root"}).status_code == 422


def test_the_store_keeps_the_hash_not_the_token(tmp_path):
    path = tmp_path / "audit.sqlite3"
    store = Store(f"sqlite:///{path}")
    secret, token = create_token(store, "ana", "analyst", created_by="test")
    assert re.fullmatch(r"ort_[A-Za-z0-9_-]{43}", secret)
    assert token.token_hash == "sha256:" + hashlib.sha256(secret.encode()).hexdigest()
    with store.engine.connect() as connection:
        rows = [tuple(r) for r in connection.execute(text("SELECT * FROM api_tokens"))]
    assert len(rows) == 1 and secret not in repr(rows) and token.token_hash in rows[0]
    store.close()
    for name in (path, Path(f"{path}-wal")):
        if name.exists():
            assert secret.encode() not in name.read_bytes()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    else:
        from test_audit_store import _pg_database

        yield from _pg_database()


def test_tokens_and_revocations_are_append_only_and_found_by_hash(db_url):
    from origin_rules.audit import find_token

    store = Store(db_url)
    secret, token = create_token(store, "ana", "analyst", created_by="test")
    assert find_token(store, secret).id == token.id and find_token(store, secret + "x") is None
    revoke_token(store, token.id, revoked_by="test")
    assert find_token(store, secret).revoked_by == "test"
    statements = ["UPDATE api_tokens SET role = 'admin'", "DELETE FROM api_tokens",
                  "DELETE FROM token_revocations", "UPDATE token_revocations SET revoked_by = 'x'"]
    if store.engine.dialect.name == "postgresql":
        statements += ["TRUNCATE token_revocations", "TRUNCATE api_tokens CASCADE"]
    for statement in statements:
        with pytest.raises(Exception, match="append-only"):
            with store.engine.begin() as connection:
                connection.execute(text(statement))
    with pytest.raises(Exception):  # the role is checked by the database too
        with store.engine.begin() as connection:
            connection.execute(text("INSERT INTO api_tokens (name, role, token_hash, created_at, created_by) "
                                    "VALUES ('x', 'root', 'sha256:00', CURRENT_TIMESTAMP, 'test')"))
    assert [(t.role, t.active) for t in list_tokens(store)] == [("analyst", False)]
    store.close()


def test_every_refusal_is_logged_with_who_what_and_why_never_the_secret(served, caplog):
    client, _, secrets, _ = served
    caplog.set_level(logging.WARNING, logger="origin_rules.service.access")
    _call(client, "GET", "/tokens", secrets["analyst"])
    _call(client, "GET", "/health", "ort_wrong-secret-123")
    _call(client, "GET", "/health", secrets["revoked"])
    _call(client, "GET", "/health")
    _call(client, "POST", "/evaluate", secrets["analyst"], content=b"x" * 5000, headers=YAML)
    messages = [r.getMessage() for r in caplog.records if r.name == "origin_rules.service.access"]
    assert len(messages) == 5, messages
    assert re.search(r"refused GET /tokens from \S+: 403 the role analyst may not GET /tokens .*\(who: token \d+ \(analyst-1, analyst\)\)",
                     messages[0])
    assert "401 unknown token (who: an unknown token)" in messages[1]
    assert "401 the token was revoked (who: token" in messages[2] and "gone, lead, revoked" in messages[2]
    assert "401 no token" in messages[3] and "(who: no token)" in messages[3]
    assert "refused POST /evaluate" in messages[4] and "413 the body is larger than 4,096 bytes" in messages[4]
    logged = "\n".join(messages)
    assert all(s not in logged for s in secrets.values()) and "ort_wrong-secret-123" not in logged


def test_bodies_and_batches_over_the_limits_are_413(served):
    client, _, secrets, _ = served
    big = _call(client, "POST", "/evaluate", secrets["analyst"], content=b"#" * 5000, headers=YAML)
    assert big.status_code == 413 and big.json()["message"] == "the body is larger than 4,096 bytes"
    lines = "\n".join(json.dumps({"product": {"id": f"P{i}"}, "materials": []}) for i in range(4)) + "\n"
    many = _call(client, "POST", "/batches?format=jsonl", secrets["analyst"], content=lines)
    assert many.status_code == 413 and many.json()["message"] == "the batch holds more than 3 records"
    header = "product.id,product.hs,product.produced_in,material.id,material.hs,material.origin,material.value\n"
    rows = "".join(f"P{i},8708.30,MX,M1,6813.81,CN,10\n" for i in range(4))
    assert _call(client, "POST", "/batches?format=csv", secrets["analyst"], content=header + rows).status_code == 413
    accepted = _call(client, "POST", "/batches?format=csv", secrets["analyst"], content=header + rows[:3 * 30])
    assert accepted.status_code == 202
    # the job runs in the background and records its determinations when done: let it finish
    # here, or its records land among those the next tests look for
    deadline = time.monotonic() + 60
    while _call(client, "GET", f"/batches/{accepted.json()['id']}", secrets["lead"]).json()["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline, "the batch job did not finish in 60 s"
        time.sleep(0.05)
    form = _call(client, "POST", "/ui/evaluate", secrets["analyst"], content=b"bom=" + b"a" * (6 * 1024 * 1024),
                 headers={"content-type": "application/x-www-form-urlencoded"})
    assert form.status_code == 413


def test_the_page_signs_in_with_a_token_in_a_cookie(served):
    client, store, secrets, _ = served
    client.cookies.clear()
    assert client.get("/").headers["location"] == "/ui/login"
    assert "Sign in" in client.get("/ui/login").text
    wrong = client.post("/ui/login", data={"token": "ort_nope"})
    assert wrong.status_code == 401 and "Sign-in refused: unknown token" in wrong.text
    signed = client.post("/ui/login", data={"token": secrets["analyst-2"]})
    assert signed.status_code == 303 and signed.headers["location"] == "/"
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    page = client.get("/")
    assert page.status_code == 200 and "analyst-2 (analyst)" in page.text and 'name="by"' not in page.text
    result = client.post("/ui/evaluate", data={"bom": BRAKE.read_text(encoding="utf-8"), "as_of": "2026-07-01",
                                               "under": "USMCA", "by": "not me"})
    assert result.status_code == 200
    newest = next(store.records(newest_first=True, limit=1))
    assert (newest.requested_by, newest.channel) == ("analyst-2", "page evaluate")
    client.post("/ui/logout")
    client.cookies.clear()
    assert client.get("/").status_code == 303


def test_an_admin_token_is_refused_by_the_page_and_every_page_can_sign_out(served):
    """An admin signed in on the page landed on a JSON 403 with no way to sign out; the
    results and record pages had no sign-out button."""
    client, store, secrets, _ = served
    client.cookies.clear()
    admin = client.post("/ui/login", data={"token": secrets["admin"]})
    assert admin.status_code == 403 and "the page is for analysts and leads" in admin.text
    assert "set-cookie" not in admin.headers
    client.post("/ui/login", data={"token": secrets["lead"]})
    result = client.post("/ui/evaluate", data={"bom": BRAKE.read_text(encoding="utf-8"), "as_of": "2026-07-01",
                                               "under": "USMCA"})
    assert result.status_code == 200 and 'action="/ui/logout"' in result.text
    newest = next(store.records(newest_first=True, limit=1))
    record = client.get(f"/ui/records/{newest.id}")
    assert record.status_code == 200 and 'action="/ui/logout"' in record.text
    client.post("/ui/logout")
    client.cookies.clear()


def test_the_pages_form_holds_a_bom_to_the_limit_not_its_encoding(book, tmp_path):
    """The form's body (URL-encoded: `é` takes six bytes) was held to the BOM's limit: a BOM
    well under 5 MB was refused with 413."""
    store = Store(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    app = create_app(Settings(book=book, store=store, jobs_dir=str(tmp_path / "jobs"), max_bom_bytes=8192,
                              insecure_local=True))
    text = BRAKE.read_text(encoding="utf-8").replace("product:", "# " + "é" * 2000 + "\nproduct:", 1)
    assert len(text.encode("utf-8")) < 8192
    with TestClient(app) as client:
        ok = client.post("/ui/evaluate", data={"bom": text, "as_of": "2026-07-01", "under": "USMCA"})
        assert ok.status_code == 200, ok.text
        over = client.post("/ui/evaluate", data={"bom": text + "#" * 8192, "as_of": "2026-07-01", "under": "USMCA"})
        assert over.status_code == 413 and "larger than 8,192 bytes" in over.text
    store.close()


@pytest.mark.parametrize("headers, refused", [
    ({"origin": "https://evil.example", "sec-fetch-site": "cross-site"}, True),
    ({"origin": "https://evil.example"}, True),
    ({"origin": "null"}, True),
    ({"sec-fetch-site": "cross-site"}, True),
    ({"origin": "http://testserver", "sec-fetch-site": "same-origin"}, False),
    ({"origin": "https://origin.example.com", "x-forwarded-host": "origin.example.com"}, False),
    ({}, False),  # curl, scripts: no browser headers
])
def test_a_request_that_changes_something_from_another_sites_page_is_refused(book, tmp_path, headers, refused):
    """Under --insecure-local every request was allowed, so any web page the user opened
    could post BOMs to a local server and add records under any name to the append-only
    store; a cross-site form post is now refused (403), in every mode, before anything runs."""
    store = Store(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    app = create_app(Settings(book=book, store=store, jobs_dir=str(tmp_path / "jobs"), insecure_local=True))
    with TestClient(app) as client:
        form = client.post("/ui/evaluate", data={"bom": BRAKE.read_text(encoding="utf-8"), "as_of": "2026-07-01",
                                                 "under": "USMCA", "by": "ceo@victim"}, headers=headers)
        assert (form.status_code == 403) is refused, form.text
        if refused:
            assert "cross-site request is refused" in form.text
        assert store.count() == (0 if refused else 1)
        assert client.get("/rulebooks", headers=headers).status_code == 200  # reading is not refused
    store.close()


def test_the_cli_creates_lists_and_revokes_tokens(tmp_path):
    db = f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    runner = CliRunner()
    made = runner.invoke(cli_app, ["audit", "token", "create", "ana@example.com", "--role", "lead", "--db", db])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip()
    assert secret.startswith("ort_") and "shown this once" in made.stderr
    listed = runner.invoke(cli_app, ["audit", "token", "list", "--db", db, "--format", "json"])
    (row,) = json.loads(listed.stdout)
    assert (row["name"], row["role"], row["revoked_at"]) == ("ana@example.com", "lead", None)
    assert secret not in listed.output
    assert runner.invoke(cli_app, ["audit", "token", "revoke", str(row["id"]), "--db", db]).exit_code == 0
    again = runner.invoke(cli_app, ["audit", "token", "revoke", str(row["id"]), "--db", db])
    assert again.exit_code == 2 and "already revoked" in again.stderr
    text_list = runner.invoke(cli_app, ["audit", "token", "list", "--db", db]).stdout
    assert "ana@example.com" in text_list and "revoked" in text_list
    bad = runner.invoke(cli_app, ["audit", "token", "create", "x", "--role", "root", "--db", db])
    assert bad.exit_code == 2


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::"])
def test_insecure_local_refuses_any_host_but_loopback(host):
    result = CliRunner().invoke(cli_app, ["serve", "--insecure-local", "--host", host])
    assert result.exit_code == 2 and "127.0.0.1 only" in result.stderr and host in result.stderr


# ---------------------------------------------------------------------------- properties

SEGMENT = st.sampled_from(["", "ui", "login", "determinations", "batches", "tokens", "docs", "export", "1", "..",
                           "%2e%2e", "evaluate", "health", "openapi.json", "x"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"]),
       segments=st.lists(SEGMENT, min_size=1, max_size=4), slash=st.booleans())
def test_nothing_but_the_sign_in_form_is_served_without_a_token(served, method, segments, slash):
    client, *_ = served
    client.cookies.clear()
    path = "/" + "/".join(segments) + ("/" if slash else "")
    response = client.request(method, "http://testserver" + path)
    sent = response.request.url.path
    if (method, sent) in PUBLIC or (method == "HEAD" and ("GET", sent) in PUBLIC):
        return
    assert response.status_code in (401, 303), (method, path, response.status_code)
    if response.status_code == 303:
        assert response.headers["location"] == "/ui/login"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(guess=st.one_of(st.text(max_size=60), st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_",
                                                      min_size=43, max_size=43).map(lambda t: "ort_" + t)))
def test_no_secret_but_the_one_made_finds_a_token(served, guess):
    from origin_rules.audit import find_token

    _, store, secrets, _ = served
    token = find_token(store, guess)
    assert token is None or guess in secrets.values()


def test_serve_warns_without_tokens_and_insecure_local_binds_to_loopback(tmp_path, monkeypatch):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append((app, kwargs)))
    db = f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    rules = str(ROOT / "rules")
    runner = CliRunner()
    plain = runner.invoke(cli_app, ["serve", "--db", db, "--rules", rules, "--host", "0.0.0.0"])
    assert plain.exit_code == 0, plain.output
    assert "no API token in this store yet" in plain.stderr
    assert calls[-1][1]["host"] == "0.0.0.0" and calls[-1][0].state.origin_rules.settings.insecure_local is False
    local = runner.invoke(cli_app, ["serve", "--db", db, "--rules", rules, "--insecure-local", "--host", "localhost"])
    assert local.exit_code == 0 and "--insecure-local: no tokens asked, on 127.0.0.1 only" in local.stderr
    assert calls[-1][1]["host"] == "127.0.0.1" and calls[-1][0].state.origin_rules.settings.insecure_local is True
    store = Store(db)
    create_token(store, "ana", "analyst", created_by="test")
    store.close()
    again = runner.invoke(cli_app, ["serve", "--db", db, "--rules", rules])
    assert again.exit_code == 0 and "no API token" not in again.stderr
