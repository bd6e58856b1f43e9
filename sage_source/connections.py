"""Many connections: which exist, and each one's settings.

A connection is one Sage user's consent to the app: its own rotating token chain, the businesses
that user reaches, and the settings that differ for it. One app (``client_id``) serves them all,
so they share its request budget. They are declared in any of three places, and listed from all:

* a section ``[sources.sage_accounting.connections.<name>]`` in ``.dlt/config.toml`` or
  ``.dlt/secrets.toml`` (or ``SOURCES__SAGE_ACCOUNTING__CONNECTIONS__<NAME>__<SETTING>``), holding
  any setting that differs from the shared ``[sources.sage_accounting]`` ones: ``business_ids``,
  ``start_date``, a seed ``refresh_token``, its own ``token_store`` file, ...;
* a row of the PostgreSQL token store (``sage-pipeline auth --connection NAME`` adds one);
* a token file beside ``token_store``, ``<stem>.<name>.tokens.json`` (``auth --connection NAME``
  with the file store).

The connection ``default`` is the one a single-connection set-up has always had: the shared
settings as they are, the token file ``token_store`` itself.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import dlt

from sage_source.config import SOURCE_NAME, SageAccountingConfiguration, resolve
from sage_source.errors import SageSourceError

if TYPE_CHECKING:
    from sage_source.token_store_postgres import StoredConnection

DEFAULT_CONNECTION = "default"
CONNECTIONS_KEY = f"sources.{SOURCE_NAME}.connections"
# A name becomes part of a pipeline name, a dataset name, a file name and an environment variable,
# so it keeps to what all four accept (dlt's env provider upper-cases: names are case-blind anyway).
_NAME = re.compile(r"[a-z0-9][a-z0-9_]{0,39}")
_ENV_PREFIX = f"SOURCES__{SOURCE_NAME.upper()}__CONNECTIONS__"
_TOKEN_SUFFIX = ".tokens.json"

TConfig = TypeVar("TConfig", bound=SageAccountingConfiguration)


def check_name(name: str) -> str:
    """``name`` if it can name a connection, else one error saying what can."""
    if not _NAME.fullmatch(name):
        raise SageSourceError(
            f"{name!r} cannot name a connection: use 1-40 lower-case letters, digits and _, "
            "starting with a letter or digit (e.g. acme_ltd)"
        )
    return name


def connection_settings(name: str, spec: type[TConfig], explicit: Mapping[str, Any] | None = None) -> TConfig:
    """``name``'s settings: its own section over the shared ones, ``explicit`` values beating both.

    A connection other than ``default`` that names no ``token_store`` of its own keeps its tokens in
    :func:`token_file_for` (two connections in one file would be one chain refreshed by two users)."""
    check_name(name)
    given = {**(explicit or {}), "connection_name": name}
    settings = resolve(spec, given, sections=("sources", SOURCE_NAME, "connections", name))
    if name != DEFAULT_CONNECTION and "token_store" not in given:
        shared = resolve(spec, {**given, "connection_name": DEFAULT_CONNECTION})
        if settings.token_store == shared.token_store:
            settings.token_store = str(token_file_for(shared.token_store, name))
    return settings


def token_file_for(shared_file: str | Path, name: str) -> Path:
    """The token file of connection ``name`` beside the shared ``token_store`` file:
    ``.dlt/sage_accounting.tokens.json`` -> ``.dlt/sage_accounting.<name>.tokens.json``."""
    path = Path(shared_file)
    if name == DEFAULT_CONNECTION:
        return path
    stem, suffix = _split(path)
    return path.with_name(f"{stem}.{name}{suffix}")


def _split(path: Path) -> tuple[str, str]:
    """A token file's name before and after where a connection's name goes."""
    if path.name.endswith(_TOKEN_SUFFIX):
        return path.name.removesuffix(_TOKEN_SUFFIX), _TOKEN_SUFFIX
    return path.stem, path.suffix


def connection_names(shared: SageAccountingConfiguration) -> list[str]:
    """Every connection declared anywhere (module docstring), ``default`` first when it is one.

    ``default`` is listed when no other is declared, or when it has tokens of its own."""
    found = set(_configured_names())
    found.update(_token_file_names(shared.token_store))
    if shared.token_store_credentials:
        found.update(row.name for row in stored_connections(shared))
    if not found or Path(shared.token_store).expanduser().exists():
        found.add(DEFAULT_CONNECTION)
    return sorted(found, key=lambda name: (name != DEFAULT_CONNECTION, name))


def stored_connections(shared: SageAccountingConfiguration) -> list[StoredConnection]:
    """The PostgreSQL token store's rows (name, needs re-consent, last saved), without their tokens."""
    from sage_source.token_store_postgres import connection_rows  # noqa: PLC0415 (the postgres extra)

    return connection_rows(str(shared.token_store_credentials))


def _configured_names() -> list[str]:
    names: list[str] = []
    for provider in (dlt.config, dlt.secrets):
        sections: Any = provider.get(CONNECTIONS_KEY)
        if isinstance(sections, Mapping):
            names.extend(str(name) for name in sections)
    for variable in os.environ:
        if variable.startswith(_ENV_PREFIX):
            name = variable.removeprefix(_ENV_PREFIX).split("__", 1)[0]
            names.append(name.lower())
    for name in names:
        check_name(name)
    return names


def _token_file_names(shared_file: str) -> list[str]:
    """Connections whose token files lie beside the shared one (:func:`token_file_for`)."""
    path = Path(shared_file).expanduser()
    if not path.parent.is_dir():
        return []
    stem, suffix = _split(path)
    names = (
        candidate.name.removeprefix(f"{stem}.").removesuffix(suffix)
        for candidate in path.parent.glob(f"{glob.escape(stem)}.*{glob.escape(suffix)}")
    )
    return [name for name in names if _NAME.fullmatch(name)]
