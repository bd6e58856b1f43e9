"""Money the way Sage handles it: ``Decimal`` inside, Ruby-``BigDecimal``-style strings on the wire.

Real responses carry amounts as JSON strings with no fixed scale: ``"110.0"``, ``"1532.21"``,
``"0.0"`` (Sage's own guides and recorded responses). Formatting them the same way here makes a
client that assumes two decimals, or parses with ``float``, fail against the sandbox as it would
against Sage.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal("0")
CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.000001")


def cents(amount: Decimal) -> Decimal:
    """Round to whole cents, half away from zero, as an invoice total is rounded."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def rate(value: Decimal) -> Decimal:
    """Round an exchange rate to the six places Sage shows."""
    return value.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def sage_decimal(amount: Decimal) -> str:
    """Render a decimal as Sage does: trailing zeros dropped, but always one decimal place."""
    text = str(amount)
    if "E" in text:
        text = format(amount, "f")
    if "." in text:
        text = text.rstrip("0")
        if text.endswith("."):
            text += "0"
    else:
        text += ".0"
    return "0.0" if text == "-0.0" else text


def to_base(amount: Decimal, exchange_rate: Decimal) -> Decimal:
    """Convert a document-currency amount to base currency.

    Sage quotes ``exchange_rate`` as units of the document currency per one unit of the base
    currency ("Currency per Pound Sterling"), so the base amount is ``amount / exchange_rate``.
    """
    if exchange_rate == 1:
        return amount
    return cents(amount / exchange_rate)
