"""``sage_source.batch``: a business × resource reaches dlt whole or not at all, newest copies only.

Real Arrow tables and real spill files (a limit of a few rows makes the batch spill at once).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from sage_source.batch import Batch

PARENT = "sales_invoices"
CHILD = "sales_invoices__invoice_lines"


def page(ids: list[str], version: str, lines: int = 2) -> dict[str, pa.Table]:
    parents = pa.table(
        {"business_id": ["b"] * len(ids), "id": ids, "reference": [f"{i}-{version}" for i in ids]}
    )
    children = pa.table(
        {
            "business_id": ["b"] * (len(ids) * lines),
            "parent_id": [i for i in ids for _ in range(lines)],
            "_dlt_list_idx": [n for _ in ids for n in range(lines)],
            "description": [f"{i}-{version}-{n}" for i in ids for n in range(lines)],
        }
    )
    return {PARENT: parents, CHILD: children}


def rows(items: Iterable[Any]) -> dict[str, list[dict[str, Any]]]:
    """What dlt was handed, by table name."""
    out: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        name = item.meta.hints["table_name"]
        out.setdefault(name, []).extend(item.data.to_pylist())
    return out


def spill_folders() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("sage-held-*"))


@pytest.mark.parametrize("limit", [3, 1000], ids=["spilled", "in-memory"])
def test_held_rows_reach_dlt_only_when_committed(limit: int) -> None:
    before = spill_folders()
    batch = Batch(PARENT, limit, append=False)
    batch.open()
    handed = [*batch.add(page(["i1", "i2"], "v1")), *batch.add(page(["i3", "i4"], "v1"))]
    assert handed == []  # held, however many
    assert (spill_folders() - before != set()) == (limit == 3)
    handed = [*batch.commit(), *batch.flush()]
    got = rows(handed)
    assert sorted(r["id"] for r in got[PARENT]) == ["i1", "i2", "i3", "i4"]
    assert len(got[CHILD]) == 8
    assert spill_folders() == before  # spill files go once read back


@pytest.mark.parametrize("limit", [3, 1000], ids=["spilled", "in-memory"])
def test_a_discarded_read_never_reaches_dlt(limit: int) -> None:
    before = spill_folders()
    batch = Batch(PARENT, limit, append=False)
    batch.open()
    assert [*batch.add(page(["i1", "i2"], "v1")), *batch.add(page(["i3"], "v1"))] == []
    assert batch.discard() == 9  # three invoices, six lines
    batch.open()  # the next business loads as usual
    assert [*batch.add(page(["j1"], "v1"))] == []
    got = rows([*batch.commit(), *batch.flush()])
    assert [r["id"] for r in got[PARENT]] == ["j1"]
    assert {r["parent_id"] for r in got[CHILD]} == {"j1"}
    assert spill_folders() == before


@pytest.mark.parametrize("limit", [3, 1000], ids=["spilled", "in-memory"])
def test_a_row_read_again_replaces_its_earlier_copy_and_children(limit: int) -> None:
    batch = Batch(PARENT, limit, append=True)
    batch.open()
    [*batch.add(page(["i1", "i2", "i3"], "v1", lines=3))]
    newer = page(["i2"], "v2", lines=1)  # edited while the list was paged: now one line
    assert batch.supersede(newer[PARENT].column("id")) == 4  # the invoice and its three lines
    [*batch.add(newer)]
    got = rows([*batch.commit(), *batch.flush()])
    assert sorted((r["id"], r["reference"]) for r in got[PARENT]) == [
        ("i1", "i1-v1"),
        ("i2", "i2-v2"),
        ("i3", "i3-v1"),
    ]
    lines = sorted((r["parent_id"], r["description"]) for r in got[CHILD])
    assert [d for p, d in lines if p == "i2"] == ["i2-v2-0"]
    assert len(lines) == 7


def test_rows_outside_a_read_are_batched_as_before() -> None:
    batch = Batch(PARENT, 4, append=False)
    first = [*batch.add(page(["i1"], "v1"))]  # 3 rows: under the limit
    assert first == []
    second = rows(batch.add(page(["i2"], "v1")))  # 6 rows: handed over
    assert sorted(r["id"] for r in second[PARENT]) == ["i1", "i2"]
