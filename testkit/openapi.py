"""Where Sage's swagger files are; they are Sage's, not ours to vendor, so they live beside the project."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def openapi_dir() -> Path:
    """Where Sage's swagger files are: ``$SAGE_OPENAPI_DIR``, else ``../shared/sage_openapi`` beside
    the project, else beside the repository this one was cloned from (a scratch clone in /tmp)."""
    configured = os.environ.get("SAGE_OPENAPI_DIR")
    if configured:
        return Path(configured)
    project = Path(__file__).resolve().parents[1]
    beside = project.parent / "shared" / "sage_openapi"
    origin = subprocess.run(
        ["git", "-C", str(project), "config", "--get", "remote.origin.url"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if not beside.is_dir() and origin and Path(origin).is_dir():
        cloned_from = Path(origin).resolve().parent / "shared" / "sage_openapi"
        if cloned_from.is_dir():
            return cloned_from
    return beside
