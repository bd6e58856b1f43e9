"""``GET /oauth2/auth/central`` (consent, auto-granted) and ``POST /token`` (code and refresh grants)."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlencode

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from sage_sandbox.oauth import OAuthError
from sage_sandbox.sandbox import Sandbox

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def oauth_error(error: OAuthError) -> Response:
    """Sage documents the bare RFC 6749 body: ``{"error": "invalid_grant"}``."""
    return Response(
        orjson.dumps({"error": error.error}),
        status_code=error.status,
        media_type="application/json",
        headers=_NO_STORE,
    )


class OAuthRoutes:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def routes(self) -> list[Route]:
        return [
            Route("/oauth2/auth/central", self.authorize, methods=["GET"]),
            Route("/token", self.token, methods=["POST"]),
        ]

    async def authorize(self, request: Request) -> Response:
        params = request.query_params
        if params.get("response_type", "code") != "code":
            return oauth_error(
                OAuthError(400, "unsupported_response_type", "only the code flow is supported")
            )
        redirect_uri = params.get("redirect_uri", "")
        try:
            code = self.sandbox.auth.authorize(
                params.get("client_id", ""),
                redirect_uri,
                self.sandbox.user_id,
                params.get("scope", "full_access"),
            )
        except OAuthError as error:  # never redirect to an unregistered URI
            return oauth_error(error)
        answer = {"code": code, "country": "gb"}
        if "state" in params:
            answer["state"] = params["state"]
        separator = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(f"{redirect_uri}{separator}{urlencode(answer)}", status_code=302)

    async def token(self, request: Request) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            return oauth_error(OAuthError(400, "invalid_request", "the token request must be form-encoded"))
        fields = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        client_id, client_secret = _client_credentials(request, fields)
        grant_type = fields.get("grant_type")
        auth = self.sandbox.auth
        try:
            if grant_type == "authorization_code":
                body = auth.exchange_code(
                    client_id, client_secret, fields.get("code", ""), fields.get("redirect_uri", "")
                )
            elif grant_type == "refresh_token":
                body = auth.refresh(client_id, client_secret, fields.get("refresh_token", ""))
            else:  # Sage answers a wrong grant type with invalid_grant (its "frequently raised errors")
                raise OAuthError(400, "invalid_grant", f"unsupported grant_type {grant_type!r}")
        except OAuthError as error:
            return oauth_error(error)
        return Response(orjson.dumps(body), media_type="application/json", headers=_NO_STORE)


def _client_credentials(request: Request, fields: dict[str, str]) -> tuple[str, str]:
    """Client id and secret from the form (as Sage's samples send them) or HTTP Basic."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return "", ""
        return client_id, secret
    return fields.get("client_id", ""), fields.get("client_secret", "")
