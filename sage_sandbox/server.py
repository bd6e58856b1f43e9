"""Serving the sandbox over real HTTP on loopback with uvicorn.

:class:`SandboxServer` runs it in a background thread on a free port (tests: the Python API and
the HTTP API share one process). :class:`SandboxProcess` runs ``sage-sandbox serve`` in a child
process (benchmarks: the server gets its own core and the client's GIL is its own).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from sage_sandbox.api.app import create_app
from sage_sandbox.config import SandboxConfig
from sage_sandbox.sandbox import Sandbox


class _QuietBrokenResponses(logging.Filter):
    """Injected drops and truncations make uvicorn log an error; they are intended here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing response" not in record.getMessage()


def uvicorn_config(app: Any, sock: socket.socket | None = None, **kw: Any) -> uvicorn.Config:
    logging.getLogger("uvicorn.error").addFilter(_QuietBrokenResponses())
    return uvicorn.Config(
        app,
        http="httptools",
        loop="uvloop",
        lifespan="off",
        access_log=False,
        date_header=False,  # the sandbox dates its answers by its own clock (api/app.py)
        log_level="warning",
        timeout_keep_alive=30,
        **kw,
    )


class Urls:
    """Where each part of the sandbox answers, given its base URL."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.api = f"{self.base}/v3.1"
        self.token = f"{self.base}/token"
        self.authorize = f"{self.base}/oauth2/auth/central"
        self.admin = f"{self.base}/_sandbox"


class SandboxServer:
    """``with SandboxServer(config) as server:`` serves a sandbox on ``server.urls.base``."""

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        sandbox: Sandbox | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.sandbox = sandbox or Sandbox(config)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port = self._socket.getsockname()[1]
        self.urls = Urls(f"http://{host}:{self.port}")
        self._server = uvicorn.Server(uvicorn_config(create_app(self.sandbox)))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> SandboxServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port(host: str = "127.0.0.1") -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class SandboxProcess:
    """``sage-sandbox serve`` in a child process; ``args`` are its command-line options."""

    def __init__(self, *args: str, host: str = "127.0.0.1", startup_timeout: float = 3600) -> None:
        self.port = free_port(host)
        self.urls = Urls(f"http://{host}:{self.port}")
        self._command = [
            sys.executable,
            "-m",
            "sage_sandbox",
            "serve",
            "--host",
            host,
            "--port",
            str(self.port),
            *args,
        ]
        self._timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> SandboxProcess:
        self.process = subprocess.Popen(self._command, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + self._timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"sage-sandbox exited with {self.process.returncode} before serving")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.urls.admin}/status", timeout=5).status_code == 200:
                    return self
            if time.monotonic() > deadline:
                raise RuntimeError("sage-sandbox did not start in time")
            time.sleep(0.2)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
