"""``sage-pipeline``'s exit codes, for schedulers: the one place they are written.

``pipelines.cli`` maps each kind of error to one of these (``cli.KINDS``) and prints ``MEANINGS``
in its ``--help``; the demo returns them too.
"""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0
    # A bug: run again with --debug and report it.
    BUG = 1
    # Bad settings or arguments (the message names the setting to fix), or an extra the command needs
    # is not installed (the message says what to pip install).
    CONFIG = 2
    # Sage needs authorising again: run `sage-pipeline auth`.
    REAUTH = 3
    # Sage (its API or its token endpoint) could not be reached, failed or refused after retries, or
    # sent data we cannot read: try again later. A run loads every business × resource it can and
    # exits 4 at the end naming those that failed (or, with --strict, those Sage refused or does not
    # offer).
    SAGE = 4
    # The destination failed to load (the data stays staged; the next run retries it), or its server
    # could not be reached (nothing was read), or it holds a key twice after the load (named; a
    # --full-refresh rewrites them).
    LOAD = 5
    # The data loaded, but dbt build failed (a model or a reconciliation).
    MARTS = 6
    # The notebook failed in a cell (the cell and the error are named; the executed notebook is kept).
    NOTEBOOK = 7
    # sysexits EX_IOERR: a disk is full (the token store's, the DuckDB file's, dlt's pipeline
    # folder's...; the folder is named): free space there and run again. No `auth` needed.
    DISK = 74
    # Another run of this pipeline is in progress (nothing was done), or another process has the
    # DuckDB file open, or another run (from any machine) is loading the PostgreSQL dataset: try
    # again when it has finished.
    LOCKED = 75
    INTERRUPTED = 130


# What each code means, in the few words ``sage-pipeline --help`` gives it.
MEANINGS: dict[Exit, str] = {
    Exit.OK: "done",
    Exit.CONFIG: "bad settings",
    Exit.REAUTH: "run `sage-pipeline auth`",
    Exit.SAGE: "Sage failed, try later",
    Exit.LOAD: "destination failed",
    Exit.MARTS: "loaded, but dbt build failed (a model or a reconciliation)",
    Exit.NOTEBOOK: "the notebook failed in a cell",
    Exit.DISK: "a disk is full (the folder is named)",
    Exit.LOCKED: "another run, or process, has the pipeline, its DuckDB file or PostgreSQL dataset",
    Exit.INTERRUPTED: "interrupted",
    Exit.BUG: "a bug (rerun with --debug)",
}


def exit_codes_help(width: int = 100) -> str:
    """``exit codes: 0 done · 2 bad settings · ...`` for ``--help``, wrapped between codes."""
    lines = ["exit codes:"]
    for code, meaning in MEANINGS.items():
        item = f"{int(code)} {meaning}"
        if len(lines[-1]) + len(item) + 3 > width:
            lines[-1] += " ·"
            lines.append(item)
        else:
            lines[-1] += f" {item}" if lines[-1] == "exit codes:" else f" · {item}"
    return "\n".join(lines)
