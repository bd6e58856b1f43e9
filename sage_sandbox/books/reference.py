"""Sage's fixed reference lists (ids as the API uses them) and their display names.

Ids follow Sage's own: ``SALES_INVOICE``, ``UNPAID``, ``OVERHEADS``, ``CHECKING``, ``GB_STANDARD``
(seen in Sage's guides, recorded responses and a production client's constants).
"""

from __future__ import annotations

CURRENCIES = {
    "GBP": "Pound Sterling",
    "USD": "US Dollar",
    "EUR": "Euro",
    "CAD": "Canadian Dollar",
}

COUNTRIES = {
    "GB": "United Kingdom (GB)",
    "US": "United States (US)",
    "IE": "Ireland (IE)",
    "FR": "France (FR)",
    "DE": "Germany (DE)",
    "CA": "Canada (CA)",
}

TRANSACTION_TYPES = {
    "SALES_INVOICE": "Sales Invoice",
    "SALES_CREDIT_NOTE": "Sales Credit Note",
    "SALES_QUICK_ENTRY_INVOICE": "Sales QE Invoice",
    "SALES_QUICK_ENTRY_CREDIT_NOTE": "Sales QE Credit Note",
    "PURCHASE_INVOICE": "Purchase Invoice",
    "PURCHASE_CREDIT_NOTE": "Purchase Credit Note",
    "PURCHASE_QUICK_ENTRY_INVOICE": "Purchase QE Invoice",
    "PURCHASE_QUICK_ENTRY_CREDIT_NOTE": "Purchase QE Credit Note",
    "CUSTOMER_RECEIPT": "Customer Receipt",
    "CUSTOMER_REFUND": "Customer Refund",
    "VENDOR_PAYMENT": "Supplier Payment",
    "VENDOR_REFUND": "Supplier Refund",
    "CUSTOMER_ALLOCATION": "Customer Allocation",
    "VENDOR_ALLOCATION": "Supplier Allocation",
    "OTHER_RECEIPT": "Other Receipt",
    "OTHER_PAYMENT": "Other Payment",
    "BANK_TRANSFER": "Bank Transfer",
    "BANK_DEPOSIT": "Bank Deposit",
    "JOURNAL": "Journal",
    "CORRECTION": "Correction",
}

ARTEFACT_STATUSES = {
    "DRAFT": "Draft",
    "PRO_FORMA": "Pro-Forma",
    "UNPAID": "Unpaid",
    "PART_PAID": "Part Paid",
    "PAID": "Paid",
    "VOID": "Void",
}

LEDGER_ACCOUNT_TYPES = {
    "SALES": "Sales",
    "OTHER_INCOME": "Other Income",
    "DIRECT_EXPENSES": "Direct Expenses",
    "OVERHEADS": "Overheads",
    "DEPRECIATION": "Depreciation",
    "CURRENT_ASSETS": "Current Assets",
    "FIXED_ASSETS": "Fixed Assets",
    "FUTURE_ASSETS": "Future Assets",
    "BANK": "Bank",
    "CURRENT_LIABILITY": "Current Liability",
    "FUTURE_LIABILITY": "Future Liability",
    "EQUITY": "Equity",
    "LINE_OF_CREDIT": "Line of Credit",
}

PAYMENT_METHODS = {
    "BANK_TRANSFER": "Bank Transfer",
    "CASH": "Cash",
    "CHECK": "Cheque",
    "CREDIT_DEBIT": "Credit/Debit Card",
}

BANK_ACCOUNT_TYPES = {
    "CHECKING": "Current",
    "SAVINGS": "Savings",
    "CREDIT_CARD": "Credit Card",
    "CASH_IN_HAND": "Cash in Hand",
    "LOAN": "Loan",
    "OTHER": "Other",
}

CONTACT_TYPES = {"CUSTOMER": "Customer", "VENDOR": "Supplier"}

QUICK_ENTRY_TYPES = {"INVOICE": "Invoice", "CREDIT_NOTE": "Credit Note"}

CATALOG_ITEM_TYPES = {"PRODUCT": "Non-stock", "SERVICE": "Service"}

# ``PaymentAllocation.type``: how a document was settled.
ALLOCATION_TYPES = {"CUSTOMER_RECEIPT", "VENDOR_PAYMENT", "CUSTOMER_ALLOCATION", "VENDOR_ALLOCATION"}
