"""``sage-pipeline``: connect Sage, list businesses, load the books, run the demo.

Exit codes (for schedulers): ``pipelines.exits.Exit``, each with its meaning; `sage-pipeline --help`
lists them, and ``KINDS`` below says which errors exit with which.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import traceback
import webbrowser
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NoReturn, TextIO

from dlt.common.configuration.exceptions import (
    ConfigFieldMissingException,
    ConfigValueCannotBeCoercedException,
)
from dlt.common.destination.client import DestinationClientConfiguration
from dlt.destinations.exceptions import DestinationConnectionError

from pipelines.auth_flow import run_auth
from pipelines.connections_list import connection_statuses, print_connections
from pipelines.disk import chain, disk_full, mentions_full_disk
from pipelines.exits import Exit, exit_codes_help
from pipelines.integrity import DuplicateKeysError
from pipelines.marts import MartsError, MartsReport
from pipelines.notebook import NotebookCellError, NotebookInputError, NotebookRequest, run_notebooks
from pipelines.notebook_warehouse import marts_location
from pipelines.package import MissingExtraError, require_extra, version
from pipelines.report import print_notebook_reports, print_report
from pipelines.runner import (
    DUCKDB_MEMORY_LIMIT,
    PIPELINE_NAME,
    RunLocked,
    RunRequest,
    RunSettingsError,
    connection_pipeline_name,
    run,
)
from pipelines.settings import pipeline_settings
from pipelines.warehouse_server import DestinationLoginError, DestinationUnreachableError, WarehouseLocked
from sage_source.config import SagePipelineConfiguration, public_setting_names
from sage_source.connection import SageConnection
from sage_source.connections import check_name
from sage_source.errors import (
    ReauthorizationError,
    SageSourceError,
    SageUnavailableError,
    TokenStoreUnwritableError,
)
from sage_source.settings import RESOURCE_NAMES
from sage_source.token_store import open_token_store

# The codes under the names the tests and older callers use; pipelines/exits.py defines them.
EXIT_OK, EXIT_BUG, EXIT_CONFIG = Exit.OK, Exit.BUG, Exit.CONFIG
EXIT_REAUTH, EXIT_SAGE = Exit.REAUTH, Exit.SAGE
EXIT_LOAD, EXIT_MARTS, EXIT_NOTEBOOK = Exit.LOAD, Exit.MARTS, Exit.NOTEBOOK
EXIT_DISK, EXIT_LOCKED = Exit.DISK, Exit.LOCKED

DESCRIPTION = """\
Load Sage Business Cloud Accounting books into DuckDB (or any dlt destination).

First time:
  1. Register an app at https://developerselfservice.sageone.com with the redirect URI
     http://localhost:8976/callback and put its keys in .dlt/secrets.toml:
         [sources.sage_accounting]
         client_id = "..."
         client_secret = "..."
  2. sage-pipeline auth          # approve access in the browser; tokens go to the token store
  3. sage-pipeline run           # every business, every resource, into ./sage_accounting.duckdb
Then schedule `sage-pipeline run`: each run reads only what changed.
"""

EPILOG = f"""\
Settings are read the dlt way: [sources.sage_accounting] in .dlt/config.toml and
.dlt/secrets.toml, or SOURCES__SAGE_ACCOUNTING__<NAME> environment variables (CLIENT_ID,
CLIENT_SECRET, TOKEN_STORE, API_BASE_URL, TOKEN_URL, AUTHORIZE_URL, REFRESH_TOKEN, ...).
The DuckDB file can also come from DESTINATION__DUCKDB__CREDENTIALS.

