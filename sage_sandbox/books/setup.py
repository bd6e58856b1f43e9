"""A new business's master data: reference lists, chart of accounts, tax rates, bank accounts,
financial settings, customers and suppliers (with payment habits), products and services.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal

from sage_sandbox.books.artefacts import currency_ref
from sage_sandbox.books.business import BankInfo, Business, ContactInfo, ItemInfo, Ref, Row, iso, make_ref
from sage_sandbox.books.countries import CountryProfile, LedgerAccountSpec
from sage_sandbox.books.reference import (
    ARTEFACT_STATUSES,
    BANK_ACCOUNT_TYPES,
    CATALOG_ITEM_TYPES,
    CONTACT_TYPES,
    COUNTRIES,
    CURRENCIES,
    LEDGER_ACCOUNT_TYPES,
    PAYMENT_METHODS,
    TRANSACTION_TYPES,
)
from sage_sandbox.ids import IdCodec, tag_for
from sage_sandbox.money import sage_decimal

_GROUPS = {
    "SALES": "INCOME",
    "OTHER_INCOME": "INCOME",
    "DIRECT_EXPENSES": "EXPENSE",
    "OVERHEADS": "EXPENSE",
    "DEPRECIATION": "EXPENSE",
    "CURRENT_ASSETS": "ASSET",
    "FIXED_ASSETS": "ASSET",
    "FUTURE_ASSETS": "ASSET",
    "BANK": "ASSET",
    "CURRENT_LIABILITY": "LIABILITY",
    "FUTURE_LIABILITY": "LIABILITY",
    "LINE_OF_CREDIT": "LIABILITY",
    "EQUITY": "EQUITY",
}
_SCOPES = {
    "banking": "bank",
    "sales": "sales",
    "expenses": "purchasing",
    "other_payments": "other_payment",
    "other_receipts": "other_receipt",
    "journals": "journals",
    "reporting": "reporting",
}
# Supplier categories: what a supplier bills for and how it is taxed.
SUPPLIER_ROLES = (
    "cost_of_sales",
    "cost_of_sales",
    "subcontractors",
    "office_costs",
    "professional_fees",
    "telephone",
)
_PRODUCTS = (
    "Widget",
    "Gadget",
    "Bracket",
    "Cable Kit",
    "Sensor",
    "Valve",
    "Panel",
    "Fitting",
    "Toolset",
    "Lamp",
)
_SERVICES = (
    "Consulting",
    "Installation",
    "Maintenance Visit",
    "Training Session",
    "Design Work",
    "Support Plan",
)


def reference_lists(biz: Business) -> None:
    """Sage's fixed lists, stored per business so ``X-Business`` applies to them too."""
    profile = biz.profile
    lists: dict[str, dict[str, str]] = {
        "currencies": {code: f"{name} ({code})" for code, name in CURRENCIES.items()},
        "transaction_types": TRANSACTION_TYPES,
        "artefact_statuses": ARTEFACT_STATUSES,
        "ledger_account_types": LEDGER_ACCOUNT_TYPES,
        "ledger_account_classifications": {},
        "payment_methods": PAYMENT_METHODS,
        "bank_account_types": BANK_ACCOUNT_TYPES,
        "contact_types": CONTACT_TYPES,
        "countries": COUNTRIES,
    }
    for resource, entries in lists.items():
        collection = biz[resource]
        for key, displayed in entries.items():
            position, _ = collection.reserve(explicit_id=key)
            collection.put(position, make_ref(resource, key, displayed))
    tax_type = f"{profile.code}_{'VAT' if profile.recoverable_purchase_tax else 'SALES_TAX'}"
    position, _ = biz["tax_types"].reserve(explicit_id=tax_type)
    biz["tax_types"].put(
        position,
        {
            **make_ref("tax_types", tax_type, "VAT" if profile.recoverable_purchase_tax else "Sales Tax"),
            "federal_tax": False,
            "country": make_ref("countries", profile.code, COUNTRIES[profile.code]),
            "address_regions": [],
            "tax_rates": [make_ref("tax_rates", t.id, t.name) for t in profile.tax_rates],
        },
    )


def tax_rates(biz: Business, ts: int, start: date) -> None:
    collection = biz["tax_rates"]
    stamp = iso(ts)
    for spec in biz.profile.tax_rates:
        position, _ = collection.reserve(explicit_id=spec.id)
        ref = make_ref("tax_rates", spec.id, spec.name)
        collection.put(
            position,
            {
                **ref,
                "created_at": stamp,
                "updated_at": stamp,
                "name": spec.name,
                "agency": spec.agency,
                "percentage": sage_decimal(spec.percentage),
                "percentages": [
                    {
                        "percentage": sage_decimal(spec.percentage),
                        "from_date": start.isoformat(),
                        "to_date": None,
                    }
                ],
                "is_visible": True,
                "retailer": False,
                "editable": False,
                "deletable": False,
                "is_combined_rate": False,
                "component_tax_rates": [],
            },
        )
        biz.tax_rates[spec.id] = (ref, spec.percentage)


