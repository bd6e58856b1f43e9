"""Errors in the shape Sage sends them: a JSON array of ``$severity/$dataCode/$message/$source``."""

from __future__ import annotations

from typing import Any


class SageError(Exception):
    """An API error the sandbox answers with Sage's error body and status."""

    def __init__(self, status: int, data_code: str, message: str, source: str = "") -> None:
        super().__init__(f"{status} {data_code}: {message}")
        self.status = status
        self.data_code = data_code
        self.message = message
        self.source = source

    def body(self) -> list[dict[str, Any]]:
        return [
            {
                "$severity": "error",
                "$dataCode": self.data_code,
                "$message": self.message,
                "$source": self.source,
            }
        ]


def invalid_parameter(name: str, message: str) -> SageError:
    return SageError(400, "InvalidParameter", message, name)


def not_found(what: str = "Record") -> SageError:
    return SageError(404, "RecordNotFound", f"{what} not found")
