"""Which warehouse ``sage-pipeline notebook`` reads: from ``--destination`` and ``--duckdb``, with the
credentials ``sage-pipeline run`` loads with.

DuckDB: ``--duckdb``, else ``DESTINATION__DUCKDB__CREDENTIALS``, else ``./sage_accounting.duckdb``
(:func:`pipelines.runner.duckdb_path`). PostgreSQL: the destination's credentials resolved by dlt
(``DESTINATION__POSTGRES__CREDENTIALS`` or ``[destination.postgres] credentials`` in
``.dlt/secrets.toml``; a named destination of type postgres reads its own section), split into a
URL without the password, which the notebook may show, and the password, which it never does. The
server is connected to once here, so that a wrong password or a server that is down is the same line
and exit code as for ``sage-pipeline run`` (:func:`pipelines.warehouse_server.connection_error`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

from pipelines.marts_reader import open_marts, read_errors
from pipelines.notebook import NotebookInputError
from pipelines.package import require_extra
from pipelines.runner import PIPELINE_NAME, destination_factory, duckdb_path
from pipelines.warehouse_server import connection_error

NOTEBOOK_DESTINATIONS = ("duckdb", "postgres")  # destination types the notebook can read marts from


@dataclass(frozen=True)
class MartsLocation:
    database: Path | str  # a DuckDB file, or a PostgreSQL URL without its password
    password: str | None = field(default=None, repr=False)


def marts_location(destination: str, duckdb: str | None) -> MartsLocation:
    """Where the marts are for ``--destination`` (and ``--duckdb``). A missing credential raises dlt's
    ``ConfigFieldMissingException``, which the CLI turns into the line naming the setting."""
    factory = destination_factory(destination)
    kind = factory.destination_type.rsplit(".", 1)[-1]
    if kind not in NOTEBOOK_DESTINATIONS:
        raise NotebookInputError(
            f"the notebook reads the marts from DuckDB or PostgreSQL; {destination} is a {kind} destination"
        )
    if kind == "duckdb":
        path = duckdb_path(duckdb, PIPELINE_NAME)
        if path is None:
            raise NotebookInputError("the DuckDB credentials are not a file path: pass --duckdb PATH")
        return MartsLocation(path)
    if duckdb:
        raise NotebookInputError(f"--duckdb is for a DuckDB warehouse, not --destination {destination}")
    require_extra("postgres", "the notebook on PostgreSQL")  # psycopg2
    config = factory.spec()
    config.dataset_name = "sage"  # the client's configuration asks for one; the marts have their own
    credentials = factory.configuration(config).credentials
    query = urlencode({key: str(value) for key, value in credentials.get_query().items()})
    url = (
        f"postgresql://{quote(str(credentials.username or ''), safe='')}@{credentials.host or 'localhost'}"
        f":{credentials.port or 5432}/{quote(str(credentials.database or ''), safe='')}"
    )
    location = MartsLocation(f"{url}?{query}" if query else url, credentials.password or None)
    try:
        open_marts(str(location.database), location.password).close()
    except read_errors() as error:
        raise connection_error(destination, credentials, error) from None
    return location