def ledger_accounts(biz: Business, ts: int, control_names: Mapping[str, str | None]) -> None:
    """The chart; ``control_names`` (the dialect's) rename control accounts by role, or blank them."""
    collection = biz["ledger_accounts"]
    stamp = iso(ts)
    for spec in biz.profile.chart:
        position, key = collection.reserve()
        ref = make_ref("ledger_accounts", key, f"{spec.name} ({spec.nominal_code:04d})")
        control_name = control_names.get(spec.role, spec.control_name)
        collection.put(position, _ledger_row(ref, spec, stamp, control_name))
        biz.ledger[spec.role] = ref
        biz.ledger_role_of[key] = spec.role


def _ledger_row(ref: Ref, spec: LedgerAccountSpec, stamp: str, control_name: str | None) -> Row:
    group = _GROUPS[spec.type_id]
    row: Row = {
        **ref,
        "created_at": stamp,
        "updated_at": stamp,
        "ledger_account_group": {"id": group, "displayed_as": group.title()},
        "name": spec.name,
        "display_name": spec.name,
        "visible_scopes": [_SCOPES[area] for area in spec.visible],
        "included_in_chart": True,
        "nominal_code": spec.nominal_code,
        "ledger_account_type": make_ref(
            "ledger_account_types", spec.type_id, LEDGER_ACCOUNT_TYPES[spec.type_id]
        ),
        "ledger_account_classification": None,
        "tax_rate": None,
        "fixed_tax_rate": False,
    }
    for area in _SCOPES:
        row[f"visible_in_{area}"] = area in spec.visible
    row.update(
        {
            "is_control_account": spec.control_name is not None,
            "control_name": control_name,
            "display_formatted": f"{spec.nominal_code:04d} - {spec.name}",
            "tax_recoverable": None,
            "recoverable_percentage": None,
            "non_recoverable_ledger_account": None,
            "cis_materials": False,
            "tax_instalment": False,
            "cis_labour": False,
            "gifi_code": None,
        }
    )
    return row


def bank_accounts(biz: Business, ts: int, rng: random.Random) -> None:
    collection = biz["bank_accounts"]
    stamp = iso(ts)
    for spec in biz.profile.banks:
        position, key = collection.reserve()
        account = biz.profile.account(spec.role)
        ref = make_ref("bank_accounts", key, f"{spec.name} ({account.nominal_code:04d})")
        biz.banks[spec.role] = BankInfo(position, ref, spec.role, spec.type_id, spec.payment_method)
        number = f"{rng.randrange(10**7, 10**8)}"
        collection.put(
            position,
            {
                **ref,
                "created_at": stamp,
                "updated_at": stamp,
                "deleted_at": None,
                "bank_account_details": {
                    "account_name": spec.name,
                    "account_number": None if spec.type_id == "CASH_IN_HAND" else number,
                    "sort_code": "070407"
                    if biz.profile.code == "GB" and spec.type_id != "CASH_IN_HAND"
                    else None,
                    "bic": None,
                    "iban": None,
                },
                "ledger_account": biz.ledger[spec.role],
                "bank_account_type": make_ref(
                    "bank_account_types", spec.type_id, BANK_ACCOUNT_TYPES[spec.type_id]
                ),
                "balance": "0.0",
                "main_address": None,
                "main_contact_person": None,
                "nominal_code": account.nominal_code,
                "editable": True,
                "deletable": False,
                "journal_code": None,
                "default_payment_method": make_ref(
                    "payment_methods", spec.payment_method, PAYMENT_METHODS[spec.payment_method]
                ),
                "gifi_code": None,
                "is_active": True,
                "currency": currency_ref(biz.currency),
            },
        )


