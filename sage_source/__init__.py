"""A dlt source for Sage Business Cloud Accounting (API v3.1).

    import dlt
    from sage_source import apply_deletions, sage_accounting

    pipeline = dlt.pipeline("sage", destination="duckdb", dataset_name="sage")
    pipeline.run(sage_accounting())
    apply_deletions(pipeline)  # marks rows Sage deleted (is_deleted / deleted_at)

Settings come the dlt way: ``[sources.sage_accounting]`` in ``.dlt/config.toml`` and
``.dlt/secrets.toml``, or ``SOURCES__SAGE_ACCOUNTING__<NAME>`` environment variables. Tokens live
in ``token_store`` (a 0600 file), not in dlt state: see :mod:`sage_source.tokens`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import dlt
from dlt.extract.resource import DltResource

# The module, not its class: dlt puts a spec it names ``SageAccountingConfiguration`` (made from this
# function's signature) into this package's namespace, which would shadow an imported class.
from sage_source import config as spec
from sage_source.connection import SageConnection
from sage_source.connections import DEFAULT_CONNECTION, connection_settings
from sage_source.deletions import apply_deletions
from sage_source.errors import SageSourceError
from sage_source.first_load import appendable
from sage_source.resources import businesses_resource, financial_settings_resource, list_resource
from sage_source.settings import ENDPOINTS, RESOURCE_NAMES
from sage_source.sync import SyncOptions

__all__ = [
    "RESOURCE_NAMES",
    "SageSourceError",
    "apply_deletions",
    "sage_accounting",
]


@dlt.source(name=spec.SOURCE_NAME, section=spec.SOURCE_SECTION, max_table_nesting=0)
def sage_accounting(**settings: Any) -> Iterable[DltResource]:
    """Every analytics object of the selected Sage businesses, incrementally, with deletes.

    ``settings`` are :class:`~sage_source.config.SageAccountingConfiguration`'s fields, by keyword
    (``client_id``, ``business_ids``, ``resources``, ``start_date``, ``max_retries``, ...: each one's
    type, default and meaning is written there); one given here beats the environment and the
    ``.dlt/`` files, and the rest are read from them. An unknown name raises ``TypeError``.

    Building the source sends one request, ``GET /businesses``: which businesses exist decides
    what each resource is (a business's first load appends, :mod:`sage_source.first_load`), and an
    unknown ``business_ids`` is refused here, in the call that named it, before anything is
    extracted or a pipeline's state is touched. Its sockets are closed when it returns; each
    resource opens them again while it runs, and the last one to finish (or to be closed by dlt
    when extraction fails) closes them (:mod:`sage_source.pool`).
    """
    config = spec.resolve(spec.SageAccountingConfiguration, settings, sections=())  # dlt's, with the pipeline
    if config.connection_name != DEFAULT_CONNECTION:  # its own section over the shared settings
        config = connection_settings(config.connection_name, spec.SageAccountingConfiguration, settings)
    chosen = config.chosen_resources()
    connection = SageConnection(config)
    names = _chosen_businesses(connection, config.business_ids)
    businesses = list(names)
    options = SyncOptions(
        overlap=timedelta(seconds=config.overlap_seconds),
        start_date=config.since(),
        id_sweep_every=timedelta(days=config.id_sweep_days),
        full_refresh=config.full_refresh,
        window_rows=config.backfill_window_rows,
        business_names=names,
    )
    out: list[DltResource] = []
    if "businesses" in chosen:
        out.append(businesses_resource(businesses, connection))
    if "financial_settings" in chosen:
        out.append(financial_settings_resource(businesses, connection, options))
    endpoints = [e for e in ENDPOINTS if e.name in chosen]
    appended = appendable(endpoints, businesses, config.full_refresh)
    out.extend(
        list_resource(e, businesses, connection, options, append=e.name in appended) for e in endpoints
    )
    return out


def _chosen_businesses(connection: SageConnection, business_ids: list[str] | None) -> dict[str, str]:
    """The businesses to load, id -> name, in Sage's order."""
    names = {str(b["id"]): str(b.get("name") or b.get("displayed_as") or "") for b in connection.businesses()}
    reachable = list(names)
    if not business_ids:
        if not reachable:
            raise SageSourceError("the Sage user has no businesses to load")
        return names
    unknown = [b for b in business_ids if b not in reachable]
    if unknown:
        raise SageSourceError(
            f"business(es) {', '.join(unknown)} are not among this Sage user's businesses "
            f"({', '.join(reachable)}); `sage-pipeline businesses` lists them"
        )
    return {business_id: names[business_id] for business_id in dict.fromkeys(business_ids)}
