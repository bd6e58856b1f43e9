"""What ``sage-pipeline`` knows about its own installation: its version, the data it ships, its extras.

The dbt project and the cash-flow notebook are package data: the repository's ``dbt_models/`` and
``notebooks/`` are the packages ``pipelines.dbt_models`` and ``pipelines.notebooks``
(``pyproject.toml`` maps them), found through the import system, so a wheel finds them in
site-packages and an editable install in the checkout. Neither is written to: dbt's ``target/``
and ``logs/`` go to the pipeline's folder (:mod:`pipelines.marts`), papermill's output to ``--out``.
"""

from __future__ import annotations

import re
from importlib import metadata, resources
from pathlib import Path

DISTRIBUTION = "sage-accounting-elt"


class MissingExtraError(Exception):
    """A command needs an optional part of the package that is not installed; the message says which."""


def version() -> str:
    """The installed version (defined once, in pyproject.toml)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # the source tree on sys.path, never installed
        return "unknown (not installed: pip install .)"


def data_folder(package: str) -> Path:
    """The folder of a data package shipped with sage-pipeline, e.g. ``pipelines.dbt_models``.

    A real folder: wheels install unpacked, and dbt and papermill take paths."""
    return Path(str(resources.files(package)))


def require_extra(extra: str, needed_by: str) -> None:
    """Raise :class:`MissingExtraError` unless every distribution ``extra`` lists is installed."""
    missing = [name for name in extra_requirements(extra) if not _installed(name)]
    if missing:
        raise MissingExtraError(
            f"{needed_by} needs the {extra} extra, not installed here ({', '.join(missing)} missing): "
            f"pip install '{DISTRIBUTION}[{extra}]'"
        )


def extra_requirements(extra: str) -> list[str]:
    """The distribution names the package's metadata lists for ``extra`` (its Requires-Dist lines)."""
    try:
        requirements = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        return []
    marker = re.compile(rf"""extra\s*==\s*["']{re.escape(extra)}["']""")
    names = []
    for requirement in requirements:
        spec, _, markers = requirement.partition(";")
        name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", spec.strip())
        if name and marker.search(markers):
            names.append(name.group(0))
    return names


def _installed(name: str) -> bool:
    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True
