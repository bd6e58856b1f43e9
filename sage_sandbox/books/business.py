"""One Sage business: identity, one collection per endpoint, and the lookups documents need.

Documents refer to other rows by ``{"id", "displayed_as", "$path"}``; :meth:`Business.ref` builds
those from a collection position, so every reference the API sends points at a row that exists.
"""

from __future__ import annotations

import time
from array import array
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sage_sandbox.books.countries import CountryProfile
from sage_sandbox.books.reference import COUNTRIES
from sage_sandbox.catalog import DEFAULT_PRODUCT, ENDPOINTS, index_specs, search_text
from sage_sandbox.ids import IdCodec, tag_for
from sage_sandbox.store import Collection
from sage_sandbox.store.collection import DEFAULT_OPEN_ROWS

Row = dict[str, Any]
Ref = dict[str, Any]

# Rows each collection keeps uncompressed: artefacts are rewritten when they are paid, weeks
# after they are written (sales invoices up to a few months late); the rest rarely change.
OPEN_ROWS = {
    "sales_invoices": 65_536,
    "purchase_invoices": 32_768,
    "sales_credit_notes": 16_384,
    "sales_quick_entries": 16_384,
    "purchase_credit_notes": 16_384,
    "purchase_quick_entries": 16_384,
}


@lru_cache(maxsize=65536)
def iso(ts: int) -> str:
    """A Sage timestamp: whole seconds, UTC, ``Z`` (cached: many rows share a second)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def make_ref(resource: str, key: str, displayed_as: str | None) -> Ref:
    return {"id": key, "displayed_as": displayed_as, "$path": f"/{resource}/{key}"}


@dataclass
class ContactInfo:
    """What the simulation needs to know about a contact without decoding its row."""

    position: int
    ref: Ref
    name: str
    reference: str
    kind: str  # CUSTOMER or VENDOR
    currency: str
    credit_days: int
    tax_rate_id: str
    address: Row
    days_late: int = 0  # customers: how late they usually pay
    partial_payer: bool = False
    never_pays: bool = False
    purchase_role: str | None = None  # suppliers: the ledger account their bills go to


@dataclass
class BankInfo:
    position: int
    ref: Ref
    role: str  # the ledger account role it posts to
    type_id: str
    payment_method: str


@dataclass
class ItemInfo:
    """A product or service a line can sell."""

    resource: str  # products | services
    position: int
    ref: Ref
    description: str
    price: Decimal
    ledger_role: str


@dataclass
class Business:
    number: int
    seed: int
    profile: CountryProfile
    name: str
    created_ts: int
    owner_id: str
    product: str = DEFAULT_PRODUCT  # Accounting Plus, Standard or Start: with the country, what it offers
    unavailable: frozenset[str] = frozenset()  # lists it does not offer: 404, and no such documents
    id: str = ""
    collections: dict[str, Collection] = field(default_factory=dict)
    financial_settings: Row = field(default_factory=dict)
    ledger: dict[str, Ref] = field(default_factory=dict)  # role -> ledger account ref
    ledger_role_of: dict[str, str] = field(default_factory=dict)  # ledger account id -> role
    tax_rates: dict[str, tuple[Ref, Decimal]] = field(default_factory=dict)
    banks: dict[str, BankInfo] = field(default_factory=dict)  # role -> bank account
    contacts: list[ContactInfo] = field(default_factory=list)
    contact_index: dict[str, int] = field(default_factory=dict)  # contact id -> index in contacts
    items: list[ItemInfo] = field(default_factory=list)
    item_by_id: dict[str, ItemInfo] = field(default_factory=dict)
    balances: dict[str, Decimal] = field(default_factory=dict)  # ledger role -> debit - credit
    counters: dict[str, int] = field(default_factory=dict)  # document numbering

    def __post_init__(self) -> None:
        self.id = IdCodec(tag_for(self.seed, "businesses")).encode(self.number)
        self._line_codec = IdCodec(tag_for(self.seed, self.number, "lines"))
        self._lines = 0
        for name, endpoint in ENDPOINTS.items():
            codec = IdCodec(tag_for(self.seed, self.number, name))
            window = OPEN_ROWS.get(name, DEFAULT_OPEN_ROWS)
            self.collections[name] = Collection(
                name, codec, index_specs(endpoint), search_text(endpoint), window
            )
        # Ledger entries of transaction t are positions [start, start + count) of ledger_entries.
        self.entries_start = array("q")
        self.entries_count = array("i")

    @property
    def currency(self) -> str:
        return self.profile.currency

    def __getitem__(self, resource: str) -> Collection:
        return self.collections[resource]

    def add_contact(self, contact: ContactInfo) -> None:
        self.contact_index[contact.ref["id"]] = len(self.contacts)
        self.contacts.append(contact)

    def contact(self, contact_id: str) -> ContactInfo:
        return self.contacts[self.contact_index[contact_id]]

    def add_item(self, item: ItemInfo) -> None:
        self.items.append(item)
        self.item_by_id[item.ref["id"]] = item

    def new_line_id(self) -> str:
        """An id for a nested item (invoice line, allocation) that has no endpoint of its own."""
        self._lines += 1
        return self._line_codec.encode(self._lines)

    def next_number(self, series: str) -> int:
        self.counters[series] = self.counters.get(series, 0) + 1
        return self.counters[series]

    def post_balance(self, role: str, amount: Decimal) -> None:
        self.balances[role] = self.balances.get(role, Decimal(0)) + amount

    def year_end_after(self, day: date) -> date:
        """The end of the financial year containing ``day``."""
        month, dom = self.profile.year_end
        end = date(day.year, month, dom)
        return end if end >= day else date(day.year + 1, month, dom)

    def business_row(self) -> Row:
        """This business as ``GET /businesses/{id}`` shows it (users & businesses spec)."""
        city, region, postcode = self.profile.cities[self.number % len(self.profile.cities)]
        created = iso(self.created_ts)
        return {
            "created_at": created,
            "updated_at": created,
            "displayed_as": self.name,
            "id": self.id,
            "$path": f"/businesses/{self.id}",
            "name": self.name,
            "address_line_1": f"{10 + self.number} Market Street",
            "address_line_2": None,
            "city": city,
            "postal_code": postcode,
            "country": {"id": self.profile.code, "displayed_as": _country_name(self.profile.code)},
            "region": region,
            "telephone": "01632 960" + str(100 + self.number) if self.profile.code == "GB" else "555-0100",
            "mobile": None,
            "website": None,
            "is_demo": False,
            "ni_based": False,
            "subscriptions": [
                {
                    "created_at": created,
                    "updated_at": created,
                    "displayed_as": "Accounting",
                    "id": IdCodec(tag_for(self.seed, "subscriptions")).encode(self.number),
                    "active": True,
                    "status": "active",
                }
            ],
        }


def _country_name(code: str) -> str:
    return COUNTRIES[code].rsplit(" (", 1)[0]
