"""The small seeded sandbox most tests share, on a frozen clock so its books never drift, and a
fingerprint of a sandbox's books to tell two builds apart."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import orjson

from sage_sandbox import Sandbox, SandboxConfig

NOW = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)
SMALL = SandboxConfig(seed=7, invoices=150, history_days=400, now=NOW, frozen_clock=True)


def fingerprint(sandbox: Sandbox) -> str:
    """A hash of every business's ground truth: equal for equal books, whatever built them."""
    digest = hashlib.sha256()
    for business in sandbox.business_ids:
        digest.update(orjson.dumps(sandbox.ground_truth(business), option=orjson.OPT_SORT_KEYS))
    return digest.hexdigest()
