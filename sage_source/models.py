"""Sage's models as Arrow types: how a page is read, and what each column becomes.

``models.json`` (generated from Sage's swagger by ``scripts/generate_sage_models.py``) lists each
endpoint's fields. Pages are read with an explicit schema derived from it: every documented
field gets a column with a declared type even when a page holds only nulls, and nothing is left
to inference. Money, dates and timestamps are *read* as strings (Sage sends money as decimal
strings) and then cast exactly: money to ``decimal(38, 9)`` (never a float), timestamps to UTC.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import pyarrow as pa

DECIMAL = pa.decimal128(38, 9)
TIMESTAMP = pa.timestamp("us", tz="UTC")
REF = pa.struct([("id", pa.string()), ("displayed_as", pa.string())])

# How each field kind is read from JSON, and the type it is cast to afterwards.
_READ = {
    "text": pa.string(),
    "bool": pa.bool_(),
    "bigint": pa.int64(),
    "decimal": pa.string(),
    "date": pa.string(),
    "timestamp": pa.string(),
}
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


def read_type(field: Field) -> pa.DataType:
    """The Arrow type a field is parsed as."""
    if isinstance(field, str):
        return REF if field == "ref" else _READ[field]
    if "object" in field:
        return pa.struct([(name, read_type(sub)) for name, sub in field["object"].items()])
    return pa.list_(read_type(field["list"]))


def struct_of(fields: dict[str, Field]) -> pa.StructType:
    return pa.struct([(name, read_type(field)) for name, field in fields.items()])


@dataclass(frozen=True)
class Cast:
    """A flattened column that must be cast from its read type (``"a__b"``: field b of object a)."""

    column: str
    to: pa.DataType
    kind: str


def casts(fields: dict[str, Field], prefix: str = "") -> list[Cast]:
    """The columns to cast once objects are flattened (lists are left as they are: JSON)."""
    out: list[Cast] = []
    for name, field in fields.items():
        column = f"{prefix}{name}"
        if isinstance(field, str):
            if field in CAST:
                out.append(Cast(column, CAST[field], field))
        elif "object" in field:
            out.extend(casts(field["object"], f"{column}__"))
    return out


KEY_COLUMNS = frozenset({"business_id", "id", "parent_id", "_dlt_list_idx", "resource"})


def keys_required(table: pa.Table) -> pa.Table:
    """Declare key columns non-null, as dlt declares primary keys (a null key fails here, loudly)."""
    schema = pa.schema([f.with_nullable(False) if f.name in KEY_COLUMNS else f for f in table.schema])
    return table if schema.equals(table.schema) else table.cast(schema)
