"""Coherent sets of answers to what Sage leaves undocumented.

The sandbox must answer questions Sage's documentation does not (what a control account is
called, what a refused request looks like...). Any one set of answers is a guess, and a connector
tested against one guess only learns to depend on it: a server written independently from the
same swagger broke ours. So the sandbox speaks dialects. ``default`` is the sandbox's original
set (its books and bodies are unchanged by the existence of the others); ``variant`` makes other,
equally plausible choices everywhere Sage is silent, and nowhere else: both follow the swagger.
Tests load and build on both, so only what the swagger promises can be relied on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sage_sandbox.errors import SageError, Style


@dataclass(frozen=True)
class ErrorShape:
    """How one kind of refusal is answered: status, data code, and body style (``errors.py``)."""

    status: int
    data_code: str
    style: Style = "sage"

    def error(self, message: str, source: str = "") -> SageError:
        return SageError(self.status, self.data_code, message, source, self.style)


@dataclass(frozen=True)
class Dialect:
    name: str
    # The user's role does not allow the request (the swagger's "Access Control Restrictions").
    forbidden: ErrorShape
    # A list the business's country or product does not offer ("Endpoint Availability").
    not_offered: ErrorShape
    # ``X-Business`` names a business that does not exist or is not the user's.
    foreign_business: ErrorShape
    # Ledger role (``books/countries.py``) -> ``control_name``, where it differs from the chart's.
    # ``None``: the account is a control account (``is_control_account``) with no name.
    control_names: Mapping[str, str | None] = field(default_factory=dict)


DEFAULT = Dialect(
    "default",
    forbidden=ErrorShape(403, "InsufficientUserPermission"),
    not_offered=ErrorShape(404, "NotFound"),
    foreign_business=ErrorShape(401, "AuthorizationFailure"),
)

VARIANT = Dialect(
    "variant",
    # One bare object instead of Sage's list, and another data code.
    forbidden=ErrorShape(403, "AccessDenied", "object"),
    # The route is simply not there for this business: the web server's page, not Sage's JSON.
    not_offered=ErrorShape(404, "RouteNotFound", "html"),
    # Refused as a permission problem rather than an authentication one (no token refresh helps).
    foreign_business=ErrorShape(403, "BusinessAccessDenied", "object"),
    control_names={
        "debtors": "CustomerReceivables",
        "creditors": "SupplierPayables",
        "sales_tax": "TaxOnSales",
        "purchase_tax": None,
        "tax_liability": None,
        "retained_earnings": None,
        "exchange_gain_loss": "ForeignExchangeGainLoss",
        "suspense": "SuspenseAccount",
    },
)

DIALECTS = {dialect.name: dialect for dialect in (DEFAULT, VARIANT)}
