"""Sage's models as Arrow types: how a page is read, and what each column becomes.

``models.json`` (generated from Sage's swagger by ``scripts/generate_sage_models.py``) lists each
endpoint's fields. Pages are read with an explicit schema derived from it: every documented
field gets a column with a declared type even when a page holds only nulls, and nothing is left
to inference. Money becomes ``decimal(38, 9)`` (never a float) and timestamps UTC.

Two ways to read, the same result:

* fast: Arrow's JSON reader turns Sage's decimal strings into decimals and its ISO strings into
  timestamps as it parses (exactly: from the text, not through a float); dates are read as
  midnight timestamps and cast to dates.
* text: every money, date and timestamp field is read as a string and cast afterwards, which
  tolerates what the fast reader refuses (``""`` for an unset date) and names a bad value.

Lists that stay JSON columns keep Sage's own text (``"12.50"``) in both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import pyarrow as pa

from sage_source.tables import KEY_COLUMNS

DECIMAL = pa.decimal128(38, 9)
TIMESTAMP = pa.timestamp("us", tz="UTC")
REF = pa.struct([("id", pa.string()), ("displayed_as", pa.string())])

# How each field kind is read from JSON (as text, or fast), and the type it ends as.
_TEXT = {
    "text": pa.string(),
    "bool": pa.bool_(),
    "bigint": pa.int64(),
    "decimal": pa.string(),
    "date": pa.string(),
    "timestamp": pa.string(),
}
_FAST = {**_TEXT, "decimal": DECIMAL, "date": pa.timestamp("s"), "timestamp": TIMESTAMP}
CAST = {"decimal": DECIMAL, "date": pa.date32(), "timestamp": TIMESTAMP}

Field = Any  # a kind name, {"object": {...}} or {"list": Field}


@cache
def models() -> dict[str, Any]:
    text = resources.files("sage_source").joinpath("models.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def fields_of(endpoint: str) -> dict[str, Field]:
    fields: dict[str, Field] = models()[endpoint]["fields"]
    return fields


def read_type(field: Field, fast: bool = False) -> pa.DataType:
    """The Arrow type a field is parsed as (a list left as JSON always keeps Sage's text)."""
    if isinstance(field, str):
        return REF if field == "ref" else (_FAST if fast else _TEXT)[field]
    if "object" in field:
        return pa.struct([(name, read_type(sub, fast)) for name, sub in field["object"].items()])
    return pa.list_(read_type(field["list"]))


def struct_of(fields: dict[str, Field], children: tuple[str, ...] = (), fast: bool = False) -> pa.StructType:
    """A row's type; ``children`` (lists that become child tables) are read like the row."""
    return pa.struct(
        [
            (name, pa.list_(read_type(field["list"], fast)) if name in children else read_type(field, fast))
            for name, field in fields.items()
        ]
    )


@dataclass(frozen=True)
class Cast:
    """A flattened column that must be cast from its read type (``"a__b"``: field b of object a)."""

    column: str
    to: pa.DataType
    kind: str


def casts(fields: dict[str, Field], fast: bool = False, prefix: str = "") -> list[Cast]:
    """The columns to cast once objects are flattened (lists are left as they are: JSON).

    After a fast read only dates need it; after a text read every money, date and timestamp.
    """
    out: list[Cast] = []
    for name, field in fields.items():
        column = f"{prefix}{name}"
        if isinstance(field, str):
            if field in CAST and (field == "date" or not fast):
                out.append(Cast(column, CAST[field], field))
        elif "object" in field:
            out.extend(casts(field["object"], fast, f"{column}__"))
    return out


def keys_required(table: pa.Table) -> pa.Table:
    """Declare key columns non-null, as dlt declares primary keys (a null key fails here, loudly)."""
    schema = pa.schema([f.with_nullable(False) if f.name in KEY_COLUMNS else f for f in table.schema])
    return table if schema.equals(table.schema) else table.cast(schema)
