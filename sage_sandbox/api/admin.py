"""``/_sandbox``: the test harness's controls. Not part of Sage; no authentication (loopback only).

* ``POST /_sandbox/advance`` ``{"days": N}`` moves the books forward and summarises the changes.
* ``POST /_sandbox/clock`` ``{"seconds": N}`` lets time pass without activity (token expiry).
* ``GET/PUT /_sandbox/limits`` and ``/_sandbox/faults`` read and change limits and faults.
* ``GET /_sandbox/counters`` (``DELETE`` resets) counts requests by route and outcome.
* ``GET /_sandbox/usage[?window=SECONDS]`` (``DELETE`` resets): each app's API requests per window
  (default the limits' ``window_seconds``), admitted and refused, and its busiest sliding window.
* ``GET /_sandbox/ground_truth?business=ID[&resource=NAME]`` streams rows as NDJSON.
* ``GET /_sandbox/deletions?business=ID[&since=EPOCH]``, ``GET /_sandbox/audit``,
  ``GET /_sandbox/status``, ``POST /_sandbox/revoke_tokens``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from sage_sandbox.catalog import ENDPOINTS
from sage_sandbox.sandbox import Sandbox


class AdminError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def admin_error(error: AdminError) -> Response:
    return _json({"error": str(error)}, error.status)


def _json(value: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(value), status_code=status, media_type="application/json")


class AdminRoutes:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def routes(self) -> list[Route]:
        return [
            Route("/_sandbox/status", self.status, methods=["GET"]),
            Route("/_sandbox/advance", self.advance, methods=["POST"]),
            Route("/_sandbox/clock", self.clock, methods=["POST"]),
            Route("/_sandbox/limits", self.limits, methods=["GET", "PUT"]),
            Route("/_sandbox/faults", self.faults, methods=["GET", "PUT"]),
            Route("/_sandbox/counters", self.counters, methods=["GET", "DELETE"]),
            Route("/_sandbox/usage", self.usage, methods=["GET", "DELETE"]),
            Route("/_sandbox/ground_truth", self.ground_truth, methods=["GET"]),
            Route("/_sandbox/deletions", self.deletions, methods=["GET"]),
            Route("/_sandbox/audit", self.audit, methods=["GET"]),
            Route("/_sandbox/revoke_tokens", self.revoke_tokens, methods=["POST"]),
        ]

    async def status(self, request: Request) -> Response:
        sandbox = self.sandbox
        return _json(
            {
                "now": sandbox.clock.now().isoformat().replace("+00:00", "Z"),
                "user_id": sandbox.user_id,
                "business_ids": sandbox.business_ids,
                "outsider_business_id": sandbox.outsider_business_id,
                "build_seconds": round(sandbox.build_seconds, 3),
                "from_snapshot": sandbox.from_snapshot,
                "rows": {
                    b: {n: len(c) for n, c in sandbox.business(b).collections.items()}
                    for b in sandbox.business_ids
                },
                "dialect": sandbox.dialect.name,
                "access": {
                    b: {
                        "product": sandbox.business(b).product,
                        "unavailable": sorted(sandbox.business(b).unavailable),
                        "roles": sandbox.roles_in(b),
                    }
                    for b in sandbox.business_ids
                },
                "tokens": dataclasses.asdict(sandbox.auth.stats),
            }
        )

    async def advance(self, request: Request) -> Response:
        days = _number(await _body(request), "days")
        if days < 0:
            raise AdminError("days must not be negative: the books only move forward")
        return _json(self.sandbox.advance(days))

    async def clock(self, request: Request) -> Response:
        seconds = _number(await _body(request), "seconds")
        if seconds < 0:
            raise AdminError("seconds must not be negative: the clock only moves forward")
        return _json({"now": self.sandbox.move_clock(seconds)})

    async def limits(self, request: Request) -> Response:
        if request.method == "PUT":
            self._apply(await _body(request), self.sandbox.update_limits)
        return _json(dataclasses.asdict(self.sandbox.limiter.limits))

    async def faults(self, request: Request) -> Response:
        if request.method == "PUT":
            self._apply(await _body(request), self.sandbox.update_faults)
        return _json(dataclasses.asdict(self.sandbox.faults.config))

    def _apply(self, body: dict[str, Any], update: Any) -> None:
        try:
            update(**body)
        except TypeError as exc:
            raise AdminError(f"unknown setting: {exc}") from exc

    async def counters(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.sandbox.counters.reset()
        return _json(self.sandbox.counters.snapshot())

    async def usage(self, request: Request) -> Response:
        arrivals = self.sandbox.limiter.arrivals
        if request.method == "DELETE":
            arrivals.reset()
        window = request.query_params.get("window")
        try:
            seconds = float(window) if window is not None else self.sandbox.limiter.limits.window_seconds
        except ValueError:
            raise AdminError("window must be seconds, e.g. window=60") from None
        if not seconds > 0:
            raise AdminError("window must be more than 0 seconds")
        return _json(arrivals.usage(seconds))

    async def ground_truth(self, request: Request) -> Response:
        business = self._business(request)
        resource = request.query_params.get("resource")
        if resource is not None and resource not in (*ENDPOINTS, "financial_settings", "businesses"):
            raise AdminError(f"unknown resource {resource!r}")
        truth = self.sandbox.ground_truth(business)

        def lines() -> Iterator[bytes]:
            for name, rows in truth.items():
                if resource in (None, name):
                    for row in rows:
                        yield orjson.dumps({"resource": name, "row": row}) + b"\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    async def deletions(self, request: Request) -> Response:
        business = self._business(request)
        since = request.query_params.get("since", "0")
        if not since.isdigit():
            raise AdminError("since must be epoch seconds, e.g. since=1795262400")
        return _json(self.sandbox.deletions(business, int(since)))

    async def audit(self, request: Request) -> Response:
        return _json(self.sandbox.audit())

    async def revoke_tokens(self, request: Request) -> Response:
        return _json({"revoked_chains": self.sandbox.auth.revoke_all()})

    def _business(self, request: Request) -> str:
        business = request.query_params.get("business")
        if business not in self.sandbox.business_ids:
            raise AdminError(f"business must be one of {', '.join(self.sandbox.business_ids)}")
        return business


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError as exc:
        raise AdminError(f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise AdminError("the body must be a JSON object")
    return body


def _number(body: dict[str, Any], name: str) -> float:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AdminError(f'{name!r} must be a number, e.g. {{"{name}": 7}}')
    return float(value)
