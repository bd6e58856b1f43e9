"""The small seeded sandbox most tests share, on a frozen clock so its books never drift."""

from __future__ import annotations

from datetime import UTC, datetime

from sage_sandbox import SandboxConfig

NOW = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)
SMALL = SandboxConfig(seed=7, invoices=150, history_days=400, now=NOW, frozen_clock=True)
