"""``sage-sandbox serve``: a seeded local Sage Accounting v3.1 server, in the foreground."""

from __future__ import annotations

import argparse
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import uvicorn

from sage_sandbox.access import AREAS, PRESETS, ROLES
from sage_sandbox.api.app import create_app
from sage_sandbox.catalog import DEFAULT_PRODUCT, PRODUCTS
from sage_sandbox.config import FaultsConfig, LimitsConfig, RolesSetting, SandboxConfig
from sage_sandbox.dialects import DIALECTS
from sage_sandbox.sandbox import Sandbox
from sage_sandbox.server import uvicorn_config


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def _probability(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO date-time such as 2026-11-21T12:00:00Z, got {text!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _area_role(text: str) -> tuple[str, str]:
    area, _, role = text.partition("=")
    if area not in AREAS or role not in ROLES:
        raise argparse.ArgumentTypeError(
            f"expected AREA=ROLE with an area of {', '.join(AREAS)} and a role of {', '.join(ROLES)}; "
            f"got {text!r}"
        )
    return area, role


def _indexed(text: str) -> tuple[int, str]:
    index, _, value = text.partition("=")
    if not index.isdigit() or not value:
        raise argparse.ArgumentTypeError(
            f"expected INDEX=VALUE with a business index (0 = lead), got {text!r}"
        )
    return int(index), value


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="sage-sandbox",
        description="A faithful local Sage Business Cloud Accounting v3.1 server "
        "for tests, demos and benchmarks.",
    )
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="serve a seeded sandbox until interrupted",
        description="Serve the API under /v3.1, authorize at /oauth2/auth/central, tokens at /token, "
        "and test controls under /_sandbox. Client: sandbox-client / sandbox-secret; "
        "any loopback redirect URI.",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_non_negative, default=8765, help="0 picks a free port")
    books = serve.add_argument_group("books")
    books.add_argument("--seed", type=int, default=1, help="the same seed gives the same books")
    books.add_argument(
        "--businesses", type=_positive, default=2, help="businesses of the demo user (GB, US, ...)"
    )
    books.add_argument(
        "--invoices", type=_non_negative, default=300, help="sales invoices per business over the history"
    )
    books.add_argument("--history-days", type=_positive, default=730)
    books.add_argument("--now", type=_moment, help="start the clock here instead of the real time")
    books.add_argument("--frozen-clock", action="store_true", help="time moves only through /_sandbox/clock")
    books.add_argument(
        "--snapshot-dir",
        type=Path,
        help="save the built books here and reuse them next time (needs --now); for large sandboxes",
    )
    books.add_argument(
        "--dialect",
        choices=sorted(DIALECTS),
        default="default",
        help="Sage's undocumented choices: control-account names, refusal bodies (see the README)",
    )
    books.add_argument(
        "--product",
        type=_indexed,
        action="append",
        default=[],
        metavar="INDEX=PRODUCT",
        help=f"a business's Sage product ({', '.join(PRODUCTS)}; default {DEFAULT_PRODUCT})",
    )
    books.add_argument(
        "--unavailable",
        type=_indexed,
        action="append",
        default=[],
        metavar="INDEX=LIST[,LIST]",
        help="lists a business does not offer (404; its books have none of them), "
        "e.g. 1=sales_credit_notes,purchase_credit_notes",
    )
    user = serve.add_argument_group("user (Full Access in every area unless given)")
    user.add_argument(
        "--role",
        type=_area_role,
        action="append",
        default=[],
        metavar="AREA=ROLE",
        help='e.g. "Sales=Read Only" or "Bank=No Access"; repeatable',
    )
    user.add_argument("--read-only", action="store_true", help="Read Only in every area (then --role)")
    user.add_argument(
        "--roles-for", type=int, metavar="INDEX", help="give those roles in this business only (0 = lead)"
    )
    oauth = serve.add_argument_group("oauth")
    oauth.add_argument("--client-id", default="sandbox-client")
    oauth.add_argument("--client-secret", default="sandbox-secret")
    oauth.add_argument("--access-token-ttl", type=_positive, default=300)
    oauth.add_argument("--refresh-token-ttl", type=_positive, default=2_678_400)
    limits = serve.add_argument_group("limits (off unless given)")
    limits.add_argument("--per-minute", type=_positive)
    limits.add_argument("--per-day", type=_positive)
    limits.add_argument("--concurrent", type=_positive)
    limits.add_argument("--latency", type=float, default=0.0, help="seconds each API request waits")
    limits.add_argument(
        "--window-seconds", type=_positive, default=60, help="the sliding window --per-minute counts over"
    )
    faults = serve.add_argument_group("faults (off unless given; seeded)")
    faults.add_argument("--fault-seed", type=int, default=0)
    faults.add_argument("--error-rate", type=_probability, default=0.0, help="500/502/503/504")
    faults.add_argument("--slow-rate", type=_probability, default=0.0)
    faults.add_argument("--slow-seconds", type=float, default=2.0)
    faults.add_argument("--drop-rate", type=_probability, default=0.0)
    faults.add_argument("--truncate-rate", type=_probability, default=0.0)
    faults.add_argument("--large-page-error-rate", type=_probability, default=0.0)
    faults.add_argument("--large-page-threshold", type=_positive, default=100)
    return root


