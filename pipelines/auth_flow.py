"""``sage-pipeline auth``: the OAuth authorization-code bootstrap with a loopback listener.

1. Listen on the redirect URI (a loopback address registered with the Sage app).
2. Print (and open) Sage's authorize URL with a random ``state``.
3. Sage redirects the browser to the listener with ``code`` and ``state``; a ``state`` that does
   not match is refused (it is not our request: CSRF or a stale tab).
4. Exchange the code for tokens, store them (0600, atomically), list the businesses.

The listener is the standard library's ``http.server``: one request, on loopback only.
"""

from __future__ import annotations

import secrets
import threading
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sage_source.config import SagePipelineConfiguration
from sage_source.connection import SageConnection
from sage_source.errors import SageSourceError

LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}
_PAGE = b"""<!doctype html><title>sage-pipeline</title>
<p>%s</p><p>You can close this window and go back to the terminal.</p>"""


@dataclass
class _Answer:
    params: dict[str, str] = field(default_factory=dict)
    arrived: threading.Event = field(default_factory=threading.Event)


class CallbackListener:
    """A one-shot HTTP server on the redirect URI's loopback host and port, in a thread."""

    def __init__(self, redirect_uri: str, state: str) -> None:
        parts = urlsplit(redirect_uri)
        host = parts.hostname or ""
        if parts.scheme != "http" or host not in LOOPBACK_HOSTS:
            raise SageSourceError(
                f"redirect_uri must be a loopback http address such as {_example()} (got {redirect_uri!r}); "
                "register the same URI with your Sage app"
            )
        self.path = parts.path or "/"
        self.answer = _Answer()
        handler = _handler(self.path, self.answer, state)
        try:
            self.server = HTTPServer((host, 80 if parts.port is None else parts.port), handler)
        except OSError as exc:
            raise SageSourceError(
                f"cannot listen on {host}:{parts.port} for Sage's redirect ({exc.strerror}); "
                "free the port or set redirect_uri to another one registered with your Sage app"
            ) from None
        port = self.server.server_address[1]
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.redirect_uri = urlunsplit(("http", netloc, self.path, "", ""))
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CallbackListener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait(self, timeout: float) -> dict[str, str]:
        if not self.answer.arrived.wait(timeout):
            raise SageSourceError(
                f"no answer from Sage within {timeout:.0f}s; run `sage-pipeline auth` again and "
                "approve access in the browser"
            )
        return self.answer.params


def _handler(path: str, answer: _Answer, state: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path != path or answer.arrived.is_set():
                self.send_error(404)
                return
            answer.params = dict(parse_qsl(parts.query))
            if not secrets.compare_digest(answer.params.get("state", ""), state):
                message = (
                    b"This answer does not belong to the request sage-pipeline made; nothing was stored."
                )
            elif "code" not in answer.params:
                message = b"Sage did not approve access."
            else:
                message = b"Sage access approved."
            self.send_response(200 if message == b"Sage access approved." else 400)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(_PAGE % message)
            answer.arrived.set()

        def log_message(self, format: str, *args: Any) -> None:  # the query holds the code: never log it
            return

    return Handler


def authorize_url(base: str, client_id: str, redirect_uri: str, scope: str, state: str) -> str:
    """Sage's authorize URL (which already carries ``filter=apiv3.1``) plus the request's parameters."""
    parts = urlsplit(base)
    query = [
        *parse_qsl(parts.query),
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("scope", scope),
        ("state", state),
    ]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def run_auth(
    settings: SagePipelineConfiguration,
    out: TextIO,
    open_url: Callable[[str], object] | None = webbrowser.open,
    timeout: float = 300,
) -> list[dict[str, Any]]:
    """The whole bootstrap; returns the businesses the new tokens reach.

    ``open_url`` shows the consent page (a browser by default; ``None``: the user opens it).
    """
    state = secrets.token_urlsafe(24)
    with CallbackListener(settings.redirect_uri, state) as listener:
        url = authorize_url(
            settings.authorize_url, settings.client_id, listener.redirect_uri, settings.scope, state
        )
        print(
            f"Open this address to let sage-pipeline read your Sage books:\n\n  {url}\n", file=out, flush=True
        )
        if open_url is not None:
            open_url(url)
        print(f"Waiting for Sage to redirect to {listener.redirect_uri} ...", file=out, flush=True)
        params = listener.wait(timeout)
    if not secrets.compare_digest(params.get("state", ""), state):
        raise SageSourceError(
            "the answer's state does not match this request (a stale or forged redirect); run auth again"
        )
    if "code" not in params:
        reason = params.get("error_description") or params.get("error") or "no code in the answer"
        raise SageSourceError(f"Sage did not authorise access: {reason}")
    with SageConnection(settings) as sage:
        sage.tokens.exchange_code(params["code"], listener.redirect_uri)
        return sage.businesses()


def _example() -> str:
    return "http://localhost:8976/callback"
