"""The Starlette application: Sage's routes, the sandbox's admin routes, and Sage-shaped errors."""

from __future__ import annotations

from email.utils import formatdate

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sage_sandbox.api.accounting import AccountingApi
from sage_sandbox.api.admin import AdminError, AdminRoutes, admin_error
from sage_sandbox.api.oauth_routes import OAuthRoutes, oauth_error
from sage_sandbox.api.traffic_middleware import TrafficMiddleware
from sage_sandbox.errors import SageError
from sage_sandbox.oauth import OAuthError
from sage_sandbox.sandbox import Sandbox


def sage_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SageError)
    body, media_type = exc.render()
    return Response(body, status_code=exc.status, media_type=media_type)


def http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and wrong methods, in Sage's error shape under ``/v3.1``."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        error = SageError(
            405, "MethodNotAllowed", f"{request.method} is not allowed here; the sandbox is read-only."
        )
    else:
        error = SageError(exc.status_code, "NotFound", f"The path {request.url.path} does not exist.")
    return sage_error(request, error)


class ServerDate:
    """``Date`` on every response is the sandbox's time, as a server's own clock would be."""

    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                stamp = formatdate(self.sandbox.clock.timestamp(), usegmt=True).encode()
                message = {**message, "headers": [*message.get("headers", []), (b"date", stamp)]}
            await send(message)

        await self.app(scope, receive, dated)


def create_app(sandbox: Sandbox) -> Starlette:
    routes = [
        *OAuthRoutes(sandbox).routes(),
        *AdminRoutes(sandbox).routes(),
        *AccountingApi(sandbox).routes(),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(ServerDate, sandbox=sandbox), Middleware(TrafficMiddleware, sandbox=sandbox)],
        exception_handlers={
            SageError: sage_error,
            HTTPException: http_error,
            OAuthError: lambda request, exc: oauth_error(exc),
            AdminError: lambda request, exc: admin_error(exc),
        },
    )
    app.router.redirect_slashes = False  # "/sales_invoices/" is a 404, not a redirect
    return app
