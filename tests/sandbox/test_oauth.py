"""The authorization server: code flow, single-use 60-second codes, 5-minute access tokens,
rotating refresh tokens, and reuse of a refresh token revoking the whole chain."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from sage_sandbox import SandboxServer
from testkit.sage_http import CLIENT_ID, REDIRECT_URI, authorization_code, login, token_request


@pytest.fixture
def server(fresh_server: Callable[..., SandboxServer]) -> Iterator[SandboxServer]:
    yield fresh_server(invoices=10, history_days=30)


def api_status(server: SandboxServer, access_token: str) -> int:
    headers = {"Authorization": f"Bearer {access_token}"}
    return httpx.get(f"{server.urls.api}/businesses", headers=headers).status_code


def refresh(server: SandboxServer, refresh_token: str) -> httpx.Response:
    return token_request(server.urls, grant_type="refresh_token", refresh_token=refresh_token)


def test_the_code_flow_returns_sages_token_response(server: SandboxServer) -> None:
    tokens = login(server.urls)
    assert set(tokens) == {
        "access_token",
        "refresh_token",
        "expires_in",
        "refresh_token_expires_in",
        "token_type",
        "scope",
        "requested_by_id",
    }
    assert tokens["expires_in"] == 300
    assert tokens["refresh_token_expires_in"] == 2_678_400
    assert tokens["token_type"] == "bearer" and tokens["scope"] == "full_access"
    assert tokens["requested_by_id"] == server.sandbox.user_id
    assert api_status(server, tokens["access_token"]) == 200


def test_authorize_redirects_with_code_and_state_and_refuses_strangers(server: SandboxServer) -> None:
    params = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "state": "abc"}
    redirect = httpx.get(server.urls.authorize, params=params)
    assert redirect.status_code == 302
    assert redirect.headers["location"].startswith(f"{REDIRECT_URI}?code=")
    assert "state=abc" in redirect.headers["location"]
    for bad in ({"client_id": "someone-else"}, {"redirect_uri": "https://evil.example/callback"}):
        response = httpx.get(server.urls.authorize, params={**params, **bad})
        assert response.status_code == 400 and "location" not in response.headers


def test_a_code_works_once_and_reuse_revokes_what_it_issued(server: SandboxServer) -> None:
    code = authorization_code(server.urls)
    first = token_request(server.urls, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    assert first.status_code == 200
    again = token_request(server.urls, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    assert again.status_code == 400 and again.json() == {"error": "invalid_grant"}
    assert api_status(server, first.json()["access_token"]) == 401


def test_a_code_expires_after_60_seconds(server: SandboxServer) -> None:
    code = authorization_code(server.urls)
    server.sandbox.move_clock(61)
    response = token_request(
        server.urls, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI
    )
    assert response.status_code == 400 and response.json() == {"error": "invalid_grant"}


def test_the_redirect_uri_must_match_character_for_character(server: SandboxServer) -> None:
    code = authorization_code(server.urls)
    response = token_request(
        server.urls, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI + "/"
    )
    assert response.status_code == 400 and response.json() == {"error": "invalid_grant"}


def test_client_authentication_is_checked(server: SandboxServer) -> None:
    code = authorization_code(server.urls)
    wrong = httpx.post(
        server.urls.token,
        data={
            "grant_type": "authorization_code",
            "client_id": CLIENT_ID,
            "client_secret": "guess",
            "code": code,
            "redirect_uri": REDIRECT_URI,
        },
    )
    assert wrong.status_code == 401 and wrong.json() == {"error": "invalid_client"}
    basic = httpx.post(
        server.urls.token,
        auth=(CLIENT_ID, "sandbox-secret"),
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
    )
    assert basic.status_code == 200, "HTTP Basic client authentication works too"


@pytest.mark.parametrize("grant_type", ["password", "client_credentials", ""])
def test_other_grant_types_are_invalid_grants(server: SandboxServer, grant_type: str) -> None:
    response = token_request(server.urls, grant_type=grant_type)
    assert response.status_code == 400 and response.json() == {"error": "invalid_grant"}


def test_the_token_endpoint_takes_forms_only(server: SandboxServer) -> None:
    response = httpx.post(server.urls.token, json={"grant_type": "refresh_token", "refresh_token": "x"})
    assert response.status_code == 400 and response.json() == {"error": "invalid_request"}


def test_access_tokens_expire_after_five_minutes(server: SandboxServer) -> None:
    tokens = login(server.urls)
    server.sandbox.move_clock(299)
    assert api_status(server, tokens["access_token"]) == 200
    server.sandbox.move_clock(2)
    response = httpx.get(
        f"{server.urls.api}/businesses", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert response.status_code == 401
    assert response.json()[0]["$dataCode"] == "AuthorizationFailure"


def test_every_refresh_rotates_and_the_old_token_dies(server: SandboxServer) -> None:
    tokens = login(server.urls)
    chain = [tokens]
    for _ in range(5):
        response = refresh(server, chain[-1]["refresh_token"])
        assert response.status_code == 200
        chain.append(response.json())
    refresh_tokens = [t["refresh_token"] for t in chain]
    assert len(set(refresh_tokens)) == len(refresh_tokens), "each refresh issues a new refresh token"
    assert api_status(server, chain[-1]["access_token"]) == 200
    assert api_status(server, chain[-2]["access_token"]) == 200, "older access tokens live until they expire"


def test_reusing_a_refresh_token_revokes_the_whole_chain(server: SandboxServer) -> None:
    tokens = login(server.urls)
    rotated = refresh(server, tokens["refresh_token"]).json()
    newest = refresh(server, rotated["refresh_token"]).json()
    replay = refresh(server, tokens["refresh_token"])  # e.g. two processes refreshing with one token
    assert replay.status_code == 400 and replay.json() == {"error": "invalid_grant"}
    assert api_status(server, newest["access_token"]) == 401, "every token of the chain is revoked"
    assert refresh(server, newest["refresh_token"]).status_code == 400
    assert server.sandbox.auth.stats.reuse_revocations == 1
    other = login(server.urls)  # a separate authorization is a separate chain
    assert api_status(server, other["access_token"]) == 200


def test_refresh_tokens_expire_after_31_days(server: SandboxServer) -> None:
    tokens = login(server.urls)
    server.sandbox.move_clock(2_678_400 + 1)
    response = refresh(server, tokens["refresh_token"])
    assert response.status_code == 400 and response.json() == {"error": "invalid_grant"}


def test_a_refresh_token_is_bound_to_its_client(server: SandboxServer) -> None:
    tokens = login(server.urls)
    response = httpx.post(
        server.urls.token,
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "another-app",
            "client_secret": "x",
        },
    )
    assert response.status_code == 401


def test_token_responses_are_not_cached(server: SandboxServer) -> None:
    code = authorization_code(server.urls)
    response = token_request(
        server.urls, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI
    )
    assert response.headers["cache-control"] == "no-store"


def test_requests_without_a_valid_bearer_token_are_refused(server: SandboxServer) -> None:
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic abc"}):
        response = httpx.get(f"{server.urls.api}/sales_invoices", headers=headers)
        assert response.status_code == 401
        assert response.json()[0]["$dataCode"] == "AuthorizationFailure"
