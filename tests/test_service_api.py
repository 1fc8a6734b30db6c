"""The HTTP API through FastAPI's TestClient: each endpoint, YAML and JSON bodies, several
agreements, as-of dates, errors as JSON with the readers' field paths, the batch job
lifecycle, and every determination in the audit store (SQLite here; the store itself is
tested on PostgreSQL too in test_audit_store.py)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

import origin_rules
from origin_rules.audit import Store
from origin_rules.service import Settings, create_app

ROOT = Path(__file__).resolve().parent.parent
BRAKE = ROOT / "examples" / "boms" / "brake-assembly.yaml"
YAML = {"content-type": "application/yaml"}
SCENARIO = "USMCA review 2026: China content cap"


@pytest.fixture(scope="module")
def book(shipped_rulebook):
    return shipped_rulebook  # the shipped rules, loaded once per test process (tests/conftest.py)


@pytest.fixture
def store(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    yield store
    store.close()


@pytest.fixture
def client(book, store, tmp_path):
    app = create_app(Settings(book=book, store=store, jobs_dir=str(tmp_path / "jobs"), insecure_local=True))
    with TestClient(app) as client:
        yield client


def _brake_json() -> str:
    """The brake assembly as a JSON body (numbers as text, as docs/bom.md writes them)."""
    return json.dumps(yaml.safe_load(BRAKE.read_text(encoding="utf-8")))


def test_health_and_rulebooks(client, book):
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["rules_digest"] == book.digest
    data = client.get("/rulebooks").json()
    by_name = {a["name"]: a for a in data["agreements"]}
    assert set(by_name) == set(book.names)
    assert by_name["USMCA"]["kind"] == "agreement" and by_name["USMCA"]["hypothetical"] is False
    assert set(by_name["USMCA"]["parties"]) == {"US", "MX", "CA"}
    assert by_name[SCENARIO] | {"parties": None, "rules": None} == {
        "name": SCENARIO, "kind": "scenario", "base": "USMCA", "hypothetical": True, "parties": None,
        "effective": by_name[SCENARIO]["effective"], "rules": None, "rules_digest": book.digest}
    assert "rules/usmca/agreement.roo" in [f.replace(str(ROOT) + "/", "") for f in data["files"]]


def test_evaluate_a_yaml_body_under_several_agreements(client, store, book):
    response = client.post("/evaluate", params={"under": ["USMCA", SCENARIO], "as_of": "2026-07-01"},
                           content=BRAKE.read_bytes(), headers={**YAML, "X-Requested-By": "ana"})
    assert response.status_code == 200
    body = response.json()
    # (850 - 150) / 850 = 82.35% RVC: qualifies; 150 / 1000 = 15% Chinese content > 10% cap: fails
    assert [d["verdict"] for d in body["determinations"]] == ["qualifies", "does_not_qualify"]
    assert body["determinations"][0]["figures"]["rvc_net_cost"] == "82.35"
    # the same JSON the CLI prints with --format json
    bom = origin_rules.read_bom(BRAKE)
    from datetime import date

    assert body["determinations"][0] == json.loads(book.evaluate(bom, under="USMCA", as_of=date(2026, 7, 1)).to_json())
    records = [store.get(i) for i in body["records"]]
    assert [r.agreement for r in records] == ["USMCA", SCENARIO]
    assert records[0].requested_by == "ana" and records[0].bom_received == BRAKE.read_text(encoding="utf-8")
    assert records[0].bom_hash == body["bom_hash"] and records[0].channel == "api evaluate"


def test_evaluate_a_json_body_under_every_applicable_agreement(client, book):
    response = client.post("/evaluate?as_of=2026-07-01", content=_brake_json(),
                           headers={"content-type": "application/json"})
    assert response.status_code == 200
    names = [d["agreement"] for d in response.json()["determinations"]]
    bom = origin_rules.read_bom(BRAKE)
    assert names == book.applicable(bom) and "USMCA" in names and "EU-UK TCA" not in names  # made in MX
    stored = client.get(f"/determinations/{response.json()['records'][0]}").json()
    assert stored["bom_format"] == "json"


def test_the_as_of_date_decides(client):
    early = client.post("/evaluate?under=USMCA&as_of=2020-01-01", content=BRAKE.read_bytes(), headers=YAML).json()
    late = client.post("/evaluate?under=USMCA&as_of=2026-07-01", content=BRAKE.read_bytes(), headers=YAML).json()
    # USMCA entered into force on 2020-07-01
    assert early["determinations"][0]["verdict"] == "does_not_qualify"
    assert early["determinations"][0]["as_of"] == "2020-01-01"
    assert late["determinations"][0]["verdict"] == "qualifies"


def test_a_bad_bom_is_422_with_field_paths_and_lines(client, store):
    body = b"product: {id: X-1, hs: '8708.30', produced_in: MX}\nmaterials:\n  - {id: M1, hs: '6813.81', value: abc}\n  - {id: M2, hs: '7325.10', valeu: '1.00'}\n"
    response = client.post("/evaluate?under=USMCA", content=body, headers=YAML)
    assert response.status_code == 422
    problems = {p["path"]: p for p in response.json()["problems"]}
    assert problems["materials[0].value"]["line"] == 3
    assert problems["materials[0].value"]["message"] == 'expected a decimal number like "120.00", got "abc"'
    assert problems["materials[1].valeu"]["message"] == "unknown field `valeu` (did you mean `value`?)"
    assert problems["materials[1].valeu"]["line"] == 4
    assert store.count() == 0  # no determination, no record


def test_a_nul_character_in_a_bom_is_422_at_its_path_and_nothing_is_recorded(client, store):
    """A NUL (U+0000) in a BOM's text is refused at its field for every body type (a
    PostgreSQL store cannot hold it: the request used to end in a 500 there)."""
    json_body = {"product": {"id": "X\x00Y", "hs": "8708.30", "produced_in": "MX"}, "materials": []}
    bodies = [(json.dumps(json_body).encode(), {"content-type": "application/json"}),
              (b'product: {id: "X\\0Y", hs: "8708.30", produced_in: MX}\nmaterials: []\n', YAML)]
    for body, headers in bodies:
        response = client.post("/evaluate?under=USMCA", content=body, headers=headers)
        assert response.status_code == 422, response.text
        (problem,) = response.json()["problems"]
        assert problem["path"] == "product.id" and "NUL character (U+0000)" in problem["message"]
    assert store.count() == 0


def test_json_body_errors_name_the_line_and_column(client):
    response = client.post("/evaluate", content=b'{"product": {"id": "X"},\n "materials": [}',
                           headers={"content-type": "application/json"})
    assert response.status_code == 422
    (problem,) = response.json()["problems"]
    assert (problem["line"], problem["column"]) == (2, 16)
    assert problem["message"].startswith("invalid JSON")


@pytest.mark.parametrize("query, body, headers, status, path, message", [
    ("under=USMA", BRAKE.read_bytes(), YAML, 422, "query.under[0]", "no agreement or scenario named `USMA` (did you mean `USMCA`?)"),
    ("as_of=2026-13-01", BRAKE.read_bytes(), YAML, 422, "query.as_of", "`2026-13-01` is not a date"),
    ("as_of=2026-W27-3", BRAKE.read_bytes(), YAML, 422, "query.as_of", "`2026-W27-3` is not a date"),
    ("explain=everything", BRAKE.read_bytes(), YAML, 422, "query.explain", "'summary' or 'full'"),
    ("", b"  \n", YAML, 422, "", "the body holds no BOM (it is empty)"),
    ("", b"\xff\xfe", YAML, 422, "", "not UTF-8 text"),
    ("", BRAKE.read_bytes(), {"content-type": "image/png"}, 415, "header.content-type", "unsupported Content-Type"),
    ("", b"- {product: {id: A}}\n- {product: {id: B}}\n", YAML, 422, "", "expected one BOM"),
])
def test_request_errors_are_json_with_a_path(client, query, body, headers, status, path, message):
    response = client.post(f"/evaluate?{query}", content=body, headers=headers)
    assert response.status_code == status
    data = response.json()
    assert data["status"] == status
    assert any(p["path"] == path and message in p["message"] for p in data["problems"]), data


def test_a_body_over_the_limit_is_413(book, store, tmp_path):
    app = create_app(Settings(book=book, store=store, jobs_dir=str(tmp_path), max_bom_bytes=100, insecure_local=True))
    with TestClient(app) as client:
        response = client.post("/evaluate", content=BRAKE.read_bytes(), headers=YAML)
    assert response.status_code == 413 and "larger than 100 bytes" in response.json()["message"]


def test_an_internal_error_is_json_without_a_traceback(book, store, tmp_path, monkeypatch):
    app = create_app(Settings(book=book, store=store, jobs_dir=str(tmp_path), insecure_local=True))

    def broken(*args, **kwargs):
        raise ZeroDivisionError("secret detail")

    with TestClient(app, raise_server_exceptions=False) as client:
        monkeypatch.setattr(book, "evaluate", broken)
        response = client.post("/evaluate?under=USMCA", content=BRAKE.read_bytes(), headers=YAML)
    assert response.status_code == 500
    assert response.json() == {"status": 500, "message": "internal error (ZeroDivisionError); please report it",
                               "problems": []}
    assert "Traceback" not in response.text and "secret" not in response.text


def test_unknown_routes_and_records_are_json_404(client):
    assert client.get("/nowhere").json() == {"status": 404, "message": "no such endpoint: GET /nowhere", "problems": []}
    assert client.get("/determinations/12345").json()["message"] == "no determination record 12345"
    assert client.get("/batches/nope").status_code == 404
    assert client.get("/determinations/abc").status_code == 422


def test_list_determinations_newest_first_with_filters(client):
    client.post("/evaluate?as_of=2026-07-01&under=USMCA&under=CPTPP", content=BRAKE.read_bytes(), headers=YAML)
    client.post("/evaluate?as_of=2020-01-01&under=USMCA", content=BRAKE.read_bytes(), headers=YAML)
    data = client.get("/determinations").json()
    assert data["total"] == 3
    assert [(r["agreement"], r["as_of"]) for r in data["records"]] == [
        ("USMCA", "2020-01-01"), ("CPTPP", "2026-07-01"), ("USMCA", "2026-07-01")]
    only = client.get("/determinations", params={"agreement": "USMCA", "verdict": "qualifies"}).json()
    assert only["total"] == 1 and only["records"][0]["as_of"] == "2026-07-01"
    assert client.get("/determinations?limit=1&offset=1").json()["records"][0]["agreement"] == "CPTPP"


def _wait(client, job_id: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/batches/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"batch job {job_id} not finished after {timeout} s")


def test_batch_job_lifecycle(client, store):
    brake = yaml.safe_load(BRAKE.read_text(encoding="utf-8"))
    lines = []
    for index in range(3):
        bom = json.loads(json.dumps(brake))
        bom["product"]["id"] = f"BRK-{index}"
        lines.append(json.dumps(bom))
    lines.append('{"product": {"id": "BAD"}, "materials": [{"id": "M1", "value": "abc"}]}')
    response = client.post("/batches?under=USMCA&as_of=2026-07-01", content="\n".join(lines) + "\n",
                           headers={"content-type": "application/x-ndjson", "X-Requested-By": "lead"})
    assert response.status_code == 202
    job_id = response.json()["id"]
    assert response.headers["location"] == f"/batches/{job_id}"
    assert response.json()["status"] in ("queued", "running", "recording", "done")
    job = _wait(client, job_id)
    assert job["status"] == "done", job
    assert job["progress"]["records"] == 4 and job["progress"]["bytes_done"] == job["progress"]["bytes_total"]
    assert job["summary"]["verdicts"]["USMCA"]["qualifies"] == 3 and job["summary"]["errors"] == 1
    assert job["recorded"] == 3  # the unreadable record is no determination
    results = [json.loads(line) for line in client.get(f"/batches/{job_id}/results").text.splitlines()]
    assert [r["product_id"] for r in results] == ["BRK-0", "BRK-1", "BRK-2", "BAD"]
    assert {r["source"] for r in results} == {"input.jsonl"}  # not the server's folder
    assert results[3]["error"]["problems"][0]["path"] == "materials[0].value"
    report = client.get(f"/batches/{job_id}/report")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert "BRK-" in report.text or "USMCA" in report.text
    records = list(store.records(request_id=job_id))
    assert [r.product_id for r in records] == ["BRK-0", "BRK-1", "BRK-2"]
    assert {r.requested_by for r in records} == {"lead"} and {r.channel for r in records} == {"api batch"}
    assert json.loads(records[0].bom_received) == json.loads(lines[0])


def test_batch_results_before_the_end_are_409_and_bad_formats_415(client):
    response = client.post("/batches", content=b"x", headers={"content-type": "text/plain"})
    assert response.status_code == 415 and response.json()["problems"][0]["path"] == "query.format"
    response = client.post("/batches?format=jsonl", content=b"")
    assert response.status_code == 422
    jobs = client.app.state.origin_rules.jobs
    release = threading.Event()
    original = jobs._one
    jobs._one = lambda job: (release.wait(30), original(job))  # hold the job until released
    csv_text = "product.id,product.hs,product.produced_in,material.id,material.hs,material.origin,material.value\n"
    job = client.post("/batches?format=csv&as_of=2026-07-01&under=USMCA", content=csv_text + "P1,8708.30,MX,M1,6813.81,CN,10\n").json()
    response = client.get(f"/batches/{job['id']}/results")
    assert response.status_code == 409 and response.json()["message"].endswith("is queued, not done")
    assert client.get(f"/batches/{job['id']}/report").status_code == 409
    release.set()
    assert _wait(client, job["id"])["status"] == "done"
    (line,) = client.get(f"/batches/{job['id']}/results").text.splitlines()
    assert json.loads(line)["product_id"] == "P1"


def test_batch_jobs_outlive_a_restart_of_the_server(book, store, tmp_path):
    """Job state is kept in the jobs folder: a server started again on it answers for the jobs
    the first one took: finished ones as they ended, queued ones run, and one cut off while
    running reported as failed (never run twice: it may have recorded already)."""
    from datetime import date, datetime, timedelta, timezone

    from origin_rules.service.jobs import Job

    folder = tmp_path / "jobs"
    csv_text = ("product.id,product.hs,product.produced_in,material.id,material.hs,material.origin,material.value\n"
                "P1,8708.30,MX,M1,6813.81,CN,10\n")
    settings = dict(book=book, store=store, jobs_dir=str(folder), insecure_local=True)
    with TestClient(create_app(Settings(**settings))) as client:
        first = client.post("/batches?format=csv&as_of=2026-07-01&under=USMCA", content=csv_text).json()
        done = _wait(client, first["id"])
        assert done["status"] == "done"
    # two jobs the first server took but did not finish: one still queued, one running
    created = datetime.now(timezone.utc)
    left = {}
    for status, offset in (("queued", 1), ("running", 2)):
        job_folder = folder / f"{status}-job"
        job_folder.mkdir()
        (job_folder / "input.csv").write_text(csv_text, encoding="utf-8")
        job = Job(f"{status}-job", job_folder, job_folder / "input.csv", ["USMCA"], date(2026, 7, 1), "lead",
                  status=status, created_at=created + timedelta(seconds=offset), bytes_total=len(csv_text))
        job.save()
        left[status] = job.id
    with TestClient(create_app(Settings(**settings))) as client:
        again = client.get(f"/batches/{first['id']}").json()
        assert again == done
        (line,) = client.get(f"/batches/{first['id']}/results").text.splitlines()
        assert json.loads(line)["product_id"] == "P1"
        queued = _wait(client, left["queued"])
        assert queued["status"] == "done" and queued["summary"]["verdicts"] == done["summary"]["verdicts"]
        assert queued["progress"]["records"] == 1 and queued["recorded"] == 1
        cut = client.get(f"/batches/{left['running']}").json()
        assert cut["status"] == "failed" and cut["error"].startswith("interrupted: the server stopped while the job was running")
        assert cut["finished_at"] is not None and cut["results"] is None
    assert json.loads((folder / left["running"] / "job.json").read_text(encoding="utf-8"))["status"] == "failed"


def test_openapi_is_served(client):
    schema = client.get("/openapi.json").json()
    assert {"/evaluate", "/batches", "/batches/{job_id}", "/rulebooks", "/determinations/{record_id}"} <= set(schema["paths"])
    assert "BOM" in schema["components"]["schemas"]


def test_evaluate_and_read_back_on_postgresql(book, tmp_path):
    """The API on a PostgreSQL store (a database of its own; see test_audit_store.py)."""
    from test_audit_store import _pg_database

    databases = _pg_database()
    url = next(databases)
    try:
        store = Store(url)
        app = create_app(Settings(book=book, store=store, jobs_dir=str(tmp_path), insecure_local=True))
        with TestClient(app) as client:
            body = client.post("/evaluate?as_of=2026-07-01&under=USMCA&under=CPTPP", content=BRAKE.read_bytes(),
                               headers=YAML).json()
            assert [d["verdict"] for d in body["determinations"]] == ["qualifies", "qualifies"]
            listed = client.get("/determinations").json()
            assert listed["total"] == 2 and [r["id"] for r in listed["records"]] == body["records"][::-1]
            assert client.get(f"/determinations/{body['records'][0]}").json()["bom_received"] == BRAKE.read_text(encoding="utf-8")
        store.close()
    finally:
        next(databases, None)


def test_an_xlsx_batch_is_evaluated_and_every_product_recorded(client, store, tmp_path):
    """Two products over three rows of a workbook (the flat layout of docs/bom.md)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["product.id", "product.hs", "product.produced_in", "product.transaction_value",
                  "material.id", "material.hs", "material.origin", "material.originating", "material.value"])
    sheet.append(["P-1", "8708.30", "MX", "100", "M1", "6813.81", "CN", "false", "30"])
    sheet.append(["P-1", "", "", "", "M2", "7325.10", "MX", "true", "20"])
    sheet.append(["P-2", "8708.30", "MX", "100", "M1", "8708.30", "CN", "false", "30"])
    path = tmp_path / "in.xlsx"
    book.save(path)
    job = client.post("/batches?format=xlsx&under=USMCA&as_of=2026-07-01", content=path.read_bytes()).json()
    done = _wait(client, job["id"])
    assert done["status"] == "done" and done["summary"]["records"] == 2 and done["recorded"] == 2
    records = list(store.records(request_id=job["id"]))
    assert [r.product_id for r in records] == ["P-1", "P-2"]
    assert [len(json.loads(r.bom_received)["materials"]) for r in records] == [2, 1]
    assert {r.bom_format for r in records} == {"bom-json"}
    results = {json.loads(line)["product_id"]: json.loads(line)["determinations"][0]["verdict"]
               for line in client.get(f"/batches/{job['id']}/results").text.splitlines()}
    assert results == {r.product_id: r.verdict for r in records}  # the output and the store agree


