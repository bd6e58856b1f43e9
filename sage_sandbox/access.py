"""Who may call what: a user's role per area, and the rules Sage's swagger states per endpoint.

Every operation in Sage's swagger ends with "Access Control Restrictions" in one of two
phrasings, and they mean different things:

* "any of the following roles in the areas `Sales`, `Purchases`, and `Contacts`: Full Access" —
  the user needs one of those roles in **every** listed area (``Access.every_area``);
* "any mentioned role in one of the listed areas:" followed by one bullet per area — one listed
  role in **any one** of the areas is enough.

A single area ("in the area `Sales`: ...") is both. Operations with no such section (the
reference lists) are open to every user of the business: their rule is ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

FULL_ACCESS = "Full Access"
READ_ONLY = "Read Only"
RESTRICTED_ACCESS = "Restricted Access"
NO_ACCESS = "No Access"
ROLES = (FULL_ACCESS, READ_ONLY, RESTRICTED_ACCESS, NO_ACCESS)

# Every area Sage's swagger names in an access rule.
AREAS = (
    "Sales",
    "Purchases",
    "Contacts",
    "Products & Services",
    "Bank",
    "Journals",
    "Settings",
    "Reporting",
    "Statutory reporting",
)

# A user's roles: area -> role. Areas left out are Full Access (the business owner's default).
Roles = Mapping[str, str]
# Named sets of roles, for config and the CLI.
PRESETS: dict[str, Roles] = {
    "full_access": {},
    "read_only": dict.fromkeys(AREAS, READ_ONLY),
}


@dataclass(frozen=True)
class Access:
    """One endpoint's rule: the roles each area accepts, and whether every area must accept."""

    areas: tuple[tuple[str, frozenset[str]], ...]
    every_area: bool = False

    def allows(self, roles: Roles) -> bool:
        accepted = (roles.get(area, FULL_ACCESS) in allowed for area, allowed in self.areas)
        return all(accepted) if self.every_area else any(accepted)

    def rule(self) -> tuple[bool, dict[str, frozenset[str]]]:
        """The rule without its order (areas and roles are listed in no particular order)."""
        return self.every_area and len(self.areas) > 1, dict(self.areas)


def in_every_area(areas: Iterable[str], roles: Iterable[str]) -> Access:
    """The rule Sage words "any of the following roles in the areas `A`, and `B`: R1, R2"."""
    accepted = frozenset(roles)
    return Access(tuple((area, accepted) for area in areas), every_area=True)


def in_any_area(rules: Mapping[str, Iterable[str]]) -> Access:
    """The rule Sage words "any mentioned role in one of the listed areas:", one bullet per area."""
    return Access(tuple((area, frozenset(roles)) for area, roles in rules.items()))


def resolve_roles(roles: str | Roles) -> dict[str, str]:
    """A preset name or an area -> role mapping, checked, with every area filled in."""
    given = PRESETS[roles] if isinstance(roles, str) and roles in PRESETS else roles
    if isinstance(given, str):
        raise ValueError(f"unknown roles preset {given!r}; presets: {', '.join(PRESETS)}")
    for area, role in given.items():
        if area not in AREAS:
            raise ValueError(f"unknown area {area!r}; Sage's areas: {', '.join(AREAS)}")
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r} in {area}; roles: {', '.join(ROLES)}")
    return {area: given.get(area, FULL_ACCESS) for area in AREAS}
