"""A faithful local Sage Business Cloud Accounting v3.1 server.

``Sandbox`` holds the books and the OAuth server; ``SandboxServer`` serves one over HTTP on
loopback in a background thread; ``SandboxProcess`` runs ``sage-sandbox serve`` in a child
process. See ``sage_sandbox/README.md``.
"""

from sage_sandbox.config import FaultsConfig, LimitsConfig, SandboxConfig
from sage_sandbox.sandbox import Sandbox
from sage_sandbox.server import SandboxProcess, SandboxServer, Urls

__all__ = [
    "FaultsConfig",
    "LimitsConfig",
    "Sandbox",
    "SandboxConfig",
    "SandboxProcess",
    "SandboxServer",
    "Urls",
]