def test_a_bom_is_read_in_a_worker_thread_not_on_the_event_loop(client, monkeypatch):
    """Reading a large BOM takes long (up to the 5 MB limit): on the event loop it would hold
    up every other request, so ``POST /evaluate`` and the page's form read it in a worker
    thread, where no event loop runs; a bad body is still a 422."""
    import asyncio

    from origin_rules.service import app as app_module
    from origin_rules.service import page as page_module

    seen: list[bool] = []

    def reading(real):
        def read(*args, **kwargs):
            try:
                asyncio.get_running_loop()
                seen.append(True)  # on the event loop
            except RuntimeError:
                seen.append(False)
            return real(*args, **kwargs)
        return read

    monkeypatch.setattr(app_module, "read_bom_body", reading(app_module.read_bom_body))
    monkeypatch.setattr(page_module, "read_bom_body", reading(page_module.read_bom_body))
    assert client.post("/evaluate?under=USMCA", content=BRAKE.read_bytes(), headers=YAML).status_code == 200
    assert client.post("/evaluate?under=USMCA", content=b"product: [", headers=YAML).status_code == 422
    page = client.post("/ui/evaluate", data={"bom": BRAKE.read_text(encoding="utf-8"), "under": "USMCA"})
    assert page.status_code == 200
    assert seen == [False, False, False]


