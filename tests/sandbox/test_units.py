"""Small pieces with exact contracts: id encoding, money formatting, filter timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from sage_sandbox.errors import SageError
from sage_sandbox.ids import IdCodec, tag_for
from sage_sandbox.money import cents, sage_decimal, to_base
from sage_sandbox.query import parse_timestamp


def test_ids_look_like_sage_guids_and_decode_back() -> None:
    codec = IdCodec(tag_for(1, 1, "sales_invoices"))
    ids = [codec.encode(p) for p in range(2000)]
    assert len(set(ids)) == 2000
    assert all(len(i) == 32 and int(i, 16) >= 0 and i == i.lower() for i in ids)
    assert [codec.decode(i) for i in ids] == list(range(2000))
    assert len({i[:6] for i in ids}) > 1900, "ids do not share a visible prefix"


def test_ids_of_another_collection_or_garbage_do_not_decode() -> None:
    invoices, contacts = IdCodec(tag_for(1, 1, "sales_invoices")), IdCodec(tag_for(1, 1, "contacts"))
    assert invoices.decode(contacts.encode(5)) is None
    for garbage in ("", "lead", "0" * 31, "g" * 32, "ABCDEF" + "0" * 26, invoices.encode(5).upper()):
        assert invoices.decode(garbage) is None


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("110", "110.0"),
        ("110.00", "110.0"),
        ("12.50", "12.5"),
        ("1532.21", "1532.21"),
        ("0", "0.0"),
        ("-0.00", "0.0"),
        ("-430035.84", "-430035.84"),
        ("1E+3", "1000.0"),
        ("0.000001", "0.000001"),
    ],
)
def test_money_is_rendered_as_sage_renders_it(value: str, text: str) -> None:
    assert sage_decimal(Decimal(value)) == text


def test_rounding_is_half_up_and_base_conversion_divides_by_the_rate() -> None:
    assert cents(Decimal("2.345")) == Decimal("2.35") and cents(Decimal("-2.345")) == Decimal("-2.35")
    assert to_base(Decimal("117.00"), Decimal("1.17")) == Decimal("100.00")
    assert to_base(Decimal("10.00"), Decimal(1)) == Decimal("10.00")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-03-21T09:23:00Z", datetime(2019, 3, 21, 9, 23, tzinfo=UTC)),
        ("2019-03-21T10:23:00+01:00", datetime(2019, 3, 21, 9, 23, tzinfo=UTC)),
        ("2019-03-21T04:23:00-0500", datetime(2019, 3, 21, 9, 23, tzinfo=UTC)),
        ("2019-03-19", datetime(2019, 3, 19, tzinfo=UTC)),
        ("2019-03-19T+01:00", datetime(2019, 3, 18, 23, tzinfo=UTC)),
        ("2019-03-21T09:23:00", datetime(2019, 3, 21, 9, 23, tzinfo=UTC)),
    ],
)
def test_filter_timestamps_in_every_documented_form(text: str, expected: datetime) -> None:
    assert parse_timestamp("updated_or_created_since", text) == expected.timestamp()


def test_a_bad_timestamp_names_the_parameter() -> None:
    with pytest.raises(SageError) as caught:
        parse_timestamp("deleted_since", "2019-03-21 09:23:00")
    assert caught.value.status == 400 and caught.value.source == "deleted_since"
