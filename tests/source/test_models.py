"""The column types the source declares come from Sage's swagger, and cannot go stale.

``sage_source/models.json`` is generated from the swagger files by
``scripts/generate_sage_models.py``; regenerating it must give the committed file. And every
money field the swagger documents lands as a decimal, every date as a date, every date-time as a
timestamp: the types a warehouse user relies on.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from sage_source.settings import RESOURCE_NAMES
from testkit.openapi import openapi_dir

ROOT = Path(__file__).resolve().parents[2]


def generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "generate_sage_models", ROOT / "scripts/generate_sage_models.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_models_json_is_what_the_swagger_generates() -> None:
    committed = json.loads((ROOT / "sage_source/models.json").read_text())
    assert generator().generate(openapi_dir()) == committed, (
        "sage_source/models.json is stale: run scripts/generate_sage_models.py ../shared/sage_openapi "
        "sage_source/models.json"
    )


def test_every_resource_has_a_model() -> None:
    committed = json.loads((ROOT / "sage_source/models.json").read_text())
    assert set(RESOURCE_NAMES) <= set(committed)


def test_money_dates_and_times_have_their_types() -> None:
    invoice = json.loads((ROOT / "sage_source/models.json").read_text())["sales_invoices"]["fields"]
    assert invoice["total_amount"] == "decimal"
    assert invoice["outstanding_amount"] == "decimal"
    assert invoice["date"] == "date" and invoice["due_date"] == "date"
    assert invoice["updated_at"] == "timestamp"
    lines = invoice["invoice_lines"]["list"]["object"]
    assert lines["unit_price"] == "decimal" and lines["quantity"] == "decimal"
