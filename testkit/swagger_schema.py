"""Sage's swagger definitions as strict JSON Schema, relaxed only by documented deviations.

Strict: every object rejects properties the spec does not define (the sandbox invents no
fields), dates must be ``YYYY-MM-DD`` and timestamps whole-second UTC with ``Z``.

Relaxed, because Sage itself sends these (see the deviations table in sage_sandbox/README.md):

* ``number/double`` fields are decimal strings (``"110.0"``), never JSON numbers;
* any property may be ``null`` (Sage sends ``null`` for unset values; Swagger 2.0 cannot say so);
* ``$path`` on a business (Sage's own ``/businesses`` examples carry it; the spec omits it).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from testkit import openapi

DECIMAL = r"^-?[0-9]+\.[0-9]+$"
DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
TIMESTAMP = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"

ENVELOPE: dict[str, Any] = {
    "type": "object",
    "required": ["$total", "$page", "$next", "$back", "$itemsPerPage", "$items"],
    "additionalProperties": False,
    "properties": {
        "$total": {"type": "integer", "minimum": 0},
        "$page": {"type": "integer", "minimum": 1},
        "$next": {"type": ["string", "null"]},
        "$back": {"type": ["string", "null"]},
        "$itemsPerPage": {"type": "integer", "minimum": 1, "maximum": 200},
        "$items": {"type": "array"},
    },
}
BUSINESSES_ENVELOPE = copy.deepcopy(ENVELOPE)
BUSINESSES_ENVELOPE["required"] = ["$total", "$page", "$next", "$back", "$items_per_page", "$items"]
BUSINESSES_ENVELOPE["properties"].pop("$itemsPerPage")
BUSINESSES_ENVELOPE["properties"]["$items_per_page"] = {"enum": [2147483647]}  # as in Sage's guides
SAGE_ERROR: dict[str, Any] = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["$severity", "$dataCode", "$message", "$source"],
        "additionalProperties": False,
        "properties": {k: {"type": "string"} for k in ("$severity", "$dataCode", "$message", "$source")},
    },
}


def _strict(node: Any) -> Any:
    """One schema node made strict (``properties`` maps names to schemas, so recurse per name)."""
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {
        k: ({name: _strict(s) for name, s in v.items()} if k == "properties" else _strict(v))
        for k, v in node.items()
        if not k.startswith("x-") and k not in ("description", "example")
    }
    kind, fmt = node.get("type"), node.get("format")
    if kind == "number":
        node = {"type": "string", "pattern": DECIMAL}
    elif kind == "string" and fmt == "date":
        node = {"type": "string", "pattern": DATE}
    elif kind == "string" and fmt == "date-time":
        node = {"type": "string", "pattern": TIMESTAMP}
    if kind == "object" and "properties" in node:
        node["additionalProperties"] = False
        node["properties"] = {
            name: {"anyOf": [schema, {"type": "null"}]} for name, schema in node["properties"].items()
        }
    return node


@cache
def definitions(openapi_dir: Path) -> dict[str, Any]:
    main = json.loads((openapi_dir / "swagger-2.0.0.json").read_text())["definitions"]
    users = json.loads((openapi_dir / "openapi.user_business.json").read_text())["definitions"]
    merged = {**main, **{f"UB_{name}": schema for name, schema in users.items()}}
    text = json.dumps(merged)
    for name in users:  # the user/business spec's refs point into its own namespace
        text = text.replace(f'"#/definitions/{name}"', f'"#/definitions/UB_{name}"')
    strict: dict[str, Any] = _strict(json.loads(text))
    strict["UB_Business"]["properties"]["$path"] = {"type": "string"}
    return strict


def validator(openapi_dir: Path, model: str) -> jsonschema.Draft4Validator:
    schema = {"definitions": definitions(openapi_dir), "allOf": [{"$ref": f"#/definitions/{model}"}]}
    return jsonschema.Draft4Validator(schema)


def problems(validator: jsonschema.Draft4Validator, instance: Any, limit: int = 5) -> list[str]:
    found = []
    for error in validator.iter_errors(instance):
        where = "/".join(str(p) for p in error.absolute_path)
        found.append(f"{where}: {error.message[:300]}")
        if len(found) >= limit:
            break
    return found


def assert_valid(model_or_schema: str | dict, instance: object, what: str) -> None:
    """``instance`` validates against a swagger model (by name) or a schema; else fail naming ``what``."""
    check = (
        validator(openapi.openapi_dir(), model_or_schema)
        if isinstance(model_or_schema, str)
        else jsonschema.Draft4Validator(model_or_schema)
    )
    found = problems(check, instance)
    assert not found, f"{what} breaks the contract:\n" + "\n".join(found)
