"""The names of what the source loads: its own tables, and the columns it adds or others read.

Each name is written here once and imported wherever it is used: the source writes these
tables and columns (:mod:`sage_source.pages`, :mod:`sage_source.rows`, :mod:`sage_source.batch`,
:mod:`sage_source.deletions`, :mod:`sage_source.outcomes`), and the same modules, the pipeline
(:mod:`pipelines.integrity`, :mod:`pipelines.pending`, :mod:`pipelines.runner`) and the checks
after each load read them back in SQL. A renamed column is then one edit, not a hunt.

The tables of Sage's lists are named after their endpoints (:mod:`sage_source.settings`); this
module imports nothing of the package, so any module may import it.
"""

from __future__ import annotations

# -- tables ---------------------------------------------------------------------------------------

BUSINESSES = "businesses"  # one row per business (``business_id`` is its own id)
FINANCIAL_SETTINGS = "financial_settings"  # one object per business, loaded as one row
DELETIONS_TABLE = "sage_deletions"  # what Sage's delete feeds said went: see deletions.py
SWEEPS_TABLE = "sage_id_sweeps"  # the ids lists without a delete feed had when swept: see deletions.py
OUTCOMES_TABLE = "sage_resource_outcomes"  # one row per run × business × resource: see outcomes.py
CHILD_SEPARATOR = "__"  # a list inside a row becomes the table ``{parent}__{child}``


def child_table(parent: str, child: str) -> str:
    """The table a child list of ``parent``'s rows loads into (``sales_invoices__invoice_lines``)."""
    return f"{parent}{CHILD_SEPARATOR}{child}"


def is_child_table(table: str, parent: str) -> bool:
    """``table`` holds a child list of ``parent``'s rows."""
    return table.startswith(f"{parent}{CHILD_SEPARATOR}")


# -- columns every table of the source has --------------------------------------------------------

BUSINESS_ID = "business_id"  # the Sage business a row belongs to: every key starts with it
ID = "id"  # Sage's id of a row (a parent table's key with ``business_id``)

# -- columns of child tables ----------------------------------------------------------------------

PARENT_ID = "parent_id"  # the Sage id of the row a child row belongs to
LIST_INDEX = "_dlt_list_idx"  # its place in the parent's list (dlt's own name for it)
REPLACED = "_sage_replaced"  # marker rows: "this parent's children were replaced by none"

# -- columns the source adds to a list's rows ------------------------------------------------------

IS_DELETED = "is_deleted"  # Sage deleted the row (its ``deleted`` flag, a tombstone or a sweep)
DELETED_AT = "deleted_at"  # when (Sage's ``deleted_at`` where it sends one)
SYNCED_AT = "_sage_synced_at"  # the server's time when the row was read (dates id sweeps)

# -- Sage's own fields the source reads ------------------------------------------------------------

UPDATED_AT = "updated_at"  # the watermark of incremental reads
DELETED = "deleted"  # the soft-delete flag of transactions and ledger entries

# -- columns of the source's own tables -----------------------------------------------------------

RESOURCE = "resource"  # the endpoint a delete record, sweep or outcome is about
SWEPT_AT = "swept_at"  # when a sweep listed the ids (``sage_id_sweeps``)
RUN_STARTED_AT = "run_started_at"  # the run an outcome belongs to (``sage_resource_outcomes``)

# -- dlt's columns ---------------------------------------------------------------------------------

LOAD_ID = "_dlt_load_id"  # the load package that wrote a row (added when the runner asks)

# -- keys --------------------------------------------------------------------------------------------

PARENT_KEY = (BUSINESS_ID, ID)  # a list's table (merged on it)
CHILD_PARENT = (BUSINESS_ID, PARENT_ID)  # a child table's merge key: a parent's children replaced whole
CHILD_KEY = (BUSINESS_ID, PARENT_ID, LIST_INDEX)
RECORD_KEY = (BUSINESS_ID, RESOURCE, ID)  # ``sage_deletions`` and ``sage_id_sweeps``
OUTCOME_KEY = (BUSINESS_ID, RESOURCE, RUN_STARTED_AT)
# Declared non-null in every Arrow table handed to dlt (``models.keys_required``).
KEY_COLUMNS = frozenset({BUSINESS_ID, ID, PARENT_ID, LIST_INDEX, RESOURCE})
