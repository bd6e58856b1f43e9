"""Limits, injected faults and counters: 429 with Retry-After per window, seeded replayable
faults (5xx in Sage's and a gateway's shapes, slow answers, dropped connections, truncated
bodies, failures on large ``attributes=all`` pages), and request counters."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from sage_sandbox import SandboxServer
from testkit.sage_http import Api, login
from testkit.sandbox_admin import usage


@pytest.fixture
def server(fresh_server: Callable[..., SandboxServer]) -> SandboxServer:
    return fresh_server(invoices=40, history_days=60)


@pytest.fixture
def client(server: SandboxServer) -> Api:
    return Api(server.urls, login(server.urls)["access_token"])


def admin(server: SandboxServer, what: str, **settings: object) -> dict[str, object]:
    response = httpx.put(f"{server.urls.admin}/{what}", json=settings)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_the_per_minute_limit_answers_429_with_retry_after(server: SandboxServer, client: Api) -> None:
    admin(server, "limits", per_minute=5)
    assert [client.get("/contacts").status_code for _ in range(5)] == [200] * 5
    refused = client.get("/contacts")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    (error,) = refused.json()
    assert error["$dataCode"] == "TooManyRequests"
    server.sandbox.move_clock(int(refused.headers["retry-after"]))
    assert client.get("/contacts").status_code == 200, "waiting Retry-After seconds is enough"


def test_usage_says_what_each_app_sent_per_window(server: SandboxServer, client: Api) -> None:
    """A shorter window (tests of a shared budget watch several) limits and reports the same way."""
    admin(server, "limits", per_minute=3, window_seconds=10)
    assert [client.get("/contacts").status_code for _ in range(5)] == [200] * 3 + [429] * 2
    assert 1 <= int(client.get("/contacts").headers["retry-after"]) <= 10
    server.sandbox.move_clock(10)
    assert [client.get("/contacts").status_code for _ in range(2)] == [200] * 2
    server.sandbox.move_clock(25)
    assert client.get("/contacts").status_code == 200

    (app,) = usage(server).values()
    assert app == {
        "admitted": 6,
        "refused": 3,
        "busiest": 6,  # sent: 3 admitted and 3 refused at one moment
        "windows": [3, 2, 0, 1],
        "refused_windows": [3],
    }
    assert next(iter(usage(server, window=60).values()))["windows"] == [6]
    assert httpx.delete(f"{server.urls.admin}/usage").json() == {}


def test_refused_requests_do_not_use_up_the_quota(server: SandboxServer, client: Api) -> None:
    admin(server, "limits", per_minute=3)
    statuses = [client.get("/contacts").status_code for _ in range(10)]
    assert statuses == [200, 200, 200] + [429] * 7
    server.sandbox.move_clock(61)
    assert [client.get("/contacts").status_code for _ in range(4)] == [200, 200, 200, 429]


def test_the_daily_limit_waits_until_utc_midnight(server: SandboxServer, client: Api) -> None:
    admin(server, "limits", per_day=2)
    assert [client.get("/contacts").status_code for _ in range(3)] == [200, 200, 429]
    refused = client.get("/contacts")
    wait = int(refused.headers["retry-after"])
    seconds_to_midnight = 86400 - server.sandbox.clock.now_ts() % 86400
    assert wait == seconds_to_midnight
    server.sandbox.move_clock(wait)
    fresh = Api(server.urls, login(server.urls)["access_token"])  # hours passed: the old token expired
    assert fresh.get("/contacts").status_code == 200


def test_the_concurrency_limit_refuses_requests_in_flight(server: SandboxServer, client: Api) -> None:
    admin(server, "limits", concurrent=2, latency=0.4)
    token = client.http.headers["authorization"]
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(
            pool.map(
                lambda _: httpx.get(
                    f"{server.urls.api}/contacts", headers={"Authorization": token}, timeout=30
                ),
                range(6),
            )
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) >= 2 and statuses.count(429) >= 1, statuses
    assert all(r.headers["retry-after"] == "1" for r in responses if r.status_code == 429)


def _outcomes(client: Api, count: int) -> list[str]:
    outcomes = []
    for _ in range(count):
        try:
            outcomes.append(str(client.get("/ledger_accounts").status_code))
        except httpx.TransportError as error:
            outcomes.append(type(error).__name__)
    return outcomes


def test_faults_are_seeded_and_replay_exactly(server: SandboxServer, client: Api) -> None:
    settings = {"seed": 42, "error_rate": 0.3, "drop_rate": 0.1, "truncate_rate": 0.1}
    admin(server, "faults", **settings)
    first = _outcomes(client, 40)
    admin(server, "faults", **settings)
    assert _outcomes(client, 40) == first
    assert {"200", "500", "502", "503", "504"} <= set(first)
    assert "RemoteProtocolError" in first, "drops and truncations break the response"
    admin(server, "faults", **{**settings, "seed": 43})
    assert _outcomes(client, 40) != first


def test_5xx_look_like_sage_or_its_gateway(server: SandboxServer, client: Api) -> None:
    admin(server, "faults", seed=1, error_rate=1.0)
    seen: dict[int, httpx.Response] = {}
    for _ in range(40):
        response = client.get("/contacts")
        seen.setdefault(response.status_code, response)
    assert set(seen) == {500, 502, 503, 504}
    assert seen[500].json()[0]["$dataCode"] == "UnexpectedError"
    assert seen[503].json()[0]["$dataCode"] == "ServiceUnavailable"
    for status in (502, 504):
        assert seen[status].headers["content-type"].startswith("text/html")
        assert str(status).encode() in seen[status].content


def test_drops_and_truncations_fail_the_transfer(server: SandboxServer, client: Api) -> None:
    for kind in ("drop_rate", "truncate_rate"):
        admin(server, "faults", **{"seed": 1, "drop_rate": 0.0, "truncate_rate": 0.0, kind: 1.0})
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/ledger_entries", items_per_page=200, attributes="all")
    counters = httpx.get(f"{server.urls.admin}/counters").json()
    assert counters["GET /v3.1/ledger_entries"] == {"drop": 1, "truncate": 1}


def test_slow_answers_arrive_late_but_whole(server: SandboxServer, client: Api) -> None:
    admin(server, "faults", seed=1, slow_rate=1.0, slow_seconds=0.5)
    started = time.monotonic()
    body = client.ok("/contacts")
    assert time.monotonic() - started >= 0.5 and body["$total"] > 0


def test_large_attributes_all_pages_fail_but_smaller_ones_succeed(server: SandboxServer, client: Api) -> None:
    admin(server, "faults", seed=1, large_page_error_rate=1.0, large_page_threshold=50)
    assert client.get("/ledger_entries", items_per_page=51, attributes="all").status_code in (500, 502, 504)
    assert client.get("/ledger_entries", items_per_page=50, attributes="all").status_code == 200
    assert client.get("/ledger_entries", items_per_page=200).status_code == 200


def test_oauth_and_admin_routes_are_never_faulted_or_limited(server: SandboxServer) -> None:
    admin(server, "faults", seed=1, error_rate=1.0)
    admin(server, "limits", per_minute=1)
    for _ in range(3):
        assert login(server.urls)["access_token"]
        assert httpx.get(f"{server.urls.admin}/status").status_code == 200


def test_counters_count_requests_by_route_and_outcome(server: SandboxServer, client: Api) -> None:
    httpx.delete(f"{server.urls.admin}/counters")
    client.get("/contacts")
    client.get("/contacts")
    key = client.ok("/contacts")["$items"][0]["id"]
    client.get(f"/contacts/{key}")
    client.get("/contacts", items_per_page=500)
    counters = httpx.get(f"{server.urls.admin}/counters").json()
    assert counters["GET /v3.1/contacts"] == {"200": 3, "400": 1}
    assert counters["GET /v3.1/contacts/{key}"] == {"200": 1}
    assert server.sandbox.counters.total(prefix="GET /v3.1/contacts") == 5


def test_bad_admin_settings_are_refused(server: SandboxServer) -> None:
    response = httpx.put(f"{server.urls.admin}/faults", json={"error_rat": 0.5})
    assert response.status_code == 400 and "error_rat" in response.json()["error"]