{exit_codes_help()}
"""


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line (argparse prints the whole usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_CONFIG, f"{self.prog}: {message} (`{self.prog} --help` lists the options)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sage-pipeline",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.add_argument("--debug", action="store_true", help="log every request and show tracebacks")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    auth = commands.add_parser(
        "auth",
        help="connect a Sage account (OAuth in the browser) and store its tokens",
        description="Open Sage's consent page, receive the answer on a loopback address, store the tokens "
        "(0600) in the token store and list the businesses they reach. Run it once, and again "
        "whenever a run exits with code 3.",
    )
    _add_connection_argument(auth, "the connection to add or renew")
    auth.add_argument(
        "--no-browser", action="store_true", help="print the address instead of opening a browser"
    )
    auth.add_argument(
        "--timeout", type=float, default=300, help="seconds to wait for the approval (default 300)"
    )
    auth.add_argument(
        "--redirect-uri",
        help="loopback address registered with the Sage app (default: the redirect_uri setting, "
        "else http://localhost:8976/callback)",
    )

    businesses = commands.add_parser(
        "businesses",
        help="list the businesses the stored tokens reach",
        description="List every business the connected Sage user can reach, with the ids --business takes.",
    )
    _add_connection_argument(businesses, "whose businesses")

    connections = commands.add_parser(
        "connections",
        help="list the connections (Sage users' consents): their tokens, businesses and last run",
        description="List every connection declared in [sources.sage_accounting.connections.<name>], held "
        "in the token store or added by `auth --connection NAME`: where its tokens are and whether they "
        "work, the businesses Sage lists for it, and when its pipeline last ran here.",
    )
    connections.add_argument(
        "--offline", action="store_true", help="do not ask Sage for each connection's businesses"
    )
    connections.add_argument("--pipelines-dir", help="where dlt keeps the pipelines' state (default dlt's)")

    run_cmd = commands.add_parser(
        "run",
        help="load (incrementally) every business and resource into the warehouse",
        description="Read what changed in Sage since the last run and merge it into the warehouse. "
        "The first run reads everything (or since --start-date).",
        epilog=f"resources: {', '.join(RESOURCE_NAMES)}",
    )
    _add_run_arguments(run_cmd)

    notebook = commands.add_parser(
        "notebook",
        help="run the cash-flow analysis notebook for each business: an HTML page, PNG charts and their data",
        description="Execute notebooks/cash_flow_analysis.ipynb (papermill) on the marts in the warehouse "
        "(the DuckDB file, or PostgreSQL with --destination postgres), once per business, into "
        "OUT/<business>/: cash_flow_analysis.html (self-contained), the executed .ipynb, and charts/ with "
        "each chart as PNG beside a CSV of its data and summary.json.",
    )
    notebook.add_argument(
        "--destination",
        default="duckdb",
        help="the warehouse `sage-pipeline run` loaded: duckdb (default) or postgres, with the same "
        "credentials (DESTINATION__POSTGRES__CREDENTIALS or .dlt/secrets.toml)",
    )
    notebook.add_argument(
        "--duckdb",
        metavar="PATH",
        help="DuckDB file with the marts "
        f"(default: DESTINATION__DUCKDB__CREDENTIALS, else ./{PIPELINE_NAME}.duckdb)",
    )
    notebook.add_argument(
        "--business",
        action="append",
        dest="businesses",
        metavar="ID_OR_NAME",
        help="a business id or exact name (repeatable; default every business)",
    )
    notebook.add_argument(
        "--from",
        dest="start_date",
        type=_iso_date,
        metavar="DATE",
        help="first day charted (default: a year before --to)",
    )
    notebook.add_argument(
        "--to",
        dest="end_date",
        type=_iso_date,
        metavar="DATE",
        help="last day charted (default: the marts' as-of date)",
    )
    notebook.add_argument(
        "--minimum-cash",
        type=_amount,
        metavar="AMOUNT",
        help="the forecast's minimum-cash line, base currency (default: the dbt var minimum_cash)",
    )
    notebook.add_argument("--out", default="reports", help="where the reports go (default ./reports)")

    demo = commands.add_parser(
        "demo",
        help="start a local Sage sandbox, load it into DuckDB, build the marts, chart them in the notebook",
        description="Everything end to end without a Sage account: a sandbox Sage on loopback, "
        "`auth` against it, a first run, a week of business, an incremental run with `dbt build`, and "
        "the cash-flow notebook for each business (HTML and PNGs in DIR/reports).",
    )
    demo.add_argument("--invoices", type=int, default=2000, help="sales invoices per business (default 2000)")
    demo.add_argument(
        "--dir", default=".demo", help="where the demo keeps its DuckDB file and tokens (default .demo)"
    )
    return parser


def _add_connection_argument(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--connection",
        metavar="NAME",
        help=f"{what}: a connection's name (default: the connection_name setting, else default)",
    )


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    _add_connection_argument(parser, "whose books to load")
    parser.add_argument(
        "--resources",
        type=_names,
        help="comma-separated resources to load (default: all), e.g. sales_invoices,contact_payments",
    )
    parser.add_argument(
        "--business",
        action="append",
        dest="businesses",
        metavar="ID",
        help="a business id to load (repeatable; default all)",
    )
    parser.add_argument(
        "--start-date", help="first run only: load rows created or updated since this date (YYYY-MM-DD)"
    )
    parser.add_argument(
        "--full-refresh",
        action="store_true",
        help="forget the watermarks and read everything again; tables are kept and merged, and rows "
        "that vanished from Sage are marked deleted; the marts are rebuilt whole (--full-refresh-marts)",
    )
    parser.add_argument(
        "--full-refresh-marts",
        action="store_true",
        help="rebuild every mart from scratch (`dbt build --full-refresh`) instead of only the periods "
        "the load changed; the load itself stays incremental",
    )
    parser.add_argument(
        "--dataset",
        default="sage",
        help="dataset (schema) to load into, as the destination writes it, e.g. sage_prod (default sage)",
    )
    parser.add_argument(
        "--destination",
        default="duckdb",
        help="a dlt destination: duckdb (default), postgres (DESTINATION__POSTGRES__CREDENTIALS; dbt builds "
        "the marts there too), filesystem (Delta tables; DESTINATION__FILESYSTEM__BUCKET_URL), or another "
        "of dlt's (loaded, no marts)",
    )
    parser.add_argument(
        "--duckdb",
        metavar="PATH",
        help="DuckDB file (default: DESTINATION__DUCKDB__CREDENTIALS, else ./sage_accounting.duckdb)",
    )
    parser.add_argument(
        "--duckdb-memory-limit",
        metavar="SIZE",
        default=DUCKDB_MEMORY_LIMIT,
        help=f"DuckDB's memory while loading, e.g. 2GB (default {DUCKDB_MEMORY_LIMIT}; beyond it, disk)",
    )
    parser.add_argument(
        "--pipeline-name",
        help=f"dlt pipeline name: letters, digits, _ - . (default {PIPELINE_NAME}, or "
        f"{PIPELINE_NAME}_<connection> for --connection)",
    )
    parser.add_argument("--pipelines-dir", help="where dlt keeps the pipeline's state (default dlt's)")
    parser.add_argument(
        "--skip-dbt", action="store_true", help="load only; do not run `dbt build` over the load afterwards"
    )
    parser.add_argument(
        "--dbt-project-dir",
        metavar="DIR",
        help="the dbt project (default: the one installed with sage-pipeline, dbt_models/ in the repository)",
    )
    parser.add_argument(
        "--as-of-date",
        type=_iso_date,
        help="the marts' today for open items, aging and the forecast (default: when the books were read)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        default=None,
        help="exit 4 when Sage refused a resource (the user's role) or does not offer it for a business "
        "(default: the strict setting, else false: skip it, load the rest, say so)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress, only the summary and errors")


def _iso_date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD") from None


def _amount(text: str) -> Decimal:
    try:
        amount = Decimal(text)
        if not amount.is_finite():  # "NaN" and "Infinity" parse, but are no amount
            raise InvalidOperation(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an amount: use digits, e.g. 25000 or 25000.50"
        ) from None
    return amount


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"{text!r} names no resource: give one or more, comma-separated")
    return names


# -- commands -------------------------------------------------------------------------------------


def _connection(args: argparse.Namespace) -> dict[str, str]:
    """The ``--connection`` flag as an explicit setting (none given: the setting's own value)."""
    return {"connection_name": check_name(args.connection)} if args.connection else {}


def command_auth(args: argparse.Namespace, out: TextIO) -> int:
    explicit = {**_connection(args), **({"redirect_uri": args.redirect_uri} if args.redirect_uri else {})}
    settings = pipeline_settings(**explicit)
    opener = None if args.no_browser else webbrowser.open
    businesses = run_auth(settings, out, open_url=opener, timeout=args.timeout)
    store = open_token_store(settings)  # where run_auth saved them: the file, or the shared database
    mode = "" if settings.token_store_credentials else " (mode 0600)"
    print(f"Connected. Tokens stored in {store.location}{mode}.", file=out)
    _print_businesses(businesses, out)
    return EXIT_OK


def command_businesses(args: argparse.Namespace, out: TextIO) -> int:
    with SageConnection(pipeline_settings(**_connection(args))) as sage:
        _print_businesses(sage.businesses(), out)
    return EXIT_OK


def command_connections(args: argparse.Namespace, out: TextIO) -> int:
    print_connections(connection_statuses(not args.offline, args.pipelines_dir), out)
    return EXIT_OK


def command_run(args: argparse.Namespace, out: TextIO) -> int:
    connection = check_name(args.connection) if args.connection else None
    request = RunRequest(
        pipeline_name=args.pipeline_name or connection_pipeline_name(connection),
        connection=connection,
        dataset=args.dataset,
        destination=args.destination,
        duckdb_path=args.duckdb,
        duckdb_memory_limit=args.duckdb_memory_limit,
        pipelines_dir=args.pipelines_dir,
        resources=args.resources,
        business_ids=args.businesses,
        start_date=args.start_date,
        full_refresh=args.full_refresh,
        full_refresh_marts=args.full_refresh_marts,
        progress=not args.quiet,
        build_marts=not args.skip_dbt,
        dbt_project_dir=args.dbt_project_dir,
        as_of_date=args.as_of_date,
        strict=args.strict,
    )
    report = run(request)
    print_report(report, out)
    incomplete = report.incomplete
    if incomplete:
        names = "; ".join(f"{u.resource} of business {u.business_id} ({u.outcome})" for u in incomplete[:5])
        more = f" and {len(incomplete) - 5} more" if len(incomplete) > 5 else ""
        print(
            f"sage-pipeline run: Sage: {len(incomplete)} business × resource(s) did not load: {names}{more}. "
            "Everything else loaded; the run summary says why. Run again later",
            file=sys.stderr,
        )
        return EXIT_SAGE
    if report.marts is not None and not report.marts.ok:
        if in_use := _duckdb_in_use(report.marts.failures):  # taken between the load and dbt
            print(f"sage-pipeline run: the data loaded, but dbt could not build: {in_use}", file=sys.stderr)
            return EXIT_LOCKED
        print(f"sage-pipeline run: the data loaded, but {marts_failure(report.marts)}", file=sys.stderr)
        return EXIT_MARTS
    return EXIT_OK


def marts_failure(marts: MartsReport) -> str:
    """What failed in ``dbt build``, in one line: the reconciliations that did not tie first."""
    named = marts.reconciliations_failed
    if named:
        return (
            f"{len(named)} reconciliation(s) did not tie: {', '.join(named)}; every mart was built, and "
            "the differences are in marts.reconciliation_failures"
        )
    first = marts.failures[0] if marts.failures else "see dbt's logs"
    more = (
        f" (and {len(marts.failures) - 1} more; the run summary lists them)"
        if len(marts.failures) > 1
        else ""
    )
    return f"dbt build failed: {first}{more}"


def command_notebook(args: argparse.Namespace, out: TextIO) -> int:
    marts = marts_location(args.destination, args.duckdb)
    request = NotebookRequest(
        database=marts.database,
        password=marts.password,
        out_dir=Path(args.out).expanduser(),
        businesses=args.businesses or (),
        start_date=args.start_date,
        end_date=args.end_date,
        minimum_cash=args.minimum_cash,
    )
    print_notebook_reports(run_notebooks(request), out)
    return EXIT_OK


def command_demo(args: argparse.Namespace, out: TextIO) -> int:
    require_extra("sandbox", "the demo (a local sandbox Sage)")
    from pipelines.demo import run_demo  # noqa: PLC0415 (the sandbox is only needed for the demo)

    return run_demo(invoices=args.invoices, folder=args.dir, out=out)


def _print_businesses(businesses: Sequence[dict[str, Any]], out: TextIO) -> None:
    print(f"{len(businesses)} business(es):", file=out)
    for business in businesses:
        print(f"  {business['id']}  {business.get('name') or business.get('displayed_as') or ''}", file=out)


COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO], int]] = {
    "auth": command_auth,
    "businesses": command_businesses,
    "connections": command_connections,
    "run": command_run,
    "notebook": command_notebook,
    "demo": command_demo,
}


