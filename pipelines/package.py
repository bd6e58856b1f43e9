"""What ``sage-pipeline`` knows about its own installation: its version and the data it ships.

The dbt project and the cash-flow notebook are package data: the repository's ``dbt_models/`` and
``notebooks/`` are the packages ``pipelines.dbt_models`` and ``pipelines.notebooks``
(``pyproject.toml`` maps them), found through the import system, so a wheel finds them in
site-packages and an editable install in the checkout. Neither is written to: dbt's ``target/``
and ``logs/`` go to the pipeline's folder (:mod:`pipelines.marts`), papermill's output to ``--out``.
"""

from __future__ import annotations

from importlib import metadata, resources
from pathlib import Path

DISTRIBUTION = "sage-accounting-elt"


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
