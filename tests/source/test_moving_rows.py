"""Rows that move under the reader: Sage pages by offset, so a row can come twice in one listing.

A row inserted ahead of the reader pushes the rest one place back: the last row of page 1
comes again first on page 2, perhaps edited in between. The warehouse must hold it once, with
the children of one copy, on a first load (appended) and on later runs (merged); and because the
listing ends by reading again what changed while it was paged, that copy is the newest, in the
same run. A loopback fake serves the shifted pages (the sandbox does not page while its books
change).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from sage_source.pages import Page
from sage_source.seen_ids import FirstSighting
from testkit.fake_sage import FakeSage, Reply, Seen, fake_env, page, run_pipeline
from testkit.warehouse import Warehouse

CUSTOMER = {"id": "CUSTOMER", "displayed_as": "Customer"}
SUPPLIER = {"id": "VENDOR", "displayed_as": "Supplier"}


def contact(n: int, name: str, types: list[dict[str, str]], at: str = "10:00") -> dict[str, Any]:
    return {
        "id": f"c{n:04d}",
        "displayed_as": name,
        "name": name,
        "contact_types": types,
        "updated_at": f"2026-11-20T{at}:00Z",
    }


RENAMED = contact(3, "Contact 3 renamed", [CUSTOMER, SUPPLIER], at="10:05")


def shifted_listing(seen: Seen) -> Reply | None:
    """Page 1: c1-c3. Then c0 is inserted ahead and c3 edited: page 2 starts with c3 again.

    Asked what changed since a moment (the re-read at the end of the listing, or a later run),
    the edited c3 is the answer."""
    if seen.path != "/v3.1/contacts":
        return None
    if "deleted_since" in seen.query or "attributes" not in seen.query:  # delete feed, id sweep
        return page([])
    if "updated_or_created_since" in seen.query:
        return page([RENAMED])
    if seen.query.get("page", "1") == "1":
        first = [contact(n, f"Contact {n}", [CUSTOMER]) for n in (1, 2, 3)]
        return page(first, next_link="/contacts?page=2&items_per_page=3&attributes=all", total=5)
    second = [RENAMED, contact(4, "Contact 4", [SUPPLIER])]
    return page(second, next_link=None, number=2, total=6)


def contacts(home: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with Warehouse(home / "warehouse.duckdb") as warehouse:
        return warehouse.rows("contacts"), warehouse.rows("contacts__contact_types")


@pytest.mark.parametrize("runs", [1, 2], ids=["first-load-appends", "rerun-merges"])
def test_a_row_that_comes_twice_is_loaded_once_with_its_own_children(tmp_path: Path, runs: int) -> None:
    with FakeSage(shifted_listing) as sage:
        report = run_pipeline(fake_env(sage, tmp_path), tmp_path, resources=["contacts"])
        # The listing of two pages was followed by one request for what changed meanwhile.
        changed = [s for s in sage.api_requests("contacts") if "updated_or_created_since" in s.query]
        assert len(changed) == 1
        [unit] = [u for u in report.outcomes if u.resource == "contacts"]
        assert (unit.reread_requests, unit.reread_rows, unit.rows) == (1, 1, 4)
        for _ in range(runs - 1):
            report = run_pipeline(fake_env(sage, tmp_path), tmp_path, resources=["contacts"])
    parents, children = contacts(tmp_path)

    # A business's first load appends (none of its keys can be loaded yet); later runs merge.
    table = report.pipeline.default_schema.get_table("contacts")
    assert table["write_disposition"] == ("append" if runs == 1 else "merge")
    assert sorted(row["id"] for row in parents) == ["c0001", "c0002", "c0003", "c0004"]
    renamed = next(row for row in parents if row["id"] == "c0003")
    assert renamed["name"] == "Contact 3 renamed"  # the newest copy, with its children, not a mix
    kinds = sorted((row["parent_id"], row["id"]) for row in children)
    assert kinds == [
        ("c0001", "CUSTOMER"),
        ("c0002", "CUSTOMER"),
        ("c0003", "CUSTOMER"),
        ("c0003", "VENDOR"),
        ("c0004", "VENDOR"),
    ]


@pytest.mark.parametrize("kind", ["sage-hex", "other"])
def test_first_sighting_keeps_exactly_the_first_copy_over_many_pages(kind: str) -> None:
    """Thousands of ids over hundreds of pages, some repeated far back: each kept once, first."""

    def make(n: int) -> str:
        return f"{n:032x}" if kind == "sage-hex" else f"GBP-{n}"

    sighting = FirstSighting()
    kept: list[str] = []
    for number in range(300):
        ids = [make(number * 10 + i) for i in range(10)]
        ids += [make(number * 10)]  # twice in the same page
        if number:
            ids += [make(number * 10 - 1), make((number * 37) % (number * 10))]  # from pages before
        items = pa.table({"id": ids, "n": list(range(len(ids)))})
        kept += sighting.unseen(Page(total=0, page=number + 1, items=items)).items.column("id").to_pylist()
    assert kept == [make(n) for n in range(3000)]
