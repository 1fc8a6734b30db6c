"""End to end: `origin-rules serve` in a subprocess on a free loopback port (real uvicorn,
real HTTP, API tokens made beforehand), a batch job from upload to report, evaluations
recorded in an SQLite store, a load test of 200 concurrent evaluate requests (each with its
own analyst token: none fails, one record per response, each recorded as its token's);
then, after the server is stopped, `origin-rules audit replay` reproduces every verdict."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from origin_rules.audit import Store, create_token
from origin_rules.cli import app

pytestmark = pytest.mark.slow  # end to end (registered in pyproject.toml): run first by tests/conftest.py

ROOT = Path(__file__).resolve().parent.parent
BRAKE = ROOT / "examples" / "boms" / "brake-assembly.yaml"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(port: int, db: str, tmp_path: Path, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-c", "from origin_rules.cli import main; main()", "serve", "--port", str(port),
               "--rules", str(ROOT / "rules"), "--db", db, "--jobs-dir", str(tmp_path / "jobs"), "--log-level", "warning",
               *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_up(base: str, server: subprocess.Popen, timeout: float = 60.0, token: str | None = None) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the server exited: {server.stdout.read()}")
        try:
            if httpx.get(f"{base}/health", timeout=1, headers=headers).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the server did not come up")


def test_serve_batch_lifecycle_and_replay_after_restart(tmp_path):
    db = f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    store = Store(db)
    lead, _ = create_token(store, "lead", "lead", created_by="test")
    analysts = [create_token(store, f"load-{i}", "analyst", created_by="test")[0] for i in range(CONCURRENT)]
    store.close()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _serve(port, db, tmp_path)
    try:
        _wait_up(base, server, token=lead)
        assert httpx.get(f"{base}/health").status_code == 401  # no token, nothing served
        with httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {lead}"}) as client:
            one = client.post("/evaluate", params={"as_of": "2026-07-01", "under": "USMCA"},
                              content=BRAKE.read_bytes(), headers={"content-type": "application/yaml"})
            assert one.status_code == 200 and one.json()["determinations"][0]["verdict"] == "qualifies"
            bad = client.post("/evaluate", content=b"product: {id: X}\nmaterials: 3\n",
                              headers={"content-type": "application/yaml"})
            assert bad.status_code == 422 and bad.json()["problems"][0]["path"] == "materials"
            brake = yaml.safe_load(BRAKE.read_text(encoding="utf-8"))
            lines = []
            for index, value in enumerate(["150.00", "900.00"]):  # Chinese pads worth 150 or 900
                bom = json.loads(json.dumps(brake))
                bom["product"]["id"] = f"BRK-{index}"
                bom["materials"][0]["value"] = value
                lines.append(json.dumps(bom))
            job = client.post("/batches", params={"as_of": "2026-07-01", "under": ["USMCA", "USMCA review 2026: China content cap"]},
                              content="\n".join(lines) + "\n", headers={"content-type": "application/x-ndjson"})
            assert job.status_code == 202
            location = job.headers["location"]
            deadline = time.monotonic() + 60
            while (status := client.get(location).json())["status"] not in ("done", "failed"):
                assert time.monotonic() < deadline
                time.sleep(0.1)
            assert status["status"] == "done" and status["recorded"] == 4
            # 150 of Chinese pads: 15% > the scenario's 10% cap; 900: also over, but USMCA's
            # tariff shift (6813.81 -> 8708.30) still holds, so both qualify under USMCA.
            assert status["summary"]["verdicts"]["USMCA"]["qualifies"] == 2
            assert status["summary"]["verdicts"]["USMCA review 2026: China content cap"]["does_not_qualify"] == 2
            results = client.get(status["results"]).text.splitlines()
            assert [json.loads(r)["product_id"] for r in results] == ["BRK-0", "BRK-1"]
            report = client.get(status["report"])
            assert report.status_code == 200 and "<html" in report.text.lower()
            assert client.get("/determinations").json()["total"] == 5
            _concurrent_evaluations(base, client, analysts)
    finally:
        server.terminate()
        server.wait(timeout=30)
    log = server.stdout.read()
    assert "refused GET /health from 127.0.0.1: 401 no token" in log  # the server's log, as an operator reads it
    assert lead not in log and not any(token in log for token in analysts)
    runner = CliRunner()
    replayed = runner.invoke(app, ["audit", "replay", "--db", db, "--format", "json"])
    assert replayed.exit_code == 0, replayed.output
    results = json.loads(replayed.stdout)
    assert len(results) == 5 + CONCURRENT and all(r["same"] for r in results)
    assert [r["stored_verdict"] for r in results[:5]] == ["qualifies", "qualifies", "does_not_qualify", "qualifies",
                                                           "does_not_qualify"]


CONCURRENT = 200


def _concurrent_evaluations(base: str, client: httpx.Client, tokens: list[str]) -> None:
    """200 evaluate requests at once, on 200 connections (SQLite allows one writer), each
    with its own analyst token: none fails, the store holds exactly one record per
    determination answered, and each record is its token's."""
    body = BRAKE.read_bytes()

    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=CONCURRENT, max_keepalive_connections=CONCURRENT)
        async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as own:
            return await asyncio.gather(*(
                own.post("/evaluate", params={"as_of": "2026-07-01", "under": "USMCA"}, content=body,
                         headers={"content-type": "application/yaml", "Authorization": f"Bearer {token}"})
                for token in tokens))

    responses = asyncio.run(run())
    assert [r.status_code for r in responses] == [200] * CONCURRENT
    ids = [i for r in responses for i in r.json()["records"]]
    assert len(ids) == len(set(ids)) == CONCURRENT
    assert client.get("/determinations").json()["total"] == 5 + CONCURRENT
    for response, index in zip(responses, range(CONCURRENT)):
        (record_id,) = response.json()["records"]
        assert client.get(f"/determinations/{record_id}").json()["requested_by"] == f"load-{index}"
