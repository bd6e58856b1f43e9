"""Write the dbt staging layer (``dbt_models/models/staging/``) from a warehouse the pipeline loaded.

One view per loaded table, each selecting every column under a dbt-style name, so staging is as
wide as the load and never drifts from it. The names follow fixed rules rather than hand edits:

- a row's own ``id`` becomes ``<entity>_id`` (``sales_invoice_id``); a child's ``parent_id``
  becomes its parent's (``sales_invoice_id`` on ``invoice_lines``), ``_dlt_list_idx`` is
  ``line_index``;
- dlt's ``__`` between a reference and its field becomes ``_``: ``contact__id`` → ``contact_id``,
  ``contact__displayed_as`` → ``contact_displayed_as``, ``main_address__city`` → ``main_address_city``;
- ``is_deleted`` is never null, and on ``transactions`` / ``ledger_entries`` also carries Sage's own
  ``deleted`` flag; documents with a status get ``is_void``, ``is_draft`` and ``is_posted``;
- dlt's bookkeeping (``links``, the child-replacement marker, ``_dlt_load_id``) is dropped;
- ``_sage__models.yml`` describes each view and tests its key with one ``primary_key`` test (no key
  column null, no key twice: one query a view, so ``dbt build`` stays quick); the key is ``business_id``
  and the row's own id, and a child adds its parent's id and ``line_index``;
- each view reads ``sage_source(table)`` (``dbt_models/macros/sage_source.sql``): the loaded table,
  or an empty one typed from the columns ``_sage__sources.yml`` declares when the load has not
  created it yet;
- a column whose name is longer than a warehouse allows is created by dlt under a shortened name
  (PostgreSQL: 63 characters, a hash in the middle). ``_sage__sources.yml`` records, per dbt adapter,
  the name dlt gives it there (computed with dlt's own naming convention, see
  :mod:`scripts.loaded_names`), and the view reads it through ``loaded_column(table, column)``; the
  view's own column keeps the full readable name (PostgreSQL itself cuts that to 63 characters).

Money stays DECIMAL(38,9) as loaded (never a float), dates DATE, timestamps TIMESTAMPTZ (UTC).

    .venv/bin/python -m scripts.generate_dbt_staging path/to/loaded.duckdb [--dataset sage]

``tests/dbt/test_marts.py`` regenerates it from a fresh load and compares, so it cannot go stale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

from scripts.loaded_names import loaded_names

STAGING = Path(__file__).resolve().parent.parent / "dbt_models" / "models" / "staging"
SKIPPED_TABLES = {"sage_deletions", "sage_id_sweeps"}  # the source's own bookkeeping, read by apply_deletions
DROPPED_COLUMNS = {"links", "_sage_replaced", "deleted"}
LOAD_COLUMNS = {"_dlt_load_id"}  # which load wrote a row: the pipeline's bookkeeping, not staged
SINGULAR = {
    "businesses": "business",
    "financial_settings": "financial_settings",
    "artefact_statuses": "artefact_status",
    "tax_analysis": "tax_analysis",
}
# Tables whose rows have no id of their own: the columns that name a row instead.
KEYS = {"sage_resource_outcomes": ("business_id", "resource", "run_started_at")}
# Statuses that are documents, not postings: neither a drafted nor a pro-forma invoice touches the books.
UNPOSTED_STATUSES = ("DRAFT", "PRO_FORMA")


def singular(plural: str) -> str:
    if plural in SINGULAR:
        return SINGULAR[plural]
    if plural.endswith("ies"):
        return plural[:-3] + "y"
    return plural[:-1] if plural.endswith("s") else plural


def staging_name(table: str) -> str:
    return "stg_sage__" + table.replace("__", "_")


def column_sql(table: str, column: str, columns: set[str]) -> str | None:
    """The select-list entry for one loaded column (None: not staged)."""
    parent, _, child = table.partition("__")
    if column in DROPPED_COLUMNS:
        return None
    if column == "id":
        own = f"{singular(child or parent)}_id"
        return None if own in columns else f"id as {own}"  # businesses: id is business_id
    if column == "parent_id":
        return f"parent_id as {singular(parent)}_id"
    if column == "_dlt_list_idx":
        return "_dlt_list_idx as line_index"
    if column == "is_deleted":
        flag = "coalesce(is_deleted, false)"
        if "deleted" in columns:
            flag = f"({flag} or coalesce(deleted, false))"
        return f"{flag} as is_deleted"
    renamed = column.replace("__", "_")
    # Named otherwise where identifiers are short (loaded_names): the macro picks the name per adapter.
    loaded = f"{{{{ loaded_column('{table}', '{column}') }}}}" if loaded_names(column) else column
    return column if loaded == renamed else f"{loaded} as {renamed}"


def model_sql(table: str, columns: list[str]) -> str:
    present = set(columns)
    entries = [entry for column in columns if (entry := column_sql(table, column, present)) is not None]
    names = [entry.rsplit(" as ", 1)[-1] for entry in entries]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise SystemExit(f"{table}: staged names collide: {sorted(duplicates)}")
    if "status__id" in present:
        void = "status__id = 'VOID'" + (" or void_reason is not null" if "void_reason" in present else "")
        draft = "status__id in (" + ", ".join(f"'{s}'" for s in UNPOSTED_STATUSES) + ")"
        entries += [
            f"coalesce({void}, false) as is_void",
            f"coalesce({draft}, false) as is_draft",
        ]
    select = ",\n        ".join(entries)
    where = "\n    where not coalesce(_sage_replaced, false)" if "_sage_replaced" in present else ""
    body = f"""    select
        {select}
    from {{{{ sage_source('{table}') }}}}{where}"""
    if "status__id" in present:
        body = f"""    select
        *,
        not (is_void or is_draft or is_deleted) as is_posted
    from (
{_indent(body, 4)}
    ) as typed"""
    header = f"-- Generated by scripts/generate_dbt_staging.py from the loaded table `{table}`; do not edit."
    return f"{header}\n\n{body}\n"


def key_columns(table: str, columns: list[str]) -> tuple[str, ...]:
    """The staged names that identify one row of the view (its primary key)."""
    if table in KEYS:
        return KEYS[table]
    present = set(columns)
    # A child row is the n-th entry of its parent's list (a line's own id may be missing).
    own = ("parent_id", "_dlt_list_idx") if "parent_id" in present else ("id",)
    staged = [
        entry.rsplit(" as ", 1)[-1]
        for column in own
        if column in present and (entry := column_sql(table, column, present)) is not None
    ]
    return ("business_id", *staged)


def models_yml(tables: dict[str, list[tuple[str, str]]]) -> str:
    """Each view's description and the tests of its key (few, so that `dbt build` stays quick)."""
    lines = ["# Generated by scripts/generate_dbt_staging.py; do not edit.", "version: 2", "", "models:"]
    for table, columns in tables.items():
        parent, _, child = table.partition("__")
        what = f"entry of the `{child}` list of a `{parent}` record" if child else f"`{table}` record"
        key = key_columns(table, [name for name, _ in columns])
        lines += [
            f"  - name: {staging_name(table)}",
            f"    description: The loaded table `{table}` renamed, one row per {what}.",
            "    data_tests:",
            f"      - primary_key: {{arguments: {{columns: [{', '.join(key)}]}}}}",
        ]
    return "\n".join(lines) + "\n"


