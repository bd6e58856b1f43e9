"""A tiny misbehaving Sage on loopback, for what the sandbox will not do on purpose.

The sandbox is faithful; a real Sage host sometimes is not (a ``$next`` to another host, a page
that repeats, a 200 whose body is not JSON, one endpoint failing for hours). ``FakeSage`` is a
stdlib ``http.server`` in a thread that answers such things, so the real client and the real
pipeline can be pointed at it (``api_base_url``). Nothing of ours is patched.

* ``handler(seen)`` answers a request with a :class:`Reply`, or ``None`` for the default:
  forward to ``upstream`` (a real sandbox) when one is given, else ``POST /token`` issues
  tokens, ``GET /v3.1/businesses`` lists one business, anything else is a 404.
* Every request is recorded (``requests``) with its headers, so a test can prove what was sent
  where (a bearer token, ``X-Business``) and how often.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from pipelines.runner import RunReport, RunRequest, run
from testkit.pipeline_env import PREFIX, patched_env

BUSINESS_ID = "b0000000000000000000000000000001"
# Hop-by-hop and encoding headers are not passed through the forwarding path.
_NOT_FORWARDED = {
    "host",
    "content-length",
    "connection",
    "accept-encoding",
    "transfer-encoding",
    "keep-alive",
}
_NOT_RETURNED = {
    "content-length",
    "connection",
    "content-encoding",
    "transfer-encoding",
    "keep-alive",
    "server",
}


@dataclass(frozen=True)
class Seen:
    """One request as the fake received it."""

    method: str
    target: str  # path and query as received
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    body: bytes
    at: float  # time.monotonic() when it arrived

    @property
    def business(self) -> str | None:
        return self.headers.get("x-business")


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Any = b""  # bytes/str sent as is; anything else as JSON
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if isinstance(self.body, bytes):
            return self.body, headers
        if isinstance(self.body, str):
            return self.body.encode(), headers
        headers.setdefault("Content-Type", "application/json")
        return json.dumps(self.body).encode(), headers


Handler = Callable[[Seen], Reply | None]


def page(
    items: list[dict[str, Any]], next_link: str | None = None, number: int = 1, total: int | None = None
) -> Reply:
    """A Sage list page (the envelope with ``$next`` before ``$items``, as Sage orders it)."""
    body = {
        "$total": len(items) if total is None else total,
        "$page": number,
        "$next": next_link,
        "$back": None,
        "$itemsPerPage": 200,
        "$items": items,
    }
    return Reply(200, body)


def sage_error(status: int, code: str, message: str) -> Reply:
    return Reply(status, [{"$severity": "error", "$dataCode": code, "$message": message, "$source": ""}])


class FakeSage:
    def __init__(self, handler: Handler | None = None, upstream: str | None = None) -> None:
        self.handler = handler
        self.upstream = upstream
        self.requests: list[Seen] = []
        self.tokens_issued = 0
        self._lock = threading.Lock()
        self._forward = httpx.Client(timeout=60) if upstream else None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-sage", daemon=True)
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}"
        self.api = f"{self.url}/v3.1"
        self.token_url = f"{self.url}/token"

    def __enter__(self) -> FakeSage:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        if self._forward is not None:
            self._forward.close()

    def api_requests(self, path: str | None = None) -> list[Seen]:
        """Requests under ``/v3.1`` (to ``/v3.1/{path}`` if given), in arrival order."""
        with self._lock:
            seen = list(self.requests)
        prefix = "/v3.1/" if path is None else f"/v3.1/{path}"
        return [s for s in seen if s.path.startswith(prefix) and (path is None or s.path == prefix)]

    # -- answering ------------------------------------------------------------------------------

    def answer(self, seen: Seen) -> tuple[int, bytes, dict[str, str]]:
        with self._lock:
            self.requests.append(seen)
        reply = self.handler(seen) if self.handler else None
        if reply is None and self._forward is not None:
            return self._forwarded(seen)
        if reply is None:
            reply = self._default(seen)
        body, headers = reply.encoded()
        return reply.status, body, headers

    def _default(self, seen: Seen) -> Reply:
        if seen.method == "POST" and seen.path == "/token":
            with self._lock:
                self.tokens_issued += 1
                n = self.tokens_issued
            return Reply(
                200,
                {
                    "access_token": f"fake-access-{n}",
                    "refresh_token": f"fake-refresh-{n}",
                    "expires_in": 300,
                    "refresh_token_expires_in": 2_678_400,
                    "token_type": "bearer",
                    "scope": "full_access",
                    "requested_by_id": "fake-user",
                },
            )
        if seen.method == "GET" and seen.path == "/v3.1/businesses":
            return page([{"id": BUSINESS_ID, "name": "Fake Ltd", "displayed_as": "Fake Ltd"}])
        return sage_error(404, "RecordNotFound", f"no route {seen.path}")

    def _forwarded(self, seen: Seen) -> tuple[int, bytes, dict[str, str]]:
        assert self._forward is not None and self.upstream is not None
        headers = {k: v for k, v in seen.headers.items() if k not in _NOT_FORWARDED}
        response = self._forward.request(
            seen.method, f"{self.upstream}{seen.target}", headers=headers, content=seen.body or None
        )
        kept = {k: v for k, v in response.headers.items() if k.lower() not in _NOT_RETURNED}
        return response.status_code, response.content, kept

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(
                    method=self.command,
                    target=self.path,
                    path=parts.path,
                    query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                    at=time.monotonic(),
                )
                status, body, headers = fake.answer(seen)
                self.send_response_only(status)
                if not any(name.lower() == "date" for name in headers):  # the sandbox's clock passes through
                    self.send_header("Date", self.date_time_string())
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = _serve  # noqa: N815 (http.server's names)
            do_POST = _serve  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def fake_env(fake: FakeSage, home: Path, token_url: str | None = None) -> dict[str, str]:
    """Source settings pointing at the fake (tokens from the fake unless ``token_url``)."""
    return {
        f"{PREFIX}CLIENT_ID": "fake-client",
        f"{PREFIX}CLIENT_SECRET": "fake-secret",
        f"{PREFIX}API_BASE_URL": fake.api,
        f"{PREFIX}TOKEN_URL": token_url or fake.token_url,
        f"{PREFIX}TOKEN_STORE": str(home / "tokens.json"),
        f"{PREFIX}REFRESH_TOKEN": "fake-refresh-0",
        f"{PREFIX}REQUESTS_PER_MINUTE": "100000",
        f"{PREFIX}RETRY_BACKOFF_SECONDS": "0.05",
    }


def run_pipeline(env: dict[str, str], home: Path, **changes: Any) -> RunReport:
    """The real runner (``pipelines.runner.run``) with these settings, into ``home``'s DuckDB file."""
    settings: dict[str, Any] = {
        "pipeline_name": "sage_fake",
        "duckdb_path": str(home / "warehouse.duckdb"),
        "pipelines_dir": str(home / "pipelines"),
        "progress": False,
        **changes,
    }
    with patched_env(env):
        return run(RunRequest(**settings))


@contextmanager
def serving(handler: Handler | None = None, upstream: str | None = None) -> Iterator[FakeSage]:
    with FakeSage(handler, upstream) as fake:
        yield fake
