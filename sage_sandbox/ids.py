"""Sage-looking ids (32 lowercase hex characters) that encode where the row lives.

A business with a million invoices has ten million ledger entries; a ``dict`` from id to row for
all of them would cost gigabytes. Instead each collection owns a 64-bit tag and an id is an
invertible scrambling of ``(tag, position)``: looking an id up is arithmetic, and an id from
another collection or business fails the tag check. The ids look random, like real Sage GUIDs,
and never collide within a business.
"""

from __future__ import annotations

import hashlib
import re

_MASK = (1 << 128) - 1
# Two odd multipliers (odd => invertible modulo 2**128) and their inverses.
_M1 = 0x9E3779B97F4A7C15F39CC0605CEDC835
_M2 = 0xC2B2AE3D27D4EB4F165667B19E3779F9
_M1_INV = pow(_M1, -1, 1 << 128)
_M2_INV = pow(_M2, -1, 1 << 128)
_HEX_ID = re.compile(r"[0-9a-f]{32}")


def _scramble(x: int) -> int:
    x = (x * _M1) & _MASK
    x ^= x >> 67  # a shift of 64 or more is its own inverse on 128 bits
    x = (x * _M2) & _MASK
    return x ^ (x >> 71)


def _unscramble(x: int) -> int:
    x ^= x >> 71
    x = (x * _M2_INV) & _MASK
    x ^= x >> 67
    return (x * _M1_INV) & _MASK


def tag_for(*parts: object) -> int:
    """A stable 64-bit tag for a collection, e.g. ``tag_for(seed, business_no, "sales_invoices")``."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class IdCodec:
    """Encode positions of one collection as ids and decode them back."""

    __slots__ = ("tag",)

    def __init__(self, tag: int) -> None:
        self.tag = tag & ((1 << 64) - 1)

    def encode(self, position: int) -> str:
        return format(_scramble((self.tag << 64) | position), "032x")

    def decode(self, key: str) -> int | None:
        """The position ``key`` encodes, or ``None`` if it is not an id of this collection."""
        if not _HEX_ID.fullmatch(key):
            return None
        plain = _unscramble(int(key, 16))
        if plain >> 64 != self.tag:
            return None
        return plain & ((1 << 64) - 1)


def key64(value: str) -> int:
    """A signed 64-bit fingerprint of a string, for numpy equality filters on id columns.

    Stable across processes (index columns are pickled into snapshots, so Python's randomised
    ``hash`` will not do): a hex id's first 16 digits, anything else a blake2b digest.
    """
    if len(value) == 32 and _HEX_ID.fullmatch(value):
        return int(value[:16], 16) - (1 << 63)
    digest = hashlib.blake2b(value.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)
