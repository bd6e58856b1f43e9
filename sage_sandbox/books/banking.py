"""Money in and out of bank accounts that is not a contact payment: other payments and receipts,
transfers between the business's own accounts, deposits of cash, and journals.

Sage keeps these in base currency only (no currency fields on their models), so their ledger
amounts are their document amounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sage_sandbox.books.business import BankInfo, Business, ContactInfo, Row, make_ref
from sage_sandbox.books.posting import Leg, Posting, new_document, save_posted
from sage_sandbox.books.reference import PAYMENT_METHODS
from sage_sandbox.money import ZERO, cents, sage_decimal


@dataclass(frozen=True)
class PaymentLine:
    ledger_role: str
    details: str
    net: Decimal
    tax_rate_id: str


def other_payment(
    biz: Business,
    *,
    receipt: bool,
    bank: BankInfo,
    date: str,
    ts: int,
    lines: list[PaymentLine],
    reference: str,
    contact: ContactInfo | None = None,
) -> int:
    """An other payment (money out, lines debited) or other receipt (money in, lines credited)."""
    sign = -1 if receipt else 1  # +1: lines are debits
    tax_role = "sales_tax" if receipt else "purchase_tax"
    document = new_document(biz, "other_payments", reference)
    legs: list[Leg] = []
    line_rows: list[Row] = []
    net_total = tax_total = ZERO
    for line in lines:
        tax_rate, percentage = biz.tax_rates[line.tax_rate_id]
        tax = cents(line.net * percentage / 100)
        net_total += line.net
        tax_total += tax
        legs.append(
            Leg.signed(line.ledger_role, sign * line.net, description=line.details, tax_rate=tax_rate)
        )
        if tax:
            legs.append(
                Leg.signed(tax_role, sign * tax, description=tax_rate["displayed_as"], tax_rate=tax_rate)
            )
        line_rows.append(
            {
                "id": biz.new_line_id(),
                "displayed_as": line.details,
                "ledger_account": biz.ledger[line.ledger_role],
                "details": line.details,
                "tax_rate": tax_rate,
                "net_amount": sage_decimal(line.net),
                "tax_amount": sage_decimal(tax),
                "total_amount": sage_decimal(line.net + tax),
                "tax_breakdown": [],
                "is_purchase_for_resale": False,
                "trade_of_asset": False,
            }
        )
    total = net_total + tax_total
    contact_ref = contact.ref if contact else None
    legs.insert(0, Leg.signed(bank.role, -sign * total, description=reference, contact=contact_ref))
    save_posted(
        biz,
        document,
        Posting(
            transaction_type="OTHER_RECEIPT" if receipt else "OTHER_PAYMENT",
            date=date,
            ts=ts,
            legs=legs,
            contact=contact_ref,
            total_in_transaction_currency=total,
        ),
        fields={
            "payment_method": make_ref(
                "payment_methods", bank.payment_method, PAYMENT_METHODS[bank.payment_method]
            ),
            "contact": contact_ref,
            "bank_account": bank.ref,
            "date": date,
            "net_amount": sage_decimal(net_total),
            "tax_amount": sage_decimal(tax_total),
            "total_amount": sage_decimal(total),
            "reference": reference,
            "payment_lines": line_rows,
            "editable": True,
            "deletable": True,
        },
    )
    return document.position


def bank_transfer(
    biz: Business,
    *,
    source: BankInfo,
    target: BankInfo,
    amount: Decimal,
    date: str,
    ts: int,
    description: str,
) -> int:
    """Move money between two of the business's bank accounts (nets to zero across accounts)."""
    document = new_document(biz, "bank_transfers", series="TRF")
    save_posted(
        biz,
        document,
        Posting(
            transaction_type="BANK_TRANSFER",
            date=date,
            ts=ts,
            legs=[
                Leg(target.role, debit=amount, description=description),
                Leg(source.role, credit=amount, description=description),
            ],
        ),
        fields={
            "from_bank_account": source.ref,
            "to_bank_account": target.ref,
            "date": date,
            "reference": document.reference,
            "amount": sage_decimal(amount),
            "description": description,
        },
    )
    return document.position


def bank_deposit(
    biz: Business, *, source: BankInfo, target: BankInfo, cash: Decimal, cheques: Decimal, date: str, ts: int
) -> int:
    """Pay cash and cheques held in a cash-in-hand account into a bank account."""
    document = new_document(biz, "bank_deposits", series="DEP")
    total = cash + cheques
    save_posted(
        biz,
        document,
        Posting(
            transaction_type="BANK_DEPOSIT",
            date=date,
            ts=ts,
            legs=[
                Leg(target.role, debit=total, description=document.reference),
                Leg(source.role, credit=total, description=document.reference),
            ],
        ),
        fields={
            "from_bank_account": source.ref,
            "to_bank_account": target.ref,
            "date": date,
            "reference": document.reference,
            "cash_amount": sage_decimal(cash),
            "cheque_amount": sage_decimal(cheques),
            "total_amount": sage_decimal(total),
        },
    )
    return document.position


@dataclass(frozen=True)
class JournalLine:
    ledger_role: str
    details: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO


def journal(
    biz: Business, *, date: str, ts: int, reference: str, description: str, lines: list[JournalLine]
) -> int:
    """A manual journal (payroll, depreciation, tax return): lines straight to the ledger."""
    document = new_document(biz, "journals", reference)
    save_posted(
        biz,
        document,
        Posting(
            transaction_type="JOURNAL",
            date=date,
            ts=ts,
            legs=[
                Leg(line.ledger_role, debit=line.debit, credit=line.credit, description=line.details)
                for line in lines
            ],
        ),
        fields={
            "date": date,
            "reference": reference,
            "description": description,
            "total": sage_decimal(sum((line.debit for line in lines), ZERO)),
            "journal_code": None,
            "journal_lines": [
                {
                    "id": biz.new_line_id(),
                    "ledger_account": biz.ledger[line.ledger_role],
                    "details": line.details,
                    "debit": sage_decimal(line.debit),
                    "credit": sage_decimal(line.credit),
                    "include_on_tax_return": False,
                    "tax_reconciled": False,
                    "cleared": False,
                    "bank_reconciled": False,
                    "journal_line_foreign_currency": None,
                }
                for line in lines
            ],
            "migrated": False,
        },
    )
    return document.position
