"""What differs between a UK and a US business: currency, tax, chart of accounts, banks, year end.

Each ledger account carries a ``role`` the sandbox uses to post (``debtors``, ``sales_tax`` ...);
the API never shows roles, only Sage's own fields: nominal code, ledger account type, control
account flag and control name. Charts are modelled on Sage's UK and US default charts.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class LedgerAccountSpec:
    role: str
    nominal_code: int
    name: str
    type_id: str
    control_name: str | None = None
    visible: tuple[str, ...] = ("journals", "reporting")


@dataclass(frozen=True)
class TaxRateSpec:
    id: str
    name: str
    percentage: Decimal
    agency: str | None = None


@dataclass(frozen=True)
class BankAccountSpec:
    role: str  # the ledger account role it posts to
    name: str
    type_id: str
    payment_method: str


@dataclass(frozen=True)
class CountryProfile:
    code: str
    currency: str
    foreign_currencies: dict[str, Decimal]  # currency -> typical units per base unit
    year_end: tuple[int, int]  # (month, day)
    locale: str
    tax_rates: tuple[TaxRateSpec, ...]
    sales_tax_rates: tuple[str, ...]  # ids used on sales lines, most common first
    purchase_tax_rates: tuple[str, ...]
    chart: tuple[LedgerAccountSpec, ...]
    banks: tuple[BankAccountSpec, ...]
    company_names: tuple[str, ...]
    cities: tuple[tuple[str, str, str], ...]  # (city, region, postcode)
    tax_return_months: int  # VAT quarter (3) or sales-tax month (1)
    recoverable_purchase_tax: bool
    no_tax: str  # the rate for lines outside the tax's scope (wages, loans, transfers of tax)
    exempt: str  # e.g. commercial rent
    reduced: str  # e.g. domestic fuel and power
    export: str  # sales to customers billed in a foreign currency

    def account(self, role: str) -> LedgerAccountSpec:
        return next(a for a in self.chart if a.role == role)


_SALES = ("sales", "reporting", "journals")
_EXPENSE = ("expenses", "other_payments", "reporting", "journals")
_BANKING = ("banking", "reporting", "journals")
_D = Decimal

GB = CountryProfile(
    code="GB",
    currency="GBP",
    foreign_currencies={"EUR": _D("1.16"), "USD": _D("1.27")},
    year_end=(3, 31),
    locale="en-GB",
    tax_rates=(
        TaxRateSpec("GB_STANDARD", "Standard 20.00%", _D("20.0")),
        TaxRateSpec("GB_LOWER", "Lower Rate 5.00%", _D("5.0")),
        TaxRateSpec("GB_ZERO", "Zero Rated 0.00%", _D("0.0")),
        TaxRateSpec("GB_EXEMPT", "Exempt 0.00%", _D("0.0")),
        TaxRateSpec("GB_NO_TAX", "No VAT", _D("0.0")),
    ),
    sales_tax_rates=("GB_STANDARD", "GB_STANDARD", "GB_STANDARD", "GB_LOWER", "GB_ZERO"),
    purchase_tax_rates=("GB_STANDARD", "GB_STANDARD", "GB_ZERO", "GB_EXEMPT"),
    chart=(
        LedgerAccountSpec(
            "office_equipment", 30, "Office Equipment and IT", "FIXED_ASSETS", visible=_EXPENSE
        ),
        LedgerAccountSpec(
            "office_equipment_depreciation", 31, "Office Equipment and IT Depreciation", "FIXED_ASSETS"
        ),
        LedgerAccountSpec("motor_vehicles", 50, "Motor Vehicles", "FIXED_ASSETS", visible=_EXPENSE),
        LedgerAccountSpec("motor_vehicles_depreciation", 51, "Motor Vehicles Depreciation", "FIXED_ASSETS"),
        LedgerAccountSpec("debtors", 1100, "Trade Debtors", "CURRENT_ASSETS", "DEBTORS_CONTROL"),
        LedgerAccountSpec("prepayments", 1103, "Prepayments", "CURRENT_ASSETS"),
        LedgerAccountSpec("bank_current", 1200, "Current", "BANK", visible=_BANKING),
        LedgerAccountSpec("bank_savings", 1210, "Business Savings", "BANK", visible=_BANKING),
        LedgerAccountSpec("bank_cash", 1230, "Petty Cash", "BANK", visible=_BANKING),
        LedgerAccountSpec("bank_card", 1240, "Business Credit Card", "BANK", visible=_BANKING),
        LedgerAccountSpec("creditors", 2100, "Trade Creditors", "CURRENT_LIABILITY", "CREDITORS_CONTROL"),
        LedgerAccountSpec("sales_tax", 2200, "VAT on Sales", "CURRENT_LIABILITY", "SALES_TAX"),
        LedgerAccountSpec("purchase_tax", 2201, "VAT on Purchases", "CURRENT_LIABILITY", "PURCHASE_TAX"),
        LedgerAccountSpec("tax_liability", 2202, "VAT Liability", "CURRENT_LIABILITY", "VAT_LIABILITY"),
        LedgerAccountSpec("payroll_liabilities", 2210, "PAYE and NI", "CURRENT_LIABILITY"),
        LedgerAccountSpec("net_wages", 2220, "Net Wages", "CURRENT_LIABILITY"),
        LedgerAccountSpec("loans", 2300, "Bank Loan", "FUTURE_LIABILITY"),
        LedgerAccountSpec("share_capital", 3000, "Ordinary Shares", "EQUITY"),
        LedgerAccountSpec("retained_earnings", 3200, "Retained Earnings", "EQUITY", "RETAINED_EARNINGS"),
        LedgerAccountSpec("sales_products", 4000, "Sales - Products", "SALES", visible=_SALES),
        LedgerAccountSpec("sales_services", 4010, "Sales - Services", "SALES", visible=_SALES),
        LedgerAccountSpec(
            "other_income", 4900, "Other Income", "OTHER_INCOME", visible=(*_SALES, "other_receipts")
        ),
        LedgerAccountSpec("interest_income", 4920, "Bank Interest Received", "OTHER_INCOME", visible=_SALES),
        LedgerAccountSpec(
            "cost_of_sales", 5000, "Cost of Sales - Goods", "DIRECT_EXPENSES", visible=_EXPENSE
        ),
        LedgerAccountSpec(
            "subcontractors", 5100, "Cost of Sales - Subcontractors", "DIRECT_EXPENSES", visible=_EXPENSE
        ),
        LedgerAccountSpec("wages", 7000, "Gross Wages", "OVERHEADS"),
        LedgerAccountSpec("employer_taxes", 7006, "Employers NI", "OVERHEADS"),
        LedgerAccountSpec("rent", 7100, "Rent and Rates", "OVERHEADS", visible=_EXPENSE),
        LedgerAccountSpec("utilities", 7200, "Electricity and Gas", "OVERHEADS", visible=_EXPENSE),
        LedgerAccountSpec("office_costs", 7500, "Office Stationery", "OVERHEADS", visible=_EXPENSE),
        LedgerAccountSpec("telephone", 7502, "Telephone and Internet", "OVERHEADS", visible=_EXPENSE),
        LedgerAccountSpec(
            "professional_fees", 7600, "Legal and Professional Fees", "OVERHEADS", visible=_EXPENSE
        ),
        LedgerAccountSpec("bank_charges", 7900, "Bank Charges and Interest", "OVERHEADS", visible=_EXPENSE),
        LedgerAccountSpec(
            "exchange_gain_loss", 7906, "Exchange Rate Gains/Losses", "OVERHEADS", "EXCHANGE_GAIN_LOSS"
        ),
        LedgerAccountSpec("depreciation", 8000, "Depreciation", "DEPRECIATION"),
        LedgerAccountSpec("suspense", 9998, "Suspense Account", "CURRENT_LIABILITY", "SUSPENSE"),
    ),
    banks=(
        BankAccountSpec("bank_current", "Current", "CHECKING", "BANK_TRANSFER"),
        BankAccountSpec("bank_savings", "Business Savings", "SAVINGS", "BANK_TRANSFER"),
        BankAccountSpec("bank_cash", "Petty Cash", "CASH_IN_HAND", "CASH"),
        BankAccountSpec("bank_card", "Business Credit Card", "CREDIT_CARD", "CREDIT_DEBIT"),
    ),
    company_names=(
        "Acme Supplies",
        "Brightwater",
        "Castle Joinery",
        "Dovetail Design",
        "Elm Street Bakery",
        "Fenwick & Daughters",
        "Greystone Legal",
        "Harbour Marine",
        "Ironbridge Tools",
        "Juniper Events",
        "Kestrel Print",
        "Larkspur Florists",
        "Millbrook Dairy",
        "Northgate Motors",
        "Oakwood Interiors",
        "Pennine Outdoor",
        "Quayside Coffee",
        "Redbrick Studios",
        "Severn Logistics",
        "Thistle Textiles",
    ),
    cities=(
        ("London", "Greater London", "EC1A 1BB"),
        ("Manchester", "Greater Manchester", "M1 1AE"),
        ("Leeds", "West Yorkshire", "LS1 4DY"),
        ("Bristol", "Bristol", "BS1 4ST"),
        ("Glasgow", "Glasgow City", "G1 1XQ"),
        ("Cardiff", "Cardiff", "CF10 1EP"),
    ),
    tax_return_months=3,
    recoverable_purchase_tax=True,
    no_tax="GB_NO_TAX",
    exempt="GB_EXEMPT",
    reduced="GB_LOWER",
    export="GB_ZERO",
)

US = CountryProfile(
    code="US",
    currency="USD",
    foreign_currencies={"CAD": _D("1.36"), "EUR": _D("0.92")},
    year_end=(12, 31),
    locale="en-US",
    tax_rates=(
        TaxRateSpec("US_CA_STATE", "California State Tax 7.25%", _D("7.25"), "California Department of Tax"),
        TaxRateSpec(
            "US_NY_STATE", "New York State Tax 4.00%", _D("4.0"), "New York State Department of Taxation"
        ),
        TaxRateSpec("US_TX_STATE", "Texas State Tax 6.25%", _D("6.25"), "Texas Comptroller"),
        TaxRateSpec("US_NO_TAX", "No Tax", _D("0.0")),
    ),
    sales_tax_rates=("US_CA_STATE", "US_NY_STATE", "US_TX_STATE", "US_NO_TAX"),
    purchase_tax_rates=("US_NO_TAX",),
    chart=(
        LedgerAccountSpec("bank_current", 1000, "Checking", "BANK", visible=_BANKING),
        LedgerAccountSpec("bank_savings", 1010, "Savings", "BANK", visible=_BANKING),
        LedgerAccountSpec("bank_cash", 1020, "Cash on Hand", "BANK", visible=_BANKING),
        LedgerAccountSpec("bank_card", 1030, "Company Credit Card", "BANK", visible=_BANKING),
        LedgerAccountSpec("debtors", 1100, "Accounts Receivable", "CURRENT_ASSETS", "DEBTORS_CONTROL"),
        LedgerAccountSpec("prepayments", 1300, "Prepaid Expenses", "CURRENT_ASSETS"),
        LedgerAccountSpec("office_equipment", 1500, "Office Equipment", "FIXED_ASSETS", visible=_EXPENSE),
        LedgerAccountSpec(
            "office_equipment_depreciation", 1510, "Accumulated Depreciation - Equipment", "FIXED_ASSETS"
        ),
        LedgerAccountSpec("motor_vehicles", 1520, "Vehicles", "FIXED_ASSETS", visible=_EXPENSE),
        LedgerAccountSpec(
            "motor_vehicles_depreciation", 1530, "Accumulated Depreciation - Vehicles", "FIXED_ASSETS"
        ),
        LedgerAccountSpec("creditors", 2000, "Accounts Payable", "CURRENT_LIABILITY", "CREDITORS_CONTROL"),
        LedgerAccountSpec("sales_tax", 2200, "Sales Tax Payable", "CURRENT_LIABILITY", "SALES_TAX"),
        LedgerAccountSpec(
            "tax_liability", 2205, "Sales Tax Clearing", "CURRENT_LIABILITY", "SALES_TAX_LIABILITY"
        ),
        LedgerAccountSpec("payroll_liabilities", 2210, "Payroll Liabilities", "CURRENT_LIABILITY"),
        LedgerAccountSpec("net_wages", 2220, "Accrued Net Pay", "CURRENT_LIABILITY"),
        LedgerAccountSpec("loans", 2700, "Long-term Loan", "FUTURE_LIABILITY"),
        LedgerAccountSpec("share_capital", 3000, "Common Stock", "EQUITY"),
        LedgerAccountSpec("retained_earnings", 3900, "Retained Earnings", "EQUITY", "RETAINED_EARNINGS"),
        LedgerAccountSpec("sales_products", 4000, "Product Sales", "SALES", visible=_SALES),
        LedgerAccountSpec("sales_services", 4100, "Service Revenue", "SALES", visible=_SALES),
        LedgerAccountSpec(
            "other_income", 4900, "Other Income", "OTHER_INCOME", visible=(*_SALES, "other_receipts")
        ),
        LedgerAccountSpec("interest_income", 4910, "Interest Income", "OTHER_INCOME", visible=_SALES),
        LedgerAccountSpec("cost_of_sales", 5000, "Cost of Goods Sold", "DIRECT_EXPENSES", visible=_EXPENSE),
        LedgerAccountSpec("subcontractors", 5100, "Subcontractors", "DIRECT_EXPENSES", visible=_EXPENSE),
        LedgerAccountSpec("wages", 6000, "Salaries and Wages", "OVERHEADS"),
        LedgerAccountSpec("employer_taxes", 6010, "Payroll Tax Expense", "OVERHEADS"),
        LedgerAccountSpec("rent", 6100, "Rent", "OVERHEADS", visible=_EXPENSE),
        LedgerAccountSpec("utilities", 6200, "Utilities", "OVERHEADS", visible=_EXPENSE),
        LedgerAccountSpec("office_costs", 6300, "Office Supplies", "OVERHEADS", visible=_EXPENSE),
        LedgerAccountSpec("telephone", 6400, "Telephone and Internet", "OVERHEADS", visible=_EXPENSE),
        LedgerAccountSpec("professional_fees", 6500, "Professional Fees", "OVERHEADS", visible=_EXPENSE),
        LedgerAccountSpec("bank_charges", 6600, "Bank Service Charges", "OVERHEADS", visible=_EXPENSE),
        LedgerAccountSpec(
            "exchange_gain_loss", 6800, "Foreign Exchange Gain/Loss", "OVERHEADS", "EXCHANGE_GAIN_LOSS"
        ),
        LedgerAccountSpec("depreciation", 6900, "Depreciation Expense", "DEPRECIATION"),
        LedgerAccountSpec("suspense", 9999, "Suspense", "CURRENT_LIABILITY", "SUSPENSE"),
    ),
    banks=(
        BankAccountSpec("bank_current", "Checking", "CHECKING", "BANK_TRANSFER"),
        BankAccountSpec("bank_savings", "Savings", "SAVINGS", "BANK_TRANSFER"),
        BankAccountSpec("bank_cash", "Cash on Hand", "CASH_IN_HAND", "CASH"),
        BankAccountSpec("bank_card", "Company Credit Card", "CREDIT_CARD", "CREDIT_DEBIT"),
    ),
    company_names=(
        "Apex Hardware",
        "Bluebonnet Catering",
        "Cedar Creek Farms",
        "Delta Freight",
        "Evergreen Dental",
        "Frontier Solar",
        "Golden Gate Print",
        "Hudson Valley Cider",
        "Indigo Labs",
        "Jetstream Aviation",
        "Keystone Builders",
        "Lone Star Lumber",
        "Magnolia Home",
        "Nor'easter Marine",
        "Ozark Outfitters",
        "Pacific Rim Imports",
        "Quarry Stoneworks",
        "Redwood Analytics",
        "Sierra Bikes",
        "Tidewater Seafood",
    ),
    cities=(
        ("San Francisco", "CA", "94105"),
        ("New York", "NY", "10001"),
        ("Austin", "TX", "78701"),
        ("Los Angeles", "CA", "90012"),
        ("Buffalo", "NY", "14202"),
        ("Houston", "TX", "77002"),
    ),
    tax_return_months=1,
    recoverable_purchase_tax=False,
    no_tax="US_NO_TAX",
    exempt="US_NO_TAX",
    reduced="US_NO_TAX",
    export="US_NO_TAX",
)

PROFILES = {"GB": GB, "US": US}
