"""What the source loads from Sage, endpoint by endpoint (user settings: :mod:`sage_source.config`).

Each row says how an endpoint is read: incrementally (``updated_or_created_since``), with a
delete feed (``deleted_since``), which of its lists become child tables, what it can be sorted
by, and any extra query parameters. The filters each endpoint has are Sage's (its swagger);
the same table drives every business.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dlt.common.schema.typing import TMergeDispositionDict, TWriteDisposition

from sage_source.tables import BUSINESSES, FINANCIAL_SETTINGS

BATCH_ROWS = 20_000  # rows (parents, children, delete records) gathered before handing them to dlt

ALLOCATIONS = {"show_payments_allocations": "true"}
# Every table merges: a reloaded key replaces its row (and a parent's children), never duplicates.
# The strategy is the destination's first: ``delete-insert`` on SQL databases (DuckDB, PostgreSQL,
# Snowflake, BigQuery, ...), ``upsert`` on Delta files, which have no other (a parent's children are
# then replaced after the load: ``pipelines.lakehouse``). Naming one would refuse the other.
MERGE: TMergeDispositionDict = {"disposition": "merge"}
APPEND: TWriteDisposition = "append"  # a business's first load: none of its keys can be loaded yet


@dataclass(frozen=True)
class Endpoint:
    name: str  # Sage's path and the table name
    incremental: bool = True  # has updated_or_created_since
    deleted_since: bool = True  # has a delete feed
    deleted_flag: bool = False  # deleted rows stay listed with ``deleted: true``
    children: tuple[str, ...] = ()  # lists loaded as child tables (``tables.child_table``)
    dated: bool = False  # has from_date/to_date on the rows' date: a big first load goes in windows
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def swept(self) -> bool:
        """Without a delete feed or flag, vanished rows are found by listing ids."""
        return not self.deleted_since and not self.deleted_flag


ENDPOINTS: tuple[Endpoint, ...] = (
    # Settings and master data.
    Endpoint("ledger_accounts", deleted_since=False),
    Endpoint("tax_rates", deleted_since=False),
    Endpoint("contacts", children=("contact_types",)),
    # A bank account's balance changes without its updated_at moving: read whole every run.
    Endpoint("bank_accounts", incremental=False),
    Endpoint("products", children=("sales_prices",)),
    Endpoint("services", children=("sales_rates",)),
    # Documents and money movements.
    Endpoint(
        "sales_invoices",
        dated=True,
        children=("invoice_lines", "tax_analysis", "payments_allocations"),
        params=ALLOCATIONS,
    ),
    Endpoint(
        "sales_credit_notes",
        dated=True,
        children=("credit_note_lines", "tax_analysis", "payments_allocations"),
        params=ALLOCATIONS,
    ),
    Endpoint("sales_quick_entries", dated=True, children=("payments_allocations",), params=ALLOCATIONS),
    Endpoint(
        "purchase_invoices",
        dated=True,
        children=("invoice_lines", "tax_analysis", "payments_allocations"),
        params=ALLOCATIONS,
    ),
    Endpoint(
        "purchase_credit_notes",
        dated=True,
        children=("credit_note_lines", "tax_analysis", "payments_allocations"),
        params=ALLOCATIONS,
    ),
    Endpoint("purchase_quick_entries", dated=True, children=("payments_allocations",), params=ALLOCATIONS),
    Endpoint("contact_payments", dated=True, children=("allocated_artefacts",)),
    Endpoint("contact_allocations", children=("allocated_artefacts",)),
    Endpoint("other_payments", dated=True, children=("payment_lines",)),
    Endpoint("bank_transfers", dated=True),
    Endpoint("bank_deposits", dated=True),
    Endpoint("journals", children=("journal_lines",)),
    # The ledger: soft-deleted rows stay listed with ``deleted: true``.
    Endpoint("transactions", deleted_since=False, deleted_flag=True, dated=True),
    Endpoint("ledger_entries", deleted_since=False, deleted_flag=True, dated=True),
    # Reference lists: small, read whole every run.
    *(
        Endpoint(name, incremental=False, deleted_since=False)
        for name in (
            "currencies",
            "transaction_types",
            "artefact_statuses",
            "ledger_account_types",
            "payment_methods",
            "bank_account_types",
            "contact_types",
            "tax_types",
            "countries",
        )
    ),
)
ENDPOINT_NAMES = tuple(e.name for e in ENDPOINTS)
# Tables besides the endpoints: one row per business.
SINGLETONS = (BUSINESSES, FINANCIAL_SETTINGS)
RESOURCE_NAMES = (*SINGLETONS, *ENDPOINT_NAMES)
