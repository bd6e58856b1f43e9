"""The CLI's settings: :class:`~sage_source.config.SagePipelineConfiguration`, resolved the dlt way.

The source's settings and the CLI's own (``authorize_url``, ``redirect_uri``, ``scope``,
``hard_delete``, ``strict``) are declared once, in :mod:`sage_source.config`, and read from the
same ``[sources.sage_accounting]`` section, so one ``.dlt/secrets.toml`` or one set of
``SOURCES__SAGE_ACCOUNTING__*`` variables serves the source, ``auth``, ``businesses`` and ``run``.
"""

from __future__ import annotations

from typing import Any

from sage_source.config import SagePipelineConfiguration, resolve
from sage_source.connections import DEFAULT_CONNECTION, connection_settings


def pipeline_settings(**explicit: Any) -> SagePipelineConfiguration:
    """Every setting, ``explicit`` ones (flags) beating the environment and the ``.dlt/`` files;
    a connection other than ``default`` reads its own section over the shared one
    (:mod:`sage_source.connections`).

    Resolving checks them too: a bad one stops the command before anything is read or written."""
    settings = resolve(SagePipelineConfiguration, explicit)
    if settings.connection_name != DEFAULT_CONNECTION:
        return connection_settings(settings.connection_name, SagePipelineConfiguration, explicit)
    return settings
