"""A deliberately plain HTTP client for testing the sandbox: raw httpx, the OAuth code flow,
and ``$next``-following, written from Sage's documentation rather than with the project's own
client, so a shared misunderstanding cannot make both sides agree.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from sage_sandbox.server import SandboxServer, Urls

CLIENT_ID = "sandbox-client"
CLIENT_SECRET = "sandbox-secret"
REDIRECT_URI = "http://127.0.0.1:8123/callback"


def authorization_code(urls: Urls, state: str = "s1", redirect_uri: str = REDIRECT_URI) -> str:
    response = httpx.get(
        urls.authorize,
        params={
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": redirect_uri,
            "scope": "full_access",
            "state": state,
            "filter": "apiv3.1",
        },
    )
    assert response.status_code == 302, response.text
    query = parse_qs(urlparse(response.headers["location"]).query)
    assert query["state"] == [state]
    return query["code"][0]


def token_request(urls: Urls, **fields: str) -> httpx.Response:
    return httpx.post(urls.token, data={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **fields})


def login(urls: Urls) -> dict[str, Any]:
    """The whole authorization-code flow; returns Sage's token response."""
    code = authorization_code(urls)
    response = token_request(urls, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


class Api:
    """Requests to ``/v3.1`` with a bearer token and, optionally, ``X-Business``."""

    def __init__(self, urls: Urls, access_token: str) -> None:
        self.urls = urls
        self.http = httpx.Client(
            base_url=urls.api, headers={"Authorization": f"Bearer {access_token}"}, timeout=60
        )

    def get(self, path: str, business: str | None = None, **params: Any) -> httpx.Response:
        headers = {"X-Business": business} if business else {}
        return self.http.get(path, params=params, headers=headers)

    def ok(self, path: str, business: str | None = None, **params: Any) -> Any:
        response = self.get(path, business, **params)
        assert response.status_code == 200, f"{path} {params}: {response.status_code} {response.text[:500]}"
        return response.json()

    def pages(self, resource: str, business: str | None = None, **params: Any) -> list[dict[str, Any]]:
        """Every page of a list, following ``$next`` exactly as Sage documents it."""
        bodies = [self.ok(f"/{resource}", business, **params)]
        while bodies[-1]["$next"] is not None:
            link = bodies[-1]["$next"]
            assert link.startswith(f"/{resource}?"), link  # relative, without /v3.1
            response = self.http.get(link, headers={"X-Business": business} if business else {})
            assert response.status_code == 200, response.text
            bodies.append(response.json())
        return bodies

    def all_items(self, resource: str, business: str | None = None, **params: Any) -> list[dict[str, Any]]:
        return [item for body in self.pages(resource, business, **params) for item in body["$items"]]

    def close(self) -> None:
        self.http.close()


def sandbox_businesses(server: SandboxServer) -> dict[str, str]:
    """Each business's id and name, as the API lists them: what ``sage-pipeline businesses`` must print."""
    api = Api(server.urls, str(login(server.urls)["access_token"]))
    try:
        ids = [b["id"] for b in api.ok("/businesses")["$items"]]
        return {business: api.ok(f"/businesses/{business}")["name"] for business in ids}
    finally:
        api.close()
