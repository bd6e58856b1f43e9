"""Errors in the shape Sage sends them: a JSON array of ``$severity/$dataCode/$message/$source``.

A dialect (``dialects.py``) may answer some errors in another shape a real server could plausibly
send instead: one bare JSON object, or a web server's HTML page.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson

Style = Literal["sage", "object", "html"]
JSON = "application/json; charset=utf-8"
_PAGE = b"<html><head><title>%d %s</title></head><body><center><h1>%d %s</h1></center></body></html>"


def html_page(status: int, reason: str) -> bytes:
    """The bare page a gateway or web server answers with, not the application."""
    return _PAGE % (status, reason.encode(), status, reason.encode())


class SageError(Exception):
    """An API error the sandbox answers with Sage's error body (or a dialect's) and status."""

    def __init__(
        self, status: int, data_code: str, message: str, source: str = "", style: Style = "sage"
    ) -> None:
        super().__init__(f"{status} {data_code}: {message}")
        self.status = status
        self.data_code = data_code
        self.message = message
        self.source = source
        self.style = style

    def body(self) -> list[dict[str, Any]]:
        return [
            {
                "$severity": "error",
                "$dataCode": self.data_code,
                "$message": self.message,
                "$source": self.source,
            }
        ]

    def render(self) -> tuple[bytes, str]:
        """The response body and its media type."""
        if self.style == "html":
            return html_page(self.status, self.message), "text/html"
        if self.style == "object":
            return orjson.dumps({"$dataCode": self.data_code, "$message": self.message}), JSON
        return orjson.dumps(self.body()), JSON


def invalid_parameter(name: str, message: str) -> SageError:
    return SageError(400, "InvalidParameter", message, name)


def not_found(what: str = "Record") -> SageError:
    return SageError(404, "RecordNotFound", f"{what} not found")
