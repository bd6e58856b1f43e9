"""The CLI's settings: :class:`~sage_source.config.SagePipelineConfiguration`, resolved the dlt way.

The source's settings and the CLI's own (``authorize_url``, ``redirect_uri``, ``scope``,
``hard_delete``, ``strict``) are declared once, in :mod:`sage_source.config`, and read from the
same ``[sources.sage_accounting]`` section, so one ``.dlt/secrets.toml`` or one set of
``SOURCES__SAGE_ACCOUNTING__*`` variables serves the source, ``auth``, ``businesses`` and ``run``.
"""

from __future__ import annotations

from typing import Any

from sage_source.config import SagePipelineConfiguration, resolve


def pipeline_settings(**explicit: Any) -> SagePipelineConfiguration:
    """Every setting, ``explicit`` ones (flags) beating the environment and the ``.dlt/`` files.

    Resolving checks them too: a bad one stops the command before anything is read or written."""
    return resolve(SagePipelineConfiguration, explicit)
