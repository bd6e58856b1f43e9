"""How fast the sandbox serves invoices, how much memory it holds them in, how long it builds them.

    .venv/bin/python -m benchmarks.sandbox_throughput --invoices 100000
    .venv/bin/python -m benchmarks.sandbox_throughput --invoices 1000000 --seconds 30

The server runs as ``sage-sandbox serve`` in its own process (one event loop: one core); this
process pulls ``/sales_invoices?attributes=all&show_payments_allocations=true&items_per_page=200``
pages over several keep-alive connections so the server never waits for the client. It reports:

* invoices served per second of wall time, and per second of the server's CPU time (the
  "one core" figure: what a single core of this machine sustains);
* the server's resident memory once built (and its peak, ``VmHWM``) and its build time.

Figures depend on the machine; compare them as ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil

from sage_sandbox.server import SandboxProcess

FIXED_NOW = "2026-11-21T12:00:00Z"


def login(base: str) -> str:
    redirect = "http://127.0.0.1:8123/callback"
    authorize = httpx.get(
        f"{base}/oauth2/auth/central",
        params={"response_type": "code", "client_id": "sandbox-client", "redirect_uri": redirect},
    )
    code = httpx.URL(authorize.headers["location"]).params["code"]
    tokens = httpx.post(
        f"{base}/token",
        data={
            "grant_type": "authorization_code",
            "client_id": "sandbox-client",
            "client_secret": "sandbox-secret",
            "code": code,
            "redirect_uri": redirect,
        },
    ).json()
    return str(tokens["access_token"])


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def run(invoices: int, seconds: float, connections: int, snapshot_dir: Path | None) -> dict[str, object]:
    args = ["--businesses", "1", "--invoices", str(invoices), "--now", FIXED_NOW, "--frozen-clock"]
    if snapshot_dir is not None:
        args += ["--snapshot-dir", str(snapshot_dir)]
    with SandboxProcess(*args) as sandbox:
        assert sandbox.process is not None
        server = psutil.Process(sandbox.process.pid)
        status = httpx.get(f"{sandbox.urls.admin}/status").json()
        token = login(sandbox.urls.base)
        per_page = 200
        pages = (invoices + per_page - 1) // per_page
        served = 0
        bytes_served = 0
        lock = threading.Lock()
        stop = time.monotonic() + seconds
        params: dict[str, str | int] = {
            "attributes": "all",
            "show_payments_allocations": "true",
            "items_per_page": per_page,
        }

        def worker(offset: int) -> None:
            nonlocal served, bytes_served
            with httpx.Client(
                base_url=sandbox.urls.api, headers={"Authorization": f"Bearer {token}"}, timeout=120
            ) as client:
                page = 1 + offset
                while time.monotonic() < stop:
                    response = client.get("/sales_invoices", params={**params, "page": page})
                    response.raise_for_status()
                    items = per_page if page < pages else invoices - per_page * (pages - 1)
                    with lock:
                        served += items
                        bytes_served += len(response.content)
                    page = page + connections if page + connections <= pages else 1 + offset

        # One page checked in full: the benchmark measures real, complete invoice pages.
        sample = httpx.get(
            f"{sandbox.urls.api}/sales_invoices", params=params, headers={"Authorization": f"Bearer {token}"}
        ).json()
        assert len(sample["$items"]) == per_page and "invoice_lines" in sample["$items"][0]
        cpu_before = sum(server.cpu_times()[:2])
        started = time.monotonic()
        with ThreadPoolExecutor(connections) as pool:
            list(pool.map(worker, range(connections)))
        wall = time.monotonic() - started
        cpu = sum(server.cpu_times()[:2]) - cpu_before
        return {
            "invoices": invoices,
            "build_seconds": status["build_seconds"],
            "from_snapshot": status["from_snapshot"],
            "rss_gb": server.memory_info().rss / 1e9,
            "peak_rss_gb": peak_rss(server.pid) / 1e9,
            "invoices_per_second": served / wall,
            "invoices_per_cpu_second": served / cpu if cpu else 0.0,
            "server_cpu_share": cpu / wall,
            "mb_per_second": bytes_served / wall / 1e6,
            "bytes_per_invoice": bytes_served / max(served, 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument(
        "--snapshot-dir",
        type=Path,
        help="reuse books built by an earlier run (build_seconds then measures loading them)",
    )
    args = parser.parse_args()
    result = run(args.invoices, args.seconds, args.connections, args.snapshot_dir)
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}, indent=2))


if __name__ == "__main__":
    main()