def financial_settings(biz: Business, ts: int, accounts_start: date, today: date) -> None:
    profile = biz.profile
    gb = profile.code == "GB"
    biz.financial_settings = {
        "$path": "/financial_settings",
        "year_end_date": biz.year_end_after(today).isoformat(),
        "year_end_lockdown_date": None,
        "accounting_type": "accrual",
        "accounts_start_date": accounts_start.isoformat(),
        "base_currency": currency_ref(profile.currency),
        "multi_currency_enabled": True,
        "use_live_exchange_rates": False,
        "mtd_activation_status": "mtd_activated" if gb else None,
        "mtd_connected": gb,
        "mtd_authenticated_date": None,
        "tax_scheme": make_ref("tax_schemes", "STANDARD", "Standard") if gb else None,
        "tax_return_frequency": make_ref("tax_return_frequencies", "QUARTERLY", "Quarterly")
        if gb
        else make_ref("tax_return_frequencies", "MONTHLY", "Monthly"),
        "tax_number": f"GB{100000000 + biz.number * 7919}" if gb else None,
        "general_tax_number": None,
        "tax_office": None,
        "default_irpf_rate": None,
        "flat_rate_tax_percentage": None,
        "recoverable_percentage": None,
        "sales_tax_calculation": None if gb else "invoice",
        "purchase_tax_calculation": None if gb else "invoice",
        "updated_at": iso(ts),
        "postponed_accounting": False,
        "destination_vat": False,
    }


def contacts(biz: Business, ts: int, rng: random.Random, customers: int, suppliers: int) -> None:
    profile = biz.profile
    for i in range(customers):
        _contact(biz, ts, rng, "CUSTOMER", i, tax_rate_id=_customer_tax_rate(profile, rng, i))
    for i in range(suppliers):
        role = SUPPLIER_ROLES[i % len(SUPPLIER_ROLES)]
        tax = (
            rng.choice(profile.purchase_tax_rates)
            if role != "professional_fees"
            else profile.purchase_tax_rates[0]
        )
        _contact(biz, ts, rng, "VENDOR", i, tax_rate_id=tax, purchase_role=role)


def _customer_tax_rate(profile: CountryProfile, rng: random.Random, index: int) -> str:
    if profile.code == "US":
        return profile.sales_tax_rates[index % len(profile.sales_tax_rates)]
    return rng.choice(profile.sales_tax_rates)


def _contact(
    biz: Business,
    ts: int,
    rng: random.Random,
    kind: str,
    index: int,
    *,
    tax_rate_id: str,
    purchase_role: str | None = None,
) -> ContactInfo:
    profile = biz.profile
    names = profile.company_names
    base = names[(index * 7 + (3 if kind == "VENDOR" else 0)) % len(names)]
    suffix = "" if index < len(names) else f" {index // len(names) + 1}"
    name = f"{base}{suffix}{' Ltd' if profile.code == 'GB' else ' Inc.'}"
    reference = (
        f"{''.join(w[0] for w in base.split()).upper()}{'C' if kind == 'CUSTOMER' else 'S'}{index + 1:04d}"
    )
    foreign = list(profile.foreign_currencies)
    currency = profile.currency
    # The second and third customers (busy ones) and the second supplier always trade in a foreign
    # currency, so even the smallest books carry exchange rates and base-currency twins.
    pinned = (1, 2) if kind == "CUSTOMER" else (1,)
    if index in pinned:
        currency = foreign[(index - 1) % len(foreign)]
    elif rng.random() < (0.12 if kind == "CUSTOMER" else 0.08):
        currency = rng.choice(foreign)
    credit_days = rng.choice((30, 30, 30, 14, 60))
    city, region, postcode = profile.cities[index % len(profile.cities)]
    country = make_ref("countries", profile.code, COUNTRIES[profile.code])
    street = rng.choice(("High", "Station", "Mill", "Church"))
    address = {
        "address_line_1": f"{rng.randrange(1, 200)} {street} Street",
        "address_line_2": None,
        "city": city,
        "postal_code": postcode,
        "region": region,
        "country": country,
    }
    collection = biz["contacts"]
    position, key = collection.reserve()
    ref = make_ref("contacts", key, f"{name} ({reference})")
    stamp = iso(ts)
    is_customer = kind == "CUSTOMER"
    collection.put(
        position,
        {
            **ref,
            "created_at": stamp,
            "updated_at": stamp,
            "links": [],
            "deleted_at": None,
            "contact_types": [make_ref("contact_types", kind, CONTACT_TYPES[kind])],
            "name": name,
            "reference": reference,
            "default_sales_ledger_account": biz.ledger["sales_products"] if is_customer else None,
            "default_sales_tax_rate": biz.tax_rates[tax_rate_id][0] if is_customer else None,
            "default_purchase_ledger_account": None
            if is_customer
            else biz.ledger[purchase_role or "cost_of_sales"],
            "tax_number": None,
            "notes": None,
            "locale": profile.locale,
            # Nested entities come as references unless ``nested_attributes`` asks for more (as a
            # bank account's address does in Sage's recorded responses); invoices copy the values.
            "main_address": make_ref("addresses", biz.new_line_id(), f"{address['address_line_1']}, {city}"),
            "delivery_address": None,
            "main_contact_person": None,
            "bank_account_details": None,
            "credit_limit": sage_decimal(Decimal(rng.choice((0, 5000, 10000, 25000)))),
            "credit_days": credit_days,
            "credit_terms": "date_from_invoice",
            "credit_terms_and_conditions": None,
            "product_sales_price_type": None,
            "source_guid": None,
            "currency": currency_ref(currency),
            "aux_reference": None,
            "registered_number": None,
            "deletable": True,
            "tax_treatment": {
                "home_tax": currency == profile.currency,
                "eu_tax_registered": False,
                "eu_not_tax_registered": False,
                "rest_of_world_tax": currency != profile.currency,
                "is_importer": False,
            },
            "email": f"accounts@{reference.lower()}.example",
            "tax_calculation": None,
            "auxiliary_account": None,
            "gdpr_obfuscated": False,
            "system": False,
            "has_unfinished_recurring_invoices": False,
            "is_active": True,
        },
    )
    habit = rng.random()
    info = ContactInfo(
        position=position,
        ref=ref,
        name=name,
        reference=reference,
        kind=kind,
        currency=currency,
        credit_days=credit_days,
        tax_rate_id=tax_rate_id,
        address=address,
        days_late=(
            rng.randrange(-3, 4)
            if habit < 0.55
            else rng.randrange(5, 30)
            if habit < 0.85
            else rng.randrange(30, 90)
        ),
        partial_payer=rng.random() < 0.1,
        never_pays=is_customer and rng.random() < 0.03,
        purchase_role=purchase_role,
    )
    biz.add_contact(info)
    return info