@pytest.mark.parametrize("method, path, status, message", [
    ("get", f"/determinations/{10**23}", 404, f"no determination record {10**23}"),
    ("get", f"/determinations/{2**63}", 404, f"no determination record {2**63}"),
    ("post", f"/tokens/{10**23}/revoke", 404, f"no token {10**23}"),
    ("post", f"/tokens/{2**31}/revoke", 404, f"no token {2**31}"),
])
def test_ids_past_64_bits_are_404(client, method, path, status, message):
    """(An OverflowError, 500, before: the drivers cannot send such numbers.)"""
    response = getattr(client, method)(path)
    assert (response.status_code, response.json()) == (status, {"status": status, "message": message, "problems": []})


def test_an_offset_past_64_bits_is_422_like_a_limit_over_the_maximum(client):
    for name, value, most in (("offset", 10**23, 2**63 - 1), ("limit", 10**23, 1000)):
        response = client.get(f"/determinations?{name}={value}")
        assert response.status_code == 422
        assert response.json()["problems"] == [{"file": None, "path": f"query.{name}", "line": None, "column": None,
                                                "message": f"Input should be less than or equal to {most}"}]
    assert client.get(f"/determinations?offset={2**63 - 1}").json() == {"total": 0, "records": []}
    page = client.get(f"/ui/records/{10**20}")
    assert page.status_code == 404 and f"no record {10**20}" in page.text