# -- errors -> one line and an exit code -----------------------------------------------------------


# Each kind of error and its exit code, with how its line reads ("{}" is the error's own words).
# A cause takes the row of its nearest class (its MRO): TokenStoreInvalidError is a ReauthorizationError,
# SageApiError a SageUnavailableError, both SageSourceErrors (bad settings, unless a subclass says more).
KINDS: dict[type[BaseException], tuple[Exit, str]] = {
    SageSourceError: (Exit.CONFIG, "{}"),
    ReauthorizationError: (Exit.REAUTH, "{}"),
    SageUnavailableError: (Exit.SAGE, "Sage: {}"),
    RunSettingsError: (Exit.CONFIG, "{}"),
    MissingExtraError: (Exit.CONFIG, "{}"),
    MartsError: (Exit.CONFIG, "{}"),
    NotebookInputError: (Exit.CONFIG, "{}"),
    DuplicateKeysError: (Exit.LOAD, "the destination holds {}"),
    NotebookCellError: (Exit.NOTEBOOK, "{}"),
    RunLocked: (Exit.LOCKED, "{}; nothing was done. Try again when it has finished."),
    WarehouseLocked: (Exit.LOCKED, "{} is in progress; nothing was done. Try again when it has finished."),
    DestinationLoginError: (Exit.CONFIG, "{}"),
    DestinationUnreachableError: (Exit.LOAD, "{}"),
}


