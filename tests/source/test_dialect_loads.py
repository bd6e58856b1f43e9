"""Books served by a Sage that guesses otherwise: the load equals the server and every mart builds.

Real Sage leaves much undocumented (control-account names, error bodies, which role may read which
list, which lists a country or product has), and the sandbox's ``default`` dialect is only our
guess. Here the real pipeline loads, over HTTP, sandboxes that answer otherwise, and ``dbt build``
runs on the result:

* ``variant`` dialect, a *Read Only* user everywhere: other control-account names (some null),
  other error bodies, and ``/contact_allocations`` refused (Sage asks Full Access for it);
* ``default`` dialect, but the second business read by a Read Only user and lacking credit notes
  (404, as a Spanish business would).

Each must load equal to the server for everything the user may read, say what was skipped and why,
and build every mart, non-empty for every business, with every reconciliation passing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from pipelines.marts import MartsReport
from pipelines.runner import RunReport
from sage_sandbox import SandboxConfig, SandboxServer
from sage_source.settings import RESOURCE_NAMES
from testkit.load_warehouse import NOW
from testkit.marts_builds import build
from testkit.pipeline_env import connect
from testkit.warehouse import Warehouse, mismatches

CREDIT_NOTES = ("sales_credit_notes", "purchase_credit_notes")
# Business-level tables with too few rows in small books to be in every business every month.
SPARSE_MARTS = frozenset[str]()


@dataclass(frozen=True)
class Guess:
    config: SandboxConfig
    skipped: dict[tuple[int, str], int]  # (business index, resource) -> the status Sage answers


GUESSES = {
    "variant-read-only": Guess(
        SandboxConfig(
            seed=11, invoices=200, now=NOW, frozen_clock=True, dialect="variant", roles="read_only"
        ),
        {(0, "contact_allocations"): 403, (1, "contact_allocations"): 403},
    ),
    "default-restricted-second-business": Guess(
        SandboxConfig(
            seed=5,
            invoices=200,
            now=NOW,
            frozen_clock=True,
            business_roles={1: "read_only"},
            unavailable={1: CREDIT_NOTES},
        ),
        {(1, "contact_allocations"): 403, (1, "sales_credit_notes"): 404, (1, "purchase_credit_notes"): 404},
    ),
}


@dataclass(frozen=True)
class Loaded:
    guess: Guess
    business_ids: list[str]
    report: RunReport
    truth_mismatches: list[str]
    marts: MartsReport
    database: Path


@pytest.fixture(scope="module", params=list(GUESSES))
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    guess = GUESSES[request.param]
    home = tmp_path_factory.mktemp(request.param)
    with SandboxServer(guess.config) as server:
        connected = connect(server, home)
        report = connected.run()
        ids = list(server.sandbox.business_ids)
        problems: list[str] = []
        with connected.warehouse() as warehouse:
            for index, business_id in enumerate(ids):
                readable = [r for r in RESOURCE_NAMES if (index, r) not in guess.skipped]
                problems += mismatches(
                    warehouse, server.sandbox, business_ids=[business_id], resources=readable
                )
        marts = build(connected.database, home / "dbt")
        yield Loaded(guess, ids, report, problems, marts, connected.database)


def test_the_load_equals_what_the_user_may_read(loaded: Loaded) -> None:
    assert loaded.truth_mismatches == []
    skipped = {(u.business_id, u.resource): u for u in loaded.report.with_outcome("skipped")}
    expected = {(loaded.business_ids[i], r): status for (i, r), status in loaded.guess.skipped.items()}
    assert {key: unit.http_status for key, unit in skipped.items()} == expected
    assert loaded.report.with_outcome("failed") == []
    for unit in skipped.values():  # what Sage said, and what it requires or where it offers the list
        says = "Sage requires" if unit.http_status == 403 else "does not offer it"
        assert unit.message and f"{unit.resource} of business" in unit.message and says in unit.message, unit
    with Warehouse(loaded.database) as warehouse:
        for (business_id, resource), _ in skipped.items():
            if resource in warehouse.tables():
                assert warehouse.count(resource, "business_id = ?", [business_id]) == 0


def test_every_mart_builds_for_every_business_and_every_reconciliation_passes(loaded: Loaded) -> None:
    assert loaded.marts.ok, loaded.marts.summary() + "\n" + "\n".join(loaded.marts.failures)
    with duckdb.connect(str(loaded.database), read_only=True) as db:
        marts = [
            name
            for (name,) in db.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' "
                "and table_name not in ('reconciliation_failures')"
            ).fetchall()
        ]
        assert len(marts) >= 15, marts
        for mart in marts:
            columns = {
                c
                for (c,) in db.execute(
                    f"select column_name from information_schema.columns "
                    f"where table_schema = 'marts' and table_name = '{mart}'"
                ).fetchall()
            }
            if "business_id" not in columns or mart in SPARSE_MARTS:
                assert db.execute(f"select count(*) from marts.{mart}").fetchone() != (0,), mart
                continue
            having = dict(db.execute(f"select business_id, count(*) from marts.{mart} group by 1").fetchall())
            assert set(having) == set(loaded.business_ids), (mart, having)
        failures = db.execute("select count(*) from marts.reconciliation_failures").fetchone()
        assert failures == (0,)
