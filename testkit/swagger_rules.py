"""Reading the two prose sections every operation of Sage's swagger ends with.

"### Endpoint Availability" lists, per product, the countries as flag emojis; "### Access
Control Restrictions" says which roles in which areas may call it, in one of two phrasings
(``sage_sandbox/access.py`` explains the difference). Written from the swagger's text, not from
the sandbox's table, so the catalog test compares two independent readings.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from sage_sandbox.catalog import ENDPOINTS, SINGLETONS
from testkit.openapi import openapi_dir

Rule = tuple[bool, dict[str, frozenset[str]]]  # (every area needed, area -> accepted roles)

_EVERY = re.compile(
    r"Requires the authenticated user to have any of the following roles in the areas? (.+?): (.+)"
)
_ANY = "Requires the authenticated user to have any mentioned role in one of the listed areas:"
_BULLET = re.compile(r"\* Area: `([^`]+)`: (.+)")
_PRODUCT = re.compile(r"\* (Accounting \w+): (.+)")

# Every route the sandbox serves: (name, item route?) -> its path in the swagger.
ROUTES = {
    **{(name, False): f"/{name}" for name in ENDPOINTS},
    **{(name, True): f"/{name}/{{key}}" for name in ENDPOINTS},
    **{(name, False): f"/{name}" for name in SINGLETONS},
}


@cache
def swagger() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads((openapi_dir() / "swagger-2.0.0.json").read_text())
    return spec


def description(path: str) -> str:
    text: str = swagger()["paths"][path]["get"]["description"]
    return text


def _section(text: str, title: str) -> list[str] | None:
    marker = f"### {title}"
    if marker not in text:
        return None
    body = text.split(marker, 1)[1].split("\n###", 1)[0]
    return [line.strip() for line in body.strip().splitlines() if line.strip()]


def _country(flag: str) -> str:
    """🇬🇧 -> GB: a flag is two regional-indicator letters."""
    return "".join(chr(ord(letter) - 0x1F1E6 + ord("A")) for letter in flag.strip())


def availability(path: str) -> frozenset[tuple[str, str]]:
    lines = _section(description(path), "Endpoint Availability")
    assert lines, f"{path}: no Endpoint Availability"
    offered = set()
    for line in lines:
        match = _PRODUCT.fullmatch(line)
        assert match, f"{path}: cannot read availability line {line!r}"
        offered |= {(match.group(1), _country(flag)) for flag in match.group(2).split(",")}
    return frozenset(offered)


def _roles(text: str) -> frozenset[str]:
    return frozenset(role.strip() for role in text.split(","))


def access(path: str) -> Rule | None:
    """None when the operation names no restriction (any user of the business may call it)."""
    lines = _section(description(path), "Access Control Restrictions")
    if lines is None:
        return None
    every = _EVERY.fullmatch(lines[0])
    if every:
        assert len(lines) == 1, f"{path}: unexpected lines after {lines[0]!r}"
        areas = re.findall(r"`([^`]+)`", every.group(1))
        return len(areas) > 1, dict.fromkeys(areas, _roles(every.group(2)))
    assert lines[0] == _ANY, f"{path}: cannot read access rule {lines[0]!r}"
    rules = {}
    for line in lines[1:]:
        bullet = _BULLET.fullmatch(line)
        assert bullet, f"{path}: cannot read access bullet {line!r}"
        rules[bullet.group(1)] = _roles(bullet.group(2))
    return False, rules


def allows(path: str, roles: dict[str, str], default: str = "Full Access") -> bool:
    """Whether a user with ``roles`` (area -> role; areas left out: ``default``) may call ``path``."""
    rule = access(path)
    if rule is None:
        return True
    every, areas = rule
    accepted = [roles.get(area, default) in accepted for area, accepted in areas.items()]
    return all(accepted) if every else any(accepted)