def kind(error: BaseException) -> tuple[Exit, str] | None:
    """``error``'s exit code and line from ``KINDS``, or None when it is of no kind listed there."""
    if isinstance(error, TokenStoreUnwritableError) and error.disk_full:
        return Exit.DISK, str(error)
    for cls in type(error).__mro__:
        if cls in KINDS:
            code, line = KINDS[cls]
            return code, line.format(error)
    return None


def classify(error: BaseException) -> tuple[int, str]:
    """The exit code and the one line to print for a failure (wrapped by dlt or not)."""
    causes = list(chain(error))
    full = disk_full(error)  # None when a SageSourceError (e.g. the token store's own) says more
    if full is not None:
        return EXIT_DISK, str(full)
    if in_use := _duckdb_in_use(map(str, causes)):
        return EXIT_LOCKED, in_use
    for cause in causes:
        if (found := kind(cause) or _dlt_kind(cause, causes[-1])) is not None:
            return found
    step = getattr(error, "step", None)
    if step == "load":
        return EXIT_LOAD, f"the destination failed to load: {_first_line(causes[-1])}"
    return (
        EXIT_BUG,
        f"unexpected error: {type(causes[-1]).__name__}: {_first_line(causes[-1])} (rerun with --debug)",
    )


def _dlt_kind(cause: BaseException, root: BaseException) -> tuple[int, str] | None:
    """dlt's own errors that are a user's to fix (outside our kinds): exit 2 and the setting to fix."""
    if isinstance(cause, ConfigFieldMissingException):
        return EXIT_CONFIG, _missing_settings(cause)
    if isinstance(cause, ConfigValueCannotBeCoercedException):
        return EXIT_CONFIG, _uncoercible_setting(cause)
    if isinstance(cause, DestinationConnectionError):  # e.g. a DuckDB path that cannot be opened
        return EXIT_CONFIG, (
            f"cannot open the destination: {_first_line(root)}. Check its settings "
            "(--duckdb, DESTINATION__<NAME>__CREDENTIALS) and run again"
        )
    return None


