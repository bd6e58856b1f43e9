"""Derive ``sage_source/models.json`` from Sage's swagger files.

The source parses pages with explicit Arrow schemas built from this file, so the swagger itself
(which ships beside the project, not inside it) is not needed at run time. Run after the swagger
changes:

    .venv/bin/python scripts/generate_sage_models.py ../shared/sage_openapi sage_source/models.json

``tests/source/test_models.py`` regenerates it and compares, so the committed file cannot go stale.

A field is one of ``text``, ``bool``, ``bigint``, ``decimal`` (money and rates; Sage sends them
as strings), ``date``, ``timestamp``, ``ref`` (a reference to another entity: its ``id`` and
``displayed_as``), ``{"object": {...}}`` (a value the document owns, expanded into columns) or
``{"list": field}``.

Each endpoint also carries what Sage's description of its ``GET`` says about who may read it
(``requires``: the user roles per area, as one sentence) and where it is offered (``offered``:
countries per product), so a 403 or 404 can be explained to the user in Sage's own terms.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

# The models each endpoint's rows follow (users & businesses spec for ``businesses``).
MODELS = {
    "contacts": "Contact",
    "ledger_accounts": "LedgerAccount",
    "tax_rates": "TaxRate",
    "bank_accounts": "BankAccount",
    "bank_transfers": "BankTransfer",
    "bank_deposits": "BankDeposit",
    "sales_invoices": "SalesInvoice",
    "sales_credit_notes": "SalesCreditNote",
    "sales_quick_entries": "QuickEntry",
    "purchase_invoices": "PurchaseInvoice",
    "purchase_credit_notes": "PurchaseCreditNote",
    "purchase_quick_entries": "PurchaseQuickEntry",
    "contact_payments": "ContactPayment",
    "contact_allocations": "ContactAllocation",
    "other_payments": "OtherPayment",
    "journals": "Journal",
    "transactions": "Transaction",
    "ledger_entries": "LedgerEntry",
    "products": "Product",
    "services": "Service",
    "financial_settings": "FinancialSettings",
    "tax_types": "TaxType",
    "currencies": "Base",
    "transaction_types": "Base",
    "artefact_statuses": "Base",
    "ledger_account_types": "Base",
    "payment_methods": "Base",
    "bank_account_types": "Base",
    "contact_types": "Base",
    "countries": "Base",
    "businesses": "UB:Business",
}
# Entities without an endpoint of their own in this spec: referenced by id, not expanded.
EXTRA_REFERENCES = {
    "Base",
    "Generic",
    "RecurringSalesInvoice",
    "SalesInvoiceQuoteEstimate",
    "TransactionOrigin",
}
MAX_DEPTH = 3
_SCALARS = {"number": "decimal", "integer": "bigint", "boolean": "bool"}  # swagger type -> field
_STRING_FORMATS = {"date": "date", "date-time": "timestamp"}  # other strings are text


def resource_models(spec: dict[str, Any]) -> set[str]:
    """Definitions some ``GET`` returns: entities, which other rows reference by id."""
    found = set(EXTRA_REFERENCES)
    for operations in spec["paths"].values():
        schema = operations.get("get", {}).get("responses", {}).get("200", {}).get("schema", {})
        ref = schema.get("items", schema).get("$ref")
        if ref:
            found.add(ref.rsplit("/", 1)[1])
    return found


def field(schema: dict[str, Any], definitions: dict[str, Any], references: set[str], depth: int) -> Any:
    ref = schema.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[1]
        if name in references or depth >= MAX_DEPTH:
            return "ref"
        return {"object": fields(definitions[name], definitions, references, depth + 1)}
    kind, fmt = schema.get("type"), schema.get("format")
    if kind == "array":
        return {"list": field(schema.get("items", {}), definitions, references, depth + 1)}
    if kind == "string":
        return _STRING_FORMATS.get(fmt or "", "text")
    # Untyped objects arrive as text (none are used by the served models).
    return _SCALARS.get(kind or "", "text")


def fields(
    definition: dict[str, Any], definitions: dict[str, Any], references: set[str], depth: int
) -> dict[str, Any]:
    return {
        name: field(schema, definitions, references, depth)
        for name, schema in definition.get("properties", {}).items()
        if name != "$path"  # derivable from the endpoint and id; not loaded
    }


_ACCESS = "### Access Control Restrictions"
_AVAILABILITY = "### Endpoint Availability"
_AREA = re.compile(r"`([^`]+)`")
_ANY_AREA = "Requires the authenticated user to have any mentioned role in one of the listed areas"
_ROLES_IN_AREAS = re.compile(
    r"Requires the authenticated user to have any of the following roles in the areas? (.+?): (.+)$"
)


def _flag_country(flag: str) -> str:
    """🇬🇧 → GB (a flag is two regional indicator symbols)."""
    return "".join(chr(ord(c) - 0x1F1E6 + ord("A")) for c in flag.strip() if 0x1F1E6 <= ord(c) <= 0x1F1FF)


def _either(words: list[str], conjunction: str) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def requires(description: str) -> str | None:
    """The roles Sage's description asks for, as one sentence (None: any user may read it)."""
    if _ACCESS not in description:
        return None
    text = description.split(_ACCESS, 1)[1].strip()
    if text.startswith(
        "Requires the authenticated user to have any mentioned role in one of the listed areas"
    ):
        areas = []
        for line in text.splitlines()[1:]:
            found = re.match(r"\* Area: `([^`]+)`: (.+)", line.strip())
            if found:
                areas.append(f"{_either(found.group(2).split(', '), 'or')} in {found.group(1)}")
        return "; or ".join(areas)
    found = re.match(
        r"Requires the authenticated user to have any of the following roles in the areas? (.+?): (.+)$", text
    )
    if found is None:
        raise ValueError(f"unrecognised access text: {text!r}")
    areas = _AREA.findall(found.group(1))
    roles = _either(found.group(2).strip().split(", "), "or")
    return f"{roles} in {areas[0]}" if len(areas) == 1 else f"{roles} in each of {_either(areas, 'and')}"


def offered(description: str) -> dict[str, list[str]]:
    """Countries per product where Sage offers the endpoint (from "Endpoint Availability")."""
    if _AVAILABILITY not in description:
        return {}
    text = description.split(_AVAILABILITY, 1)[1].split("###", 1)[0]
    found = re.findall(r"^\* (Accounting [A-Za-z]+): (.+)$", text, flags=re.MULTILINE)
    return {product: sorted(_flag_country(f) for f in flags.split(",")) for product, flags in found}


def generate(openapi_dir: Path) -> dict[str, Any]:
    spec = json.loads((openapi_dir / "swagger-2.0.0.json").read_text())
    users = json.loads((openapi_dir / "openapi.user_business.json").read_text())
    references = resource_models(spec)
    out = {}
    for endpoint, model in MODELS.items():
        if model.startswith("UB:"):
            definitions, name = users["definitions"], model[3:]
        else:
            definitions, name = spec["definitions"], model
        entry: dict[str, Any] = {"model": name}
        operation = spec["paths"].get(f"/{endpoint}", {}).get("get")
        if operation is not None:
            entry["requires"] = requires(operation.get("description", ""))
            entry["offered"] = offered(operation.get("description", ""))
        entry["fields"] = fields(definitions[name], definitions, references, 0)
        out[endpoint] = entry
    return out


def main() -> None:
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    target.write_text(json.dumps(generate(source), indent=1, sort_keys=False) + "\n")


if __name__ == "__main__":
    main()