def _indent(text: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line if line else line for line in text.splitlines())


def sources_yml(tables: dict[str, list[tuple[str, str]]]) -> str:
    lines = [
        "# Generated by scripts/generate_dbt_staging.py; do not edit.",
        "version: 2",
        "",
        "sources:",
        "  - name: sage",
        "    description: Tables the sage_source dlt pipeline loads; every key starts with business_id.",
        "    schema: \"{{ env_var('SAGE_DATASET', 'sage') }}\"",
        "    config:",
        "      # Fresh as of the last complete dlt load (status 0), whatever table dbt asks about.",
        "      loaded_at_query: >-",
        "        select max(inserted_at) from {{ env_var('SAGE_DATASET', 'sage') }}._dlt_loads",
        "        where status = 0",
        "      freshness:",
        "        warn_after: {count: 24, period: hour}",
        "        error_after: {count: 72, period: hour}",
        "    tables:",
        "      - name: _dlt_loads",
        "        description: One row per dlt load; status 0 is a complete load.",
    ]
    for table, columns in tables.items():
        # The columns and types as loaded: what the staging view reads, and what stands in for a table
        # the load has not created yet (dlt makes a table when its first row arrives; see sage_source()).
        lines += [f"      - name: {table}", "        columns:"]
        lines += [f"          - {_column_yml(name, kind)}" for name, kind in columns]
    return "\n".join(lines) + "\n"


def _column_yml(name: str, kind: str) -> str:
    """One declared column; with the name dlt loads it under on adapters that shorten it."""
    entry = f"name: {name}, data_type: '{kind.lower()}'"
    if names := loaded_names(name):
        loaded_as = ", ".join(f"{adapter}: {short}" for adapter, short in names.items())
        entry += f", config: {{meta: {{loaded_as: {{{loaded_as}}}}}}}"
    return f"{{{entry}}}"


def generate(database: Path, dataset: str, out: Path = STAGING) -> dict[str, str]:
    """Every staging file's text, by path relative to ``out``."""
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = ? order by table_name, ordinal_position",
            [dataset],
        ).fetchall()
    by_table: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in rows:
        if not table.startswith("_dlt") and table not in SKIPPED_TABLES and column not in LOAD_COLUMNS:
            by_table.setdefault(table, []).append((column, kind))
    by_table = dict(sorted(by_table.items()))
    files = {f"{staging_name(t)}.sql": model_sql(t, [c for c, _ in cols]) for t, cols in by_table.items()}
    files["_sage__sources.yml"] = sources_yml(by_table)
    files["_sage__models.yml"] = models_yml(by_table)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path, help="a DuckDB file the pipeline loaded")
    parser.add_argument("--dataset", default="sage")
    parser.add_argument("--out", type=Path, default=STAGING)
    args = parser.parse_args(argv)
    if not args.database.is_file():
        print(f"no DuckDB file at {args.database}: load one first (make demo writes .demo/warehouse.duckdb)")
        return 2
    files = generate(args.database, args.dataset, args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    for stale in args.out.glob("stg_sage__*.sql"):
        if stale.name not in files:
            stale.unlink()
    for name, text in files.items():
        (args.out / name).write_text(text)
    print(f"wrote {len(files)} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
