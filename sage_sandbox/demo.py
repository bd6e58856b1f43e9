"""``make demo`` (for now): start a seeded sandbox and show it answering like Sage.

It walks the parts a connector must get right: the OAuth code flow and a rotating refresh token,
the businesses and ``X-Business``, ``$next`` paging, money as strings, time moving forward with
changes and deletes, and books that add up. Tokens are never printed.
"""

from __future__ import annotations

import sys
import time
from urllib.parse import parse_qs, urlparse

import httpx

from sage_sandbox import SandboxConfig, SandboxServer

REDIRECT = "http://127.0.0.1:8123/callback"


def _token(server: SandboxServer, **fields: str) -> httpx.Response:
    data = {"client_id": "sandbox-client", "client_secret": "sandbox-secret", **fields}
    return httpx.post(server.urls.token, data=data)


def _login(server: SandboxServer) -> dict[str, object]:
    """The authorization-code flow: consent (automatic here), then exchange the code."""
    authorize = httpx.get(
        server.urls.authorize,
        params={
            "response_type": "code",
            "client_id": "sandbox-client",
            "redirect_uri": REDIRECT,
            "state": "demo",
        },
    )
    code = parse_qs(urlparse(authorize.headers["location"]).query)["code"][0]
    tokens: dict[str, object] = _token(
        server, grant_type="authorization_code", code=code, redirect_uri=REDIRECT
    ).json()
    return tokens


def main() -> int:
    started = time.perf_counter()
    with SandboxServer(SandboxConfig(seed=1, invoices=300)) as server:
        urls = server.urls
        print(f"Sage sandbox serving on {urls.base} (books built in {time.perf_counter() - started:.1f}s)")
        print(f"  API {urls.api}   authorize {urls.authorize}   token {urls.token}\n")

        tokens = _login(server)
        print(
            f"OAuth: code flow OK; access token lives {tokens['expires_in']}s, "
            f"refresh token {int(str(tokens['refresh_token_expires_in'])) // 86400} days"
        )
        _token(server, grant_type="refresh_token", refresh_token=str(tokens["refresh_token"]))
        replay = _token(server, grant_type="refresh_token", refresh_token=str(tokens["refresh_token"]))
        print(
            f"       refresh rotates; replaying the old refresh token -> {replay.status_code} {replay.json()}"
        )
        print("       (and the whole chain is revoked, as a stolen token would be)\n")
        api = httpx.Client(
            base_url=urls.api, headers={"Authorization": f"Bearer {_login(server)['access_token']}"}
        )

        businesses = api.get("/businesses").json()["$items"]
        for business in businesses:
            headers = {"X-Business": business["id"]}
            settings = api.get("/financial_settings", headers=headers).json()
            counts = {
                name: api.get(f"/{name}", headers=headers).json()["$total"]
                for name in ("sales_invoices", "contact_payments", "transactions", "ledger_entries")
            }
            print(
                f"{business['displayed_as']} ({business['id']}), base currency "
                f"{settings['base_currency']['id']}, year end {settings['year_end_date']}"
            )
            print("  " + ", ".join(f"{n} {c}" for n, c in counts.items()))
            page = api.get(
                "/sales_invoices", headers=headers, params={"items_per_page": 3, "attributes": "all"}
            ).json()
            for invoice in page["$items"]:
                print(
                    f"  {invoice['invoice_number']:8s} {invoice['date']} {invoice['contact_name'][:24]:24s} "
                    f"{invoice['currency']['id']} total {invoice['total_amount']:>10s} "
                    f"outstanding {invoice['outstanding_amount']:>9s} {invoice['status']['id']}"
                )
            print(f"  next page: {page['$next']}")

        lead = {"X-Business": businesses[0]["id"]}
        before = server.sandbox.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        summary = httpx.post(f"{urls.admin}/advance", json={"days": 7}).json()["businesses"][
            businesses[0]["id"]
        ]
        api.headers["Authorization"] = f"Bearer {_login(server)['access_token']}"  # a week passed
        changed = api.get(
            "/sales_invoices", headers=lead, params={"updated_or_created_since": before}
        ).json()["$total"]
        deleted = api.get("/contact_payments", headers=lead, params={"deleted_since": before}).json()[
            "$total"
        ]
        print(f"\nAdvanced 7 days: created {summary['created']}")
        print(f"  updated {summary['updated']}, deleted {summary['deleted']}")
        print(f"  sales invoices changed since {before}: {changed}; contact payments deleted: {deleted}")

        problems = httpx.get(f"{urls.admin}/audit").json()
        verdict = (
            "every transaction balances, bank balances equal the ledger, subledgers equal control accounts"
        )
        print(
            f"\nBooks audit: {verdict}" if not any(problems.values()) else f"\nBooks audit FAILED: {problems}"
        )
        served = sum(sum(by.values()) for by in httpx.get(f"{urls.admin}/counters").json().values())
        print(f"Requests served: {served}. Try it yourself: make serve, then open {urls.admin}/status")
        return 0 if not any(problems.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