def config_from(args: argparse.Namespace) -> SandboxConfig:
    """The config the flags describe; ``ValueError`` if the combination makes no sense."""
    given = {**(PRESETS["read_only"] if args.read_only else {}), **dict(args.role)}
    roles: RolesSetting = given or "full_access"
    unavailable: dict[int, tuple[str, ...]] = {}
    for index, names in args.unavailable:
        unavailable[index] = (*unavailable.get(index, ()), *names.split(","))
    return SandboxConfig(
        dialect=args.dialect,
        roles=roles if args.roles_for is None else "full_access",
        business_roles={} if args.roles_for is None else {args.roles_for: roles},
        products=dict(args.product),
        unavailable=unavailable,
        seed=args.seed,
        businesses=args.businesses,
        invoices=args.invoices,
        history_days=args.history_days,
        now=args.now,
        frozen_clock=args.frozen_clock,
        snapshot_dir=args.snapshot_dir,
        client_id=args.client_id,
        client_secret=args.client_secret,
        access_token_ttl=args.access_token_ttl,
        refresh_token_ttl=args.refresh_token_ttl,
        limits=LimitsConfig(
            args.per_minute, args.per_day, args.concurrent, args.latency, args.window_seconds
        ),
        faults=FaultsConfig(
            seed=args.fault_seed,
            error_rate=args.error_rate,
            slow_rate=args.slow_rate,
            slow_seconds=args.slow_seconds,
            drop_rate=args.drop_rate,
            truncate_rate=args.truncate_rate,
            large_page_error_rate=args.large_page_error_rate,
            large_page_threshold=args.large_page_threshold,
        ),
    )


def serve(args: argparse.Namespace) -> int:
    if args.snapshot_dir is not None and args.now is None:
        print(
            "sage-sandbox: --snapshot-dir needs --now (snapshots are of books built for a fixed start).",
            file=sys.stderr,
        )
        return 2
    try:  # fail on a taken port before spending minutes building books
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((args.host, args.port))
    except OSError as exc:
        print(
            f"sage-sandbox: cannot listen on {args.host}:{args.port}: {exc.strerror}. Pick another --port.",
            file=sys.stderr,
        )
        return 1
    started = time.perf_counter()
    try:
        sandbox = Sandbox(config_from(args))
    except ValueError as exc:
        print(f"sage-sandbox: {exc}", file=sys.stderr)
        return 2
    host, port = sock.getsockname()[:2]
    print(
        f"Sage sandbox on http://{host}:{port}  (books built in {time.perf_counter() - started:.1f}s)\n"
        f"  API        http://{host}:{port}/v3.1\n"
        f"  authorize  http://{host}:{port}/oauth2/auth/central\n"
        f"  token      http://{host}:{port}/token\n"
        f"  client     {args.client_id} / {args.client_secret}\n"
        f"  businesses {', '.join(sandbox.business_ids)} (lead first)\n"
        f"  controls   http://{host}:{port}/_sandbox/status",
        flush=True,
    )
    uvicorn.Server(uvicorn_config(create_app(sandbox))).run(sockets=[sock])
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