NUL = "holds a NUL character (U+0000), which no record or token of the store can hold"


def _nul_requests(client) -> None:
    for path, name in (("/determinations?product_id=%00", "product_id"), ("/determinations?agreement=a%00", "agreement"),
                       ("/determinations?request_id=%00", "request_id"),
                       ("/determinations/export?product_id=%00", "product_id"),
                       ("/determinations/export?requested_by=x%00", "requested_by")):
        response = client.get(path)
        assert response.status_code == 422, path
        assert response.json()["problems"] == [{"file": None, "path": f"query.{name}", "line": None, "column": None,
                                                "message": NUL}]
    response = client.post("/tokens", json={"name": "a\u0000b", "role": "lead"})
    assert response.status_code == 422
    assert response.json()["problems"] == [{"file": None, "path": "body.name", "line": None, "column": None,
                                            "message": NUL}]
    assert client.get("/tokens").json() == []


def test_a_nul_character_in_a_text_is_422_naming_it(client):
    _nul_requests(client)


def test_nul_characters_and_huge_ids_on_postgresql_and_a_failed_recording_said_in_one_line(book, tmp_path):
    """PostgreSQL refuses NUL characters in text and numbers past its integers (500 before);
    a batch job whose recording the database refuses fails with the database's one-line
    reason, not the SQL statement with every record's BOM."""
    from datetime import date

    from test_audit_store import _pg_database

    databases = _pg_database()
    url = next(databases)
    try:
        store = Store(url)
        app = create_app(Settings(book=book, store=store, jobs_dir=str(tmp_path), insecure_local=True))
        with TestClient(app) as client:
            _nul_requests(client)
            assert client.get(f"/determinations/{10**23}").status_code == 404
            assert client.get(f"/determinations?offset={10**23}").status_code == 422
            assert client.post(f"/tokens/{2**63 - 1}/revoke").status_code == 404
            assert client.get(f"/ui/records/{10**20}").status_code == 404
            line = json.dumps(yaml.safe_load(BRAKE.read_text(encoding="utf-8")))
            jobs = client.app.state.origin_rules.jobs
            job = jobs.submit((line + "\n").encode(), ".jsonl", ["USMCA"], date(2026, 7, 1), "lead\x00")
            done = _wait(client, job.id)
        assert done["status"] == "failed"
        assert done["error"] == ("the audit store refused the determinations: "
                                 "PostgreSQL text fields cannot contain NUL (0x00) bytes")
        assert store.count() == 0
        store.close()
    finally:
        next(databases, None)
