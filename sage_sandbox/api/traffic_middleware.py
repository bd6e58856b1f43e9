"""ASGI middleware that puts Sage's traffic behaviour in front of ``/v3.1``.

For every API request it (1) applies the per-app limits, answering ``429`` + ``Retry-After``,
(2) waits the configured latency, (3) draws an injected fault, and (4) counts the outcome.
Dropped connections and truncated bodies are done at the ASGI level: the headers (with the full
``Content-Length``) go out, then the body stops short and the connection closes.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import parse_qs

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sage_sandbox.errors import SageError, html_page
from sage_sandbox.sandbox import Sandbox
from sage_sandbox.traffic import Fault

_REASONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Time-out",
}


def route_of(method: str, path: str) -> str:
    """``GET /v3.1/sales_invoices/{key}`` for any concrete id: counters group by route."""
    parts = path.rstrip("/").split("/")
    if len(parts) > 3:
        parts[3] = "{key}"
    return f"{method} {'/'.join(parts)}"


class TrafficMiddleware:
    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v3.1/"):
            await self.app(scope, receive, send)
            return
        sandbox = self.sandbox
        route = route_of(scope["method"], scope["path"])
        client_id = self._client_of(scope)
        refusal = sandbox.limiter.acquire(client_id) if client_id else None
        if refusal is not None:
            await _respond(
                send,
                429,
                _sage_body(429, "TooManyRequests", f"Too many requests: {refusal.reason}."),
                [(b"retry-after", str(refusal.retry_after).encode())],
            )
            sandbox.counters.add(route, 429)
            return
        try:
            await self._serve(scope, receive, send, route)
        finally:
            if client_id:
                sandbox.limiter.release(client_id)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, route: str) -> None:
        sandbox = self.sandbox
        latency = sandbox.limiter.limits.latency
        if latency > 0:
            await asyncio.sleep(latency)
        fault = sandbox.faults.draw(
            large_page=_is_large_page(scope, sandbox.faults.config.large_page_threshold)
        )
        if fault is not None and fault.kind == "error":
            await _respond(send, fault.status, *_error_page(fault.status))
            sandbox.counters.add(route, fault.status)
            return
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.seconds)
        outcome: dict[str, int | str] = {}

        async def observed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome["status"] = message["status"]
            await send(message)

        if fault is not None and fault.kind in ("drop", "truncate"):
            # Returning with the body unfinished makes the server close the connection.
            with contextlib.suppress(_ConnectionBrokenError):
                await self.app(scope, receive, _broken(send, fault, outcome))
            sandbox.counters.add(route, fault.kind)
            return
        await self.app(scope, receive, observed_send)
        sandbox.counters.add(route, outcome.get("status", 0))

    def _client_of(self, scope: Scope) -> str | None:
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer":
                    grant = self.sandbox.auth.check_access(token.strip())
                    return grant.client_id if grant else None
        return None


def _broken(send: Send, fault: Fault, outcome: dict[str, int | str]) -> Send:
    """A ``send`` that delivers the headers and then nothing (drop) or half the body (truncate)."""
    done = False

    async def broken_send(message: Message) -> None:
        nonlocal done
        if message["type"] == "http.response.start":
            outcome["status"] = message["status"]
            await send(message)
        elif message["type"] == "http.response.body" and not done:
            done = True
            if fault.kind == "truncate":
                body = message.get("body", b"")
                await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            raise _ConnectionBrokenError

    return broken_send


class _ConnectionBrokenError(Exception):
    """Raised inside the app's ``send`` to stop it; the server then closes the connection."""


def _is_large_page(scope: Scope, threshold: int) -> bool:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    try:
        per_page = int(query.get("items_per_page", ["20"])[0])
    except ValueError:
        return False
    return per_page > threshold and "all" in query.get("attributes", [""])[0].split(",")


def _sage_body(status: int, code: str, message: str) -> bytes:
    return orjson.dumps(SageError(status, code, message).body())


def _error_page(status: int) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """What each injected 5xx looks like: Sage's JSON from the app, HTML from the gateway."""
    if status == 500:
        return _sage_body(500, "UnexpectedError", "An unexpected error occurred."), []
    if status == 503:
        return _sage_body(503, "ServiceUnavailable", "Service unavailable, please retry later."), []
    return html_page(status, _REASONS[status]), [(b"content-type", b"text/html")]


async def _respond(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    names = {name for name, _ in headers}
    all_headers = [*headers, (b"content-length", str(len(body)).encode())]
    if b"content-type" not in names:
        all_headers.append((b"content-type", b"application/json; charset=utf-8"))
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})