def _missing_settings(error: ConfigFieldMissingException) -> str:
    """The missing settings and where to put them: the destination's own section, or the source's."""
    if isinstance(error.config, DestinationClientConfiguration):
        return _missing_destination_settings(error.config.destination_type, error.fields)
    names = ", ".join(error.fields)
    env = ", ".join(f"SOURCES__SAGE_ACCOUNTING__{name.upper()}" for name in error.fields)
    return (
        f"missing setting(s): {names}. Add them under [sources.sage_accounting] in .dlt/secrets.toml "
        f"(or .dlt/config.toml), or set {env}"
    )


def _missing_destination_settings(destination: str, fields: list[str]) -> str:
    section = f"DESTINATION__{destination.upper()}"
    env = ", ".join(f"{section}__{name.upper()}" for name in fields)
    example = next((e for name in fields if (e := _SETTING_EXAMPLES.get((destination, name)))), None)
    return (
        f"the {destination} destination is missing {', '.join(fields)}: "
        f"set {env}{f' ({example})' if example else ''}, or put "
        f"them under [destination.{destination}] in .dlt/secrets.toml"
    )


# What a destination's setting looks like, for the line that says it is missing.
_SETTING_EXAMPLES = {
    ("postgres", "credentials"): "a URL such as postgresql://user:password@host:5432/database",
    ("filesystem", "bucket_url"): "a folder, or a URL such as s3://bucket/path",
}


