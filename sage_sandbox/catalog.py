"""Every list endpoint the sandbox serves, as Sage's swagger describes it.

``list_params`` and ``sort`` are copied from ``swagger-2.0.0.json`` (``GET /{name}``: its query
parameters other than ``page``/``items_per_page``/``attributes``/``sort``, and the attributes
its ``sort`` description lists), and so are who may call each route (its "Access Control
Restrictions", see ``access.py``) and where Sage offers it (its "Endpoint Availability": the
countries per product). ``tests/sandbox/test_catalog.py`` checks the table against the spec, so it
cannot drift. ``FILTERS`` says how each filtering parameter is answered from index columns;
parameters that only shape the output are listed in ``PRESENTATION_PARAMS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sage_sandbox.access import FULL_ACCESS, READ_ONLY, RESTRICTED_ACCESS, Access, in_any_area, in_every_area
from sage_sandbox.store import IndexSpec

Row = dict[str, Any]

# -- where Sage offers an endpoint: (product, country) pairs ------------------------------------

PRODUCTS = ("Accounting Plus", "Accounting Standard", "Accounting Start")
DEFAULT_PRODUCT = "Accounting Plus"
Availability = frozenset[tuple[str, str]]


def _offered(countries: dict[str, str]) -> Availability:
    return frozenset((product, country) for product, codes in countries.items() for country in codes.split())


_SIX = "CA ES FR GB IE US"
EVERYWHERE = _offered({"Accounting Plus": _SIX, "Accounting Standard": "GB IE", "Accounting Start": _SIX})
# Credit notes are not offered in Spain, but are in every other country by every product.
_NOT_IN_SPAIN = _offered(dict.fromkeys(PRODUCTS, "CA FR IE GB US"))

# -- who may call it: the swagger's "Access Control Restrictions" -------------------------------

_ANY_ROLE = (FULL_ACCESS, READ_ONLY, RESTRICTED_ACCESS)
_READ_OR_FULL = (FULL_ACCESS, READ_ONLY)
SALES = in_every_area(["Sales"], _ANY_ROLE)
PURCHASES = in_every_area(["Purchases"], _ANY_ROLE)
BANK = in_every_area(["Bank"], _ANY_ROLE)
JOURNALS = in_every_area(["Journals"], _READ_OR_FULL)
SETTINGS = in_any_area({"Settings": _READ_OR_FULL})
# Allocations change both ledgers and the contact: Full Access in all three areas.
ALLOCATIONS = in_every_area(["Sales", "Purchases", "Contacts"], [FULL_ACCESS])
_TRADING = {"Sales": _ANY_ROLE, "Purchases": _ANY_ROLE}
CONTACT_LIST = in_any_area({"Contacts": _ANY_ROLE, **_TRADING})
CONTACT_ITEM = in_any_area({"Contacts": _ANY_ROLE, **_TRADING, "Bank": _ANY_ROLE})  # one area more
ITEMS = in_any_area({"Products & Services": _ANY_ROLE, **_TRADING})
STATUSES = in_any_area(_TRADING)
TAX_RATES = in_any_area({**_TRADING, "Bank": _ANY_ROLE, "Settings": _READ_OR_FULL})
LEDGER = in_any_area(
    {
        **_TRADING,
        "Products & Services": _ANY_ROLE,
        "Contacts": _ANY_ROLE,
        "Bank": _ANY_ROLE,
        "Journals": _ANY_ROLE,
        "Settings": _READ_OR_FULL,
    }
)


@dataclass(frozen=True)
class Endpoint:
    """One ``GET /{name}`` collection and its ``GET /{name}/{key}`` item route."""

    name: str
    model: str
    list_params: tuple[str, ...]
    sort: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    item_params: tuple[str, ...] = ("attributes",)
    reference: bool = False
    # Parameters the spec lists that do not select rows here (``/ledger_accounts`` uses
    # ``from_date``/``to_date`` as the window of its balance details).
    not_row_filters: tuple[str, ...] = ()
    access: Access | None = None  # ``GET /{name}``; None: any user of the business
    item_access: Access | None = None  # ``GET /{name}/{key}`` (``_e`` copies ``access``)
    availability: Availability = EVERYWHERE

    @property
    def has_deleted_since(self) -> bool:
        return "deleted_since" in self.list_params

    @property
    def has_payments_allocations(self) -> bool:
        return "show_payments_allocations" in self.list_params


_DOC_PARAMS = (
    "show_payments_allocations",
    "search",
    "contact_id",
    "status_id",
    "from_date",
    "to_date",
    "updated_or_created_since",
    "deleted_since",
    "has_attachments",
)
_QUICK_PARAMS = (
    "contact_id",
    "search",
    "status_id",
    "from_date",
    "to_date",
    "updated_or_created_since",
    "deleted_since",
    "show_payments_allocations",
    "has_attachments",
)
_DOC_SEARCH = ("reference", "contact_name", "displayed_as")
_ALLOC = ("show_payments_allocations", "nested_attributes", "show_analysis_types", "attributes")


def _e(name: str, model: str, params: tuple[str, ...], sort: tuple[str, ...] = (), **kw: Any) -> Endpoint:
    kw.setdefault("item_access", kw.get("access"))
    return Endpoint(name, model, params, sort, **kw)


ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in (
        _e(
            "contacts",
            "Contact",
            (
                "updated_or_created_since",
                "deleted_since",
                "contact_type_id",
                "exclude_system",
                "nested_attributes",
                "show_balance",
                "context_date",
                "search",
                "email",
                "show_unfinished_recurring_invoices_status",
                "filter_inactive_contacts",
            ),
            search=("name", "reference"),
            item_params=(
                "nested_attributes",
                "show_balance",
                "context_date",
                "show_unfinished_recurring_invoices_status",
                "attributes",
            ),
            access=CONTACT_LIST,
            item_access=CONTACT_ITEM,
        ),
        _e(
            "ledger_accounts",
            "LedgerAccount",
            (
                "updated_or_created_since",
                "visible_in",
                "not_visible_in",
                "show_included_in_chart",
                "show_control_accounts",
                "ledger_account_classification_id",
                "show_balance_details",
                "exclude_deleted_entries",
                "from_date",
                "to_date",
                "search",
                "sort_order_from_user_setting",
                "filter_inactive_bank_accounts",
                "ledger_account_type_id",
            ),
            search=("name", "display_name", "nominal_code"),
            not_row_filters=("from_date", "to_date"),
            item_params=(
                "nested_attributes",
                "show_balance_details",
                "exclude_deleted_entries",
                "from_date",
                "to_date",
                "attributes",
            ),
            access=LEDGER,
        ),
        _e(
            "tax_rates",
            "TaxRate",
            (
                "updated_or_created_since",
                "usage",
                "address_region_id",
                "date",
                "include_historical_data",
                "include_destination_vat_rates",
                "cis_only",
            ),
            item_params=("date", "attributes"),
            access=TAX_RATES,
        ),
        _e(
            "bank_accounts",
            "BankAccount",
            (
                "updated_or_created_since",
                "deleted_since",
                "nested_attributes",
                "exclude_stripe",
                "filter_inactive_bank_accounts",
                "appName",
            ),
            item_params=("nested_attributes", "attributes"),
            access=BANK,
        ),
        _e(
            "bank_transfers",
            "BankTransfer",
            ("updated_or_created_since", "deleted_since", "from_date", "to_date"),
            ("created_at", "updated_at", "date"),
            item_params=("nested_attributes", "attributes"),
            access=BANK,
        ),
        _e(
            "bank_deposits",
            "BankDeposit",
            ("updated_or_created_since", "deleted_since", "from_date", "to_date"),
            ("created_at", "updated_at", "date"),
            item_params=("nested_attributes", "attributes"),
            access=BANK,
        ),
        _e(
            "sales_invoices",
            "SalesInvoice",
            _DOC_PARAMS,
            ("created_at", "updated_at", "date", "due_date"),
            search=_DOC_SEARCH,
            item_params=(
                "show_payments_allocations",
                "show_corrections",
                "nested_attributes",
                "mark_as_sent",
                "show_recurring_invoice",
                "show_analysis_types",
                "attributes",
            ),
            access=SALES,
        ),
        _e(
            "sales_credit_notes",
            "SalesCreditNote",
            _DOC_PARAMS,
            ("created_at", "updated_at", "date"),
            search=_DOC_SEARCH,
            item_params=(
                "show_payments_allocations",
                "nested_attributes",
                "mark_as_sent",
                "show_analysis_types",
                "attributes",
            ),
            access=SALES,
            availability=_NOT_IN_SPAIN,
        ),
        _e(
            "sales_quick_entries",
            "QuickEntry",
            _QUICK_PARAMS,
            ("created_at", "updated_at", "date"),
            search=_DOC_SEARCH,
            item_params=_ALLOC,
            access=SALES,
        ),
        _e(
            "purchase_invoices",
            "PurchaseInvoice",
            _DOC_PARAMS,
            ("created_at", "updated_at", "date", "due_date"),
            search=_DOC_SEARCH,
            item_params=(
                "show_payments_allocations",
                "show_corrections",
                "nested_attributes",
                "show_analysis_types",
                "attributes",
            ),
            access=PURCHASES,
        ),
        _e(
            "purchase_credit_notes",
            "PurchaseCreditNote",
            _DOC_PARAMS,
            ("created_at", "updated_at", "date"),
            search=_DOC_SEARCH,
            item_params=_ALLOC,
            access=PURCHASES,
            availability=_NOT_IN_SPAIN,
        ),
        _e(
            "purchase_quick_entries",
            "PurchaseQuickEntry",
            _QUICK_PARAMS,
            ("created_at", "updated_at", "date"),
            search=_DOC_SEARCH,
            item_params=_ALLOC,
            access=PURCHASES,
        ),
        _e(
            "contact_payments",
            "ContactPayment",
            (
                "contact_id",
                "bank_account_id",
                "transaction_type_id",
                "updated_or_created_since",
                "deleted_since",
                "from_date",
                "to_date",
            ),
            ("created_at", "updated_at", "date"),
            access=BANK,
        ),
        _e(
            "contact_allocations",
            "ContactAllocation",
            ("contact_id", "transaction_type_id", "updated_or_created_since", "deleted_since"),
            ("created_at", "updated_at", "date"),
            access=ALLOCATIONS,
        ),
        _e(
            "other_payments",
            "OtherPayment",
            (
                "bank_account_id",
                "contact_id",
                "deleted_since",
                "from_date",
                "has_attachments",
                "to_date",
                "transaction_type_id",
                "updated_or_created_since",
            ),
            ("created_at", "updated_at", "date"),
            item_params=("nested_attributes", "show_analysis_types", "attributes"),
            access=BANK,
        ),
        _e(
            "journals",
            "Journal",
            ("updated_or_created_since", "deleted_since"),
            item_params=("nested_attributes", "show_analysis_types", "attributes"),
            access=JOURNALS,
        ),
        _e(
            "transactions",
            "Transaction",
            (
                "updated_or_created_since",
                "from_date",
                "to_date",
                "updated_from_date",
                "updated_to_date",
                "has_attachments",
                "transaction_type_id",
            ),
            item_params=("expand_origin", "attributes"),
            access=JOURNALS,
        ),
        _e(
            "ledger_entries",
            "LedgerEntry",
            (
                "from_date",
                "to_date",
                "transaction_id",
                "transaction_type_id",
                "journal_code_id",
                "updated_or_created_since",
                "ledger_account_id",
            ),
            item_params=("nested_attributes", "attributes"),
            access=JOURNALS,
        ),
        _e(
            "products",
            "Product",
            ("search", "updated_or_created_since", "deleted_since", "active"),
            search=("item_code", "description"),
            access=ITEMS,
        ),
        _e(
            "services",
            "Service",
            ("search", "updated_or_created_since", "deleted_since", "active"),
            search=("item_code", "description"),
            access=ITEMS,
        ),
        # Reference lists: the same ids in every business of a country; Base model only.
        _e("currencies", "Base", (), reference=True),
        _e("transaction_types", "Base", ("valid_for_business",), reference=True),
        _e("artefact_statuses", "Base", (), reference=True, access=STATUSES),
        _e("ledger_account_types", "Base", ("ledger_account_classification_id",), reference=True),
        _e("ledger_account_classifications", "Base", ("ledger_account_type_id",), reference=True),
        _e("payment_methods", "Base", (), reference=True),
        _e("bank_account_types", "Base", (), reference=True),
        _e("contact_types", "Base", (), reference=True),
        _e("tax_types", "TaxType", (), reference=True),
        _e("countries", "Base", (), reference=True),
    )
}

# Singletons: ``GET /financial_settings`` answers one object, no envelope, no paging.
SINGLETONS = {"financial_settings": "FinancialSettings"}
_SINGLETON_RULES = {"financial_settings": (SETTINGS, EVERYWHERE)}


def route_rules(name: str, item: bool = False) -> tuple[Access | None, Availability]:
    """Who may call ``GET /{name}`` (``item``: ``GET /{name}/{key}``), and where Sage offers it."""
    if name in _SINGLETON_RULES:
        return _SINGLETON_RULES[name]
    endpoint = ENDPOINTS[name]
    return (endpoint.item_access if item else endpoint.access), endpoint.availability


# Extractors are small classes rather than closures so that books can be pickled (snapshots).
@dataclass(frozen=True)
class RefId:
    """The id of a reference field: ``row["contact"]["id"]``."""

    field: str

    def __call__(self, row: Row) -> Any:
        value = row.get(self.field)
        return value.get("id") if isinstance(value, dict) else None


@dataclass(frozen=True)
class Field:
    field: str

    def __call__(self, row: Row) -> Any:
        return row.get(self.field)


@dataclass(frozen=True)
class RefIds:
    """The ids of a list of references: ``[t["id"] for t in row["contact_types"]]``."""

    field: str

    def __call__(self, row: Row) -> Any:
        return [item["id"] for item in row.get(self.field) or ()]


@dataclass(frozen=True)
class SearchText:
    """The text ``search`` matches against."""

    fields: tuple[str, ...]

    def __call__(self, row: Row) -> str:
        return " ".join(str(row.get(f) or "") for f in self.fields)


_VISIBLE_AREAS = ("sales", "banking", "expenses", "other_payments", "other_receipts", "journals", "reporting")


def _visible_areas(row: Row) -> list[str]:
    return [area for area in _VISIBLE_AREAS if row.get(f"visible_in_{area}")]


# Filtering parameters -> the index column that answers them. Range filters (dates, timestamps)
# are answered by columns every collection has (``date`` where listed, created/updated).
FILTERS: dict[str, IndexSpec] = {
    "contact_id": IndexSpec("contact", "key", RefId("contact")),
    "bank_account_id": IndexSpec("bank_account", "code", RefId("bank_account")),
    "ledger_account_id": IndexSpec("ledger_account", "code", RefId("ledger_account")),
    "transaction_id": IndexSpec("transaction", "key", RefId("transaction")),
    "status_id": IndexSpec("status", "code", RefId("status")),
    "transaction_type_id": IndexSpec("transaction_type", "code", RefId("transaction_type")),
    "journal_code_id": IndexSpec("journal_code", "code", RefId("journal_code")),
    "ledger_account_type_id": IndexSpec("ledger_account_type", "code", RefId("ledger_account_type")),
    "ledger_account_classification_id": IndexSpec(
        "ledger_account_classification", "code", RefId("ledger_account_classification")
    ),
    "contact_type_id": IndexSpec("contact_types", "bits", RefIds("contact_types")),
    "email": IndexSpec("email", "key", Field("email")),
    "active": IndexSpec("active", "flag", Field("active")),
    "visible_in": IndexSpec("visible_in", "bits", _visible_areas),
    "from_date": IndexSpec("date", "date", Field("date")),
}
FILTERS["to_date"] = FILTERS["from_date"]
FILTERS["not_visible_in"] = FILTERS["visible_in"]

# Accepted (the spec lists them) but they change presentation or concern features the sandbox's
# books do not have (stripe, CIS, destination VAT, recurring invoices, analysis types...).
PRESENTATION_PARAMS = frozenset(
    {
        "show_payments_allocations",
        "nested_attributes",
        "show_balance",
        "context_date",
        "exclude_system",
        "show_unfinished_recurring_invoices_status",
        "filter_inactive_contacts",
        "show_included_in_chart",
        "show_control_accounts",
        "show_balance_details",
        "exclude_deleted_entries",
        "sort_order_from_user_setting",
        "filter_inactive_bank_accounts",
        "exclude_stripe",
        "appName",
        "usage",
        "address_region_id",
        "date",
        "include_historical_data",
        "include_destination_vat_rates",
        "cis_only",
        "valid_for_business",
    }
)
# Answered without a column: change feeds, attachment presence (the sandbox's books have none).
SPECIAL_PARAMS = frozenset(
    {
        "updated_or_created_since",
        "deleted_since",
        "updated_from_date",
        "updated_to_date",
        "search",
        "has_attachments",
    }
)


def index_specs(endpoint: Endpoint) -> list[IndexSpec]:
    """The index columns a collection for ``endpoint`` needs, one per filtering parameter."""
    specs: dict[str, IndexSpec] = {}
    for param in endpoint.list_params:
        spec = FILTERS.get(param)
        if spec is not None and param not in endpoint.not_row_filters:
            specs[spec.column] = spec
    # ``sort`` needs the dates as columns even where no filter reads them.
    if "date" in endpoint.sort:
        specs["date"] = FILTERS["from_date"]
    if "due_date" in endpoint.sort:
        specs["due_date"] = IndexSpec("due_date", "date", Field("due_date"))
    return list(specs.values())


def search_text(endpoint: Endpoint) -> Callable[[Row], str] | None:
    return SearchText(endpoint.search) if endpoint.search else None