def products_and_services(biz: Business, ts: int, rng: random.Random, products: int, services: int) -> None:
    stamp = iso(ts)
    price_type = make_ref(
        "product_sales_price_types",
        IdCodec(tag_for(biz.seed, biz.number, "price_types")).encode(1),
        "Sales Price",
    )
    rate_type = make_ref(
        "service_rate_types", IdCodec(tag_for(biz.seed, biz.number, "rate_types")).encode(1), "Hourly"
    )
    standard = biz.profile.sales_tax_rates[0]
    for resource, count, names in (("products", products, _PRODUCTS), ("services", services, _SERVICES)):
        collection = biz[resource]
        for i in range(count):
            description = f"{names[i % len(names)]}{'' if i < len(names) else f' Mk{i // len(names) + 1}'}"
            price = (
                Decimal(rng.randrange(500, 30000)) / 100
                if resource == "products"
                else Decimal(rng.randrange(40, 160))
            )
            position, key = collection.reserve()
            ref = make_ref(resource, key, description)
            is_product = resource == "products"
            code = f"{'P' if is_product else 'S'}{i + 1:04d}"
            row: Row = {
                **ref,
                "created_at": stamp,
                "updated_at": stamp,
                "deleted_at": None,
                "deletable": True,
                "deactivatable": True,
                "used_on_recurring_invoice": False,
                "item_code": code,
                "description": description,
                "notes": "",
                "sales_ledger_account": biz.ledger["sales_products" if is_product else "sales_services"],
                "sales_tax_rate": biz.tax_rates[standard][0],
                "purchase_ledger_account": biz.ledger["cost_of_sales" if is_product else "subcontractors"],
                "usual_supplier": None,
                "purchase_tax_rate": biz.tax_rates[biz.profile.purchase_tax_rates[0]][0],
                "cost_price": sage_decimal((price * Decimal("0.55")).quantize(Decimal("0.01"))),
            }
            prices_key, entry = (
                (
                    "sales_prices",
                    {
                        "price_name": "Sales Price",
                        "price": sage_decimal(price),
                        "price_includes_tax": False,
                        "product_sales_price_type": price_type,
                    },
                )
                if is_product
                else (
                    "sales_rates",
                    {
                        "rate_name": "Hourly",
                        "rate": sage_decimal(price),
                        "rate_includes_tax": False,
                        "service_rate_type": rate_type,
                    },
                )
            )
            row[prices_key] = [
                {
                    "id": biz.new_line_id(),
                    "displayed_as": entry.get("price_name") or entry["rate_name"],
                    "created_at": stamp,
                    "updated_at": stamp,
                    **entry,
                }
            ]
            row.update({"source_guid": None, "purchase_description": "", "active": True})
            if is_product:
                row["catalog_item_type"] = make_ref(
                    "catalog_item_types", "PRODUCT", CATALOG_ITEM_TYPES["PRODUCT"]
                )
            collection.put(position, row)
            biz.add_item(
                ItemInfo(
                    resource,
                    position,
                    ref,
                    description,
                    price,
                    "sales_products" if is_product else "sales_services",
                )
            )


def created_timestamp(day: date) -> int:
    """The moment a business's master data was created: nine in the morning of its first day."""
    return int(datetime(day.year, day.month, day.day, 9, tzinfo=UTC).timestamp())
