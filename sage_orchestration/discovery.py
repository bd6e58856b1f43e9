"""Which businesses each connection loads: Sage's ``/businesses``, asked through our own client, less
those its ``business_ids`` setting leaves out (when it names any).

One connection that cannot be asked (its chain needs re-consent, Sage is down for its user) costs
only that connection its discovery this time: the others are still listed, and the failure is
returned, in words, for the sensor's log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.settings import pipeline_settings
from sage_source.connection import SageConnection
from sage_source.connections import connection_names


@dataclass(frozen=True)
class Discovered:
    businesses: dict[str, list[str]] = field(default_factory=dict)  # connection -> business ids
    failures: dict[str, str] = field(default_factory=dict)  # connection -> what went wrong


def every_connection() -> list[str]:
    """Every connection declared (config sections, token store rows, token files)."""
    return connection_names(pipeline_settings())


def discover(connections: list[str]) -> Discovered:
    found = Discovered()
    for name in connections:
        try:
            settings = pipeline_settings(connection_name=name)
            with SageConnection(settings) as connection:
                listed = [str(b["id"]) for b in connection.businesses()]
            chosen = settings.business_ids
            found.businesses[name] = [b for b in listed if b in chosen] if chosen else listed
        except Exception as error:  # one connection's failure is its own (module docstring)
            found.failures[name] = f"{type(error).__name__}: {error}"
    return found
