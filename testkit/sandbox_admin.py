"""The sandbox's side of the story, read and moved over its admin HTTP API (``/_sandbox``)."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from sage_sandbox import SandboxServer

ACCESS_TTL = 300  # seconds: the sandbox's access-token lifetime, Sage's 5 minutes


def token_stats(server: SandboxServer) -> dict[str, int]:
    """``issued``, ``refreshed``, ``reuse_revocations``, ``rejected``: what the token endpoint saw."""
    stats: dict[str, int] = httpx.get(f"{server.urls.admin}/status").json()["tokens"]
    return stats


def move_clock(server: SandboxServer, seconds: float) -> None:
    """The sandbox's clock, by which its tokens expire, moved on by ``seconds``."""
    httpx.post(f"{server.urls.admin}/clock", json={"seconds": seconds}).raise_for_status()


def usage(server: SandboxServer, window: float | None = None) -> dict[str, dict[str, Any]]:
    """Each app's API requests per window, admitted and refused, and its busiest sliding window
    (``GET /_sandbox/usage``; ``window`` defaults to the sandbox's limit window)."""
    params = {"window": str(window)} if window is not None else {}
    response = httpx.get(f"{server.urls.admin}/usage", params=params)
    response.raise_for_status()
    found: dict[str, dict[str, Any]] = response.json()
    return found


def invoices_per_business(server: SandboxServer, business: str) -> set[str]:
    """The sandbox's own sales invoices of a business (its ground truth, over HTTP)."""
    response = httpx.get(
        f"{server.urls.admin}/ground_truth",
        params={"business": business, "resource": "sales_invoices"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return {orjson.loads(line)["row"]["id"] for line in response.content.splitlines() if line}