# DuckDB's words when another process has the file open (its lock is held while a connection lives).
_DUCKDB_LOCK = re.compile(
    r'Could not set lock on file "(?P<path>[^"]+)": Conflicting lock is held in (?P<program>.+?) '
    r"\(PID (?P<pid>\d+)\)"
)


def _duckdb_in_use(messages: Iterable[str]) -> str | None:
    """The line for a DuckDB file another live process holds open, if DuckDB said so in one of them."""
    for message in messages:
        found = _DUCKDB_LOCK.search(message)
        if found:
            return (
                f"the DuckDB file {found['path']} is in use by process {found['pid']} ({found['program']}); "
                "try again when it has finished"
            )
    return None


# Our settings, whose value a message may quote (a secret's never is).
_SOURCE_SETTINGS = public_setting_names(SagePipelineConfiguration)
# What each setting's type asks for, in the words of a .dlt/config.toml or an environment variable.
_EXPECTED = {
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    list: 'a JSON list like ["a", "b"]',
}


def _uncoercible_setting(error: ConfigValueCannotBeCoercedException) -> str:
    hint = getattr(error.hint, "__origin__", error.hint)
    expected = _EXPECTED.get(hint, f"a {getattr(hint, '__name__', hint)}")
    name = error.field_name
    if name not in _SOURCE_SETTINGS:  # a destination's or dlt's own: its value may be a secret
        return (
            f"the setting {name} is not {expected}: fix it where it is set "
            "(.dlt/config.toml, .dlt/secrets.toml or its environment variable)"
        )
    return (
        f"the setting {name} is {error.field_value!r}, which is not {expected}: fix it under "
        f"[sources.sage_accounting] in .dlt/config.toml, or SOURCES__SAGE_ACCOUNTING__{name.upper()}"
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    _configure_logging(args)
    try:
        return COMMANDS[args.command](args, out)
    except KeyboardInterrupt:
        print("sage-pipeline: interrupted", file=sys.stderr)
        return Exit.INTERRUPTED
    except Exception as error:
        code, message = classify(error)
        if args.debug:
            logging.getLogger("sage_pipeline").exception("failed")
        print(f"sage-pipeline {args.command}: {message}", file=sys.stderr)
        return code


def _configure_logging(args: argparse.Namespace) -> None:
    level = (
        logging.DEBUG if args.debug else logging.WARNING if getattr(args, "quiet", False) else logging.INFO
    )
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # What did not load is said once, in the run summary (``report.print_outcomes``), not also logged.
    logging.getLogger("sage_source.outcomes").setLevel(logging.ERROR)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    dlt_logger = logging.getLogger("dlt")  # dlt's own logger: its handler, its level (runtime.log_level)
    for earlier in [f for f in dlt_logger.filters if isinstance(f, _FullDiskNoise)]:
        dlt_logger.removeFilter(earlier)  # main() called again in one process starts afresh
    if not args.debug:
        dlt_logger.addFilter(_FullDiskNoise())


class _FullDiskNoise(logging.Filter):
    """Drops dlt's records about a full disk, and what it logs after one: it logs each load job
    that fails on it and each of its retries with DuckDB's traceback (thousands of lines), then
    that the package was not fully loaded. The command's last line says it once, naming the
    folder. ``--debug`` shows them."""

    def __init__(self) -> None:
        super().__init__()
        self.disk_full = False

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.disk_full:
            text = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                text += "".join(traceback.format_exception(record.exc_info[1]))
            self.disk_full = mentions_full_disk(text)
        return not self.disk_full


if __name__ == "__main__":
    sys.exit(main())
