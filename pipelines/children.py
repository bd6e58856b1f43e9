"""Child processes (dbt, papermill) that die with the pipeline, even when it is killed with SIGKILL.

A child outlives a parent killed with ``kill -9`` (or by the OOM killer): nothing runs in the parent
to stop it. dbt left behind goes on building the marts and keeps the DuckDB file locked for a minute
or more, so the next scheduled run cannot open it. On Linux the child asks the kernel, between fork
and exec, to be sent SIGKILL when its parent dies (``prctl(PR_SET_PDEATHSIG)``, which survives the
exec); if the parent died before that line, the child exits at once.

papermill's Jupyter kernel is a grandchild: jupyter_client gives it ``JPY_PARENT_PID``, and ipykernel
exits within a second of that parent (papermill, killed with us) going away.

The kernel sends the signal when the *thread* that started the child ends, so a child is started from
the thread that waits for it (``subprocess.run``), never handed to another thread.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def run_child(
    command: Sequence[str], *, check: bool = False, **options: Any
) -> subprocess.CompletedProcess[Any]:
    """``subprocess.run(command, ...)``, the child dying with this process."""
    return subprocess.run(command, check=check, preexec_fn=die_with_parent(), **options)


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child die with us (Linux), else None.

    It runs in the child between fork and exec, so it does as little as it can: two system calls,
    through a function looked up here, in the parent.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()
    kill = int(signal.SIGKILL)

    def in_child() -> None:
        prctl(_PR_SET_PDEATHSIG, kill, 0, 0, 0)  # cannot fail for a valid signal
        if os.getppid() != parent:  # we died before the child asked: it was never to run
            os._exit(1)

    return in_child
