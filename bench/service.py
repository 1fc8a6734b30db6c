"""Benchmark of the service: requests per second and p50/p99 latency of ``POST /evaluate``
over HTTP.

In: ``quick`` (fewer requests), or on the command line ``--quick``, ``--requests N``,
``--concurrency C``, ``--runs R`` (``make bench`` passes ``BENCH_ARGS``: alone,
``make bench BENCH_ARGS="--only service --quick"`` or ``python -m bench.service --quick``). Out: lines for the ``make bench`` table.

What is measured: ``origin-rules serve`` in a child process (real uvicorn, one worker) on
a free loopback port with a temporary SQLite audit store and an analyst token, as a
deployment runs it: every request is authenticated (one indexed lookup of the token's
hash), reads a YAML BOM (examples/boms/brake-assembly.yaml), evaluates it under USMCA and
appends its record (SQLite: one writer at a time). ``C`` clients (httpx, asyncio, one
connection each) send ``N`` requests in all; each request's latency is from its send to
its full answer. Each run starts after a warm-up of 20 requests; the figures are the
median over ``R`` runs (default 3).
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BRAKE = ROOT / "examples" / "boms" / "brake-assembly.yaml"
PARAMS = {"under": "USMCA", "as_of": "2026-07-01"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(folder: Path) -> tuple[subprocess.Popen, str, str]:
    """The server, its base URL and an analyst token."""
    import httpx

    from origin_rules.audit import Store, create_token

    db = f"sqlite:///{folder / 'audit.sqlite3'}"
    store = Store(db)
    token, _ = create_token(store, "bench", "analyst", created_by="bench")
    store.close()
    port = _free_port()
    command = [sys.executable, "-c", "from origin_rules.cli import main; main()", "serve", "--port", str(port),
               "--rules", str(ROOT / "rules"), "--db", db, "--jobs-dir", str(folder / "jobs"), "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=folder, env={**os.environ, "PYTHONPATH": str(ROOT)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        if server.poll() is not None:
            raise SystemExit(f"serve exited: {server.stderr.read()}")
        try:
            if httpx.get(f"{base}/health", headers={"Authorization": f"Bearer {token}"}, timeout=1).status_code == 200:
                return server, base, token
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            server.terminate()
            raise SystemExit("serve did not come up in 120 s")
        time.sleep(0.2)


async def _load(base: str, token: str, requests: int, concurrency: int) -> tuple[float, list[float], int]:
    """Wall seconds, each request's latency (seconds), failed requests."""
    import httpx

    body = BRAKE.read_bytes()
    headers = {"content-type": "application/yaml", "Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    failed = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(requests):
        queue.put_nowait(index)

    async def client(http) -> None:
        nonlocal failed
        while True:
            try:
                queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            start = time.perf_counter()
            response = await http.post("/evaluate", params=PARAMS, content=body, headers=headers)
            latencies.append(time.perf_counter() - start)
            failed += response.status_code != 200

    # the clients are made before the clock starts: making one takes milliseconds of this
    # process's event loop (its SSL context), during which no answer to another client is read,
    # so clients made while the others' requests are in flight would add that to their latency
    clients = [httpx.AsyncClient(base_url=base, timeout=120) for _ in range(concurrency)]
    try:
        start = time.perf_counter()
        await asyncio.gather(*(client(http) for http in clients))
        return time.perf_counter() - start, latencies, failed
    finally:
        for http in clients:
            await http.aclose()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def run(requests: int, concurrency: int, runs: int) -> dict:
    """The median over ``runs`` of requests/s, p50 and p99 (ms), and the failures in all."""
    with tempfile.TemporaryDirectory(prefix="bench-service-") as folder:
        server, base, token = _start(Path(folder))
        try:
            asyncio.run(_load(base, token, 20, 4))  # warm-up
            results = [asyncio.run(_load(base, token, requests, concurrency)) for _ in range(runs)]
        finally:
            server.terminate()
            server.wait(timeout=30)
    return {
        "requests": requests, "concurrency": concurrency, "runs": runs,
        "rps": statistics.median(requests / wall for wall, _, _ in results),
        "p50": statistics.median(_percentile(lat, 0.50) for _, lat, _ in results) * 1000,
        "p99": statistics.median(_percentile(lat, 0.99) for _, lat, _ in results) * 1000,
        "failed": sum(f for _, _, f in results),
    }


def _option(argv: list[str], name: str, default: int) -> int:
    if name in argv and argv.index(name) + 1 < len(argv):
        return int(argv[argv.index(name) + 1])
    return default


def main(quick: bool = False, argv: list[str] | None = None) -> list[str]:
    argv = list(sys.argv[1:] if argv is None else argv)
    quick = quick or "--quick" in argv
    requests = _option(argv, "--requests", 200 if quick else 1000)
    concurrency = _option(argv, "--concurrency", 16)
    runs = _option(argv, "--runs", 3)
    r = run(requests, concurrency, runs)
    return [
        f"service: POST /evaluate over HTTP (brake assembly under USMCA, token, SQLite store), "
        f"{r['requests']:,} requests x {r['runs']} runs, {r['concurrency']} clients: "
        f"{r['rps']:.0f} requests/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, {r['failed']} failed (median of runs)",
    ]


if __name__ == "__main__":
    print("\n".join(main()))
