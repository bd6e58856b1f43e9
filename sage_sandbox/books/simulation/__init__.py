"""A small business's life, one day at a time.

The same :class:`Simulator` writes the two years of history when the sandbox starts and moves the
books forward when a test calls ``advance``: customers are invoiced and pay (on time, late, in
part, or never), suppliers bill and are paid, rent, payroll, tax returns, depreciation, card
bills, cash deposits and savings sweeps happen on their days, and documents are edited, voided
and deleted. Everything is drawn from one seeded ``random.Random`` per business, consumed in a
fixed order, so the same seed and the same calls give the same books.

Volumes are fractions per day (``invoices_per_day``) accumulated exactly, so a history of ``N``
invoices over ``D`` days has exactly ``N`` invoices.

Its parts, one module each, share a :class:`~.context.Context` (the books, the dice, the clock):

- ``simulator`` — the day, in order: the calendar, new documents, settlements, corrections, month end;
- ``sales``, ``purchases`` — the documents written (``credits``: credit notes, for both sides);
- ``settlements`` — who pays what on which day, and the payments;
- ``routine`` — what happens on set days (bills, transfers, counter sales); ``month_end``, ``taxes``;
- ``corrections`` — edits, voids and deletes.
"""

from sage_sandbox.books.simulation.simulator import Simulator

# Lists a business can lack (``Business.unavailable``) with its books still whole: their documents
# are simply never written (a credit note is then never raised, so never allocated either), and
# without ``contact_allocations`` credit notes stay open instead of being allocated.
OPTIONAL_LISTS = frozenset(
    {"sales_credit_notes", "purchase_credit_notes", "sales_quick_entries", "purchase_quick_entries"}
    | {"contact_allocations"}
)

__all__ = ["OPTIONAL_LISTS", "Simulator"]
