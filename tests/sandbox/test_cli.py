"""``sage-sandbox serve`` from the command line: it serves, and bad input gets one clear line."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx

from sage_sandbox import SandboxConfig
from sage_sandbox.cli import config_from, parser
from sage_sandbox.server import SandboxProcess

SCRIPT = Path(sys.executable).with_name("sage-sandbox")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=120, check=False)


def test_serve_answers_over_http() -> None:
    with SandboxProcess("--seed", "3", "--invoices", "20", "--history-days", "30") as sandbox:
        status = httpx.get(f"{sandbox.urls.admin}/status").json()
        assert len(status["business_ids"]) == 2
        assert httpx.get(f"{sandbox.urls.api}/businesses").status_code == 401


def test_help_teaches_the_options() -> None:
    result = run("serve", "--help")
    assert result.returncode == 0
    for option in ("--port", "--seed", "--businesses", "--invoices", "--per-minute", "--error-rate"):
        assert option in result.stdout


def test_user_availability_and_dialect_flags() -> None:
    def config(*flags: str) -> SandboxConfig:
        return config_from(parser().parse_args(["serve", *flags]))

    assert config() == SandboxConfig()
    chosen = config(
        "--dialect",
        "variant",
        "--read-only",
        "--role",
        "Bank=No Access",
        "--product",
        "1=Accounting Start",
        "--unavailable",
        "1=sales_credit_notes",
        "--unavailable",
        "1=purchase_credit_notes",
    )
    assert chosen.dialect == "variant" and chosen.products == {1: "Accounting Start"}
    assert chosen.unavailable == {1: ("sales_credit_notes", "purchase_credit_notes")}
    assert chosen.roles_of(0)["Sales"] == "Read Only" and chosen.roles_of(1)["Bank"] == "No Access"
    only_second = config("--read-only", "--roles-for", "1")
    assert set(only_second.roles_of(0).values()) == {"Full Access"}
    assert set(only_second.roles_of(1).values()) == {"Read Only"}


def test_bad_arguments_fail_with_one_clear_line() -> None:
    for args, message in (
        (("serve", "--invoices", "-5"), "must not be negative"),
        (("serve", "--error-rate", "2"), "between 0 and 1"),
        (("serve", "--now", "soon"), "ISO date-time"),
        (("serve", "--businesses", "0"), "at least 1"),
        (("serve", "--role", "Sales=Boss"), "expected AREA=ROLE"),
        (("serve", "--dialect", "cockney"), "invalid choice"),
        (("serve", "--port", "0", "--unavailable", "0=journals"), "cannot do without journals"),
    ):
        result = run(*args)
        assert result.returncode == 2, args
        assert message in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_a_taken_port_is_reported_before_building_books() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run("serve", "--port", str(taken.getsockname()[1]))
    assert result.returncode == 1
    assert "cannot listen" in result.stderr and "Traceback" not in result.stderr
