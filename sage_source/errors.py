"""Errors the source raises, each one line a person can act on. Tokens never appear in them."""

from __future__ import annotations


class SageSourceError(Exception):
    """Base class: something the user or operator has to fix or know."""


class ReauthorizationError(SageSourceError):
    """The refresh-token chain is dead (expired, revoked or spent): only a new consent helps."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"Sage needs to be authorised again ({reason}). Run `sage-pipeline auth`, then run again."
        )


class AmbiguousRefreshError(SageSourceError):
    """A token refresh was sent but its answer was lost: retrying could spend a rotated token."""


class SageApiError(SageSourceError):
    """Sage answered an error that retrying will not fix (4xx, or 5xx after the retries)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class SageDataError(SageSourceError):
    """A response that does not have the shape Sage documents (bad JSON, a non-numeric amount)."""


class UnsafeNextLinkError(SageSourceError):
    """``$next`` points away from the API host: following it would send the bearer token there."""
