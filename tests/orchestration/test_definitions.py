"""The Dagster definitions (``sage_orchestration``), in-process against two sandboxes over HTTP.

Two connections, each its own Sage user with its own token chain (two logins) and its own books
(``acme`` on seed 7, ``beta`` on seed 3, whose section points at the second sandbox): the sensor
finds exactly each one's businesses, a load of one partition of each fills each connection's own
DuckDB file equal to its sandbox's books, the marts build over a connection once all its businesses
have loaded, and every run carries its connection's tag; one load goes to PostgreSQL through a
destination named per connection. One load runs under the multiprocess executor, as ``dagster dev``
runs it, from the module the README names. The tests share one Dagster instance and warehouse folder
and build on each other in file order (loads, then the marts over them).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    Definitions,
    DeleteDynamicPartitionsRequest,
    RunRequest,
    SensorResult,
    build_schedule_context,
    build_sensor_context,
    execute_job,
    instance_for_test,
)
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._core.instance.ref import InstanceRef

from pipelines.package import data_folder
from sage_orchestration.definitions import SETTINGS, definitions, defs
from sage_orchestration.partitions import CONNECTION_TAG, CONNECTIONS_NAME, LOADS_NAME, partition_key
from sage_orchestration.schedules import sage_hourly
from sage_orchestration.sensors import sage_businesses, sage_marts_due
from sage_orchestration.warehouse import SageWarehouse
from sage_sandbox import SandboxConfig, SandboxServer
from testkit.pipeline_env import PREFIX, patched_env, sage_env
from testkit.sage_http import login
from testkit.sandboxes import SMALL
from testkit.warehouse import PostgresWarehouse, Warehouse, mismatches

BOOKS = {"invoices": 30, "history_days": 60}  # small books: every resource, quick on two cores


@dataclass
class Setup:
    acme: SandboxServer
    beta: SandboxServer
    folder: Path  # the warehouse resource's folder
    instance: DagsterInstance

    @property
    def servers(self) -> dict[str, SandboxServer]:
        return {"acme": self.acme, "beta": self.beta}

    def defs(self) -> Definitions:
        return definitions(SageWarehouse(folder=str(self.folder)))

    def warehouse(self, connection: str) -> Warehouse:
        return Warehouse(self.folder / f"{connection}.duckdb", dataset=f"sage_{connection}")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("dagster")
    (root / "dagster_home").mkdir()
    with (
        SandboxServer(SandboxConfig(**{**SMALL.__dict__, **BOOKS})) as acme,
        SandboxServer(SandboxConfig(**{**SMALL.__dict__, **BOOKS, "seed": 3})) as beta,
        instance_for_test(temp_dir=str(root / "dagster_home")) as instance,
    ):
        # Shared settings point at acme's sandbox; beta's own section at its own. Each connection's
        # chain is seeded with a refresh token of its own login, into its own token file.
        env = sage_env(acme, root / "tokens.json", None)
        for name, server in (("acme", acme), ("beta", beta)):
            section = f"{PREFIX}CONNECTIONS__{name.upper()}__"
            env[f"{section}REFRESH_TOKEN"] = str(login(server.urls)["refresh_token"])
            env[f"{section}API_BASE_URL"] = server.urls.api
            env[f"{section}TOKEN_URL"] = server.urls.token
        env[SETTINGS["folder"]] = str(root / "warehouses")  # for the multiprocess run's own import
        with patched_env(env):
            yield Setup(acme, beta, root / "warehouses", instance)


def _apply(instance: DagsterInstance, result: SensorResult) -> None:
    """What the daemon does with a sensor's partition requests."""
    for request in result.dynamic_partitions_requests or []:
        if isinstance(request, DeleteDynamicPartitionsRequest):
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)
        else:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))


def _sensed(instance: DagsterInstance) -> SensorResult:
    result = sage_businesses(build_sensor_context(instance=instance))
    assert isinstance(result, SensorResult)
    return result


def _expected_keys(setup: Setup) -> set[str]:
    return {
        partition_key(name, business)
        for name, server in setup.servers.items()
        for business in server.sandbox.business_ids
    }


def test_definitions_load_and_dagster_yaml_limits_each_connection(tmp_path: Path) -> None:
    Definitions.validate_loadable(defs)
    assert {job.name for job in defs.resolve_all_job_defs()} >= {"sage_load", "sage_build_marts"}
    assert defs.resolve_assets_def(AssetKey(["sage", "tables"])).op.pool == "sage_api"
    # The dagster.yaml the README points to, read and checked by Dagster's own instance loader.
    ref = InstanceRef.from_dir(str(tmp_path), config_dir=str(data_folder("sage_orchestration")))
    with DagsterInstance.from_ref(ref) as instance:
        concurrency = instance.get_concurrency_config()
    assert concurrency.run_queue_config is not None
    limit = {"key": CONNECTION_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
    assert limit in concurrency.run_queue_config.tag_concurrency_limits
    assert concurrency.pool_config.default_pool_limit == 4


def test_sensor_adds_exactly_each_connections_businesses(setup: Setup) -> None:
    result = _sensed(setup.instance)
    added = {
        (request.partitions_def_name, key)
        for request in result.dynamic_partitions_requests or []
        for key in request.partition_keys or []
    }
    assert added == {(LOADS_NAME, key) for key in _expected_keys(setup)} | {
        (CONNECTIONS_NAME, "acme"),
        (CONNECTIONS_NAME, "beta"),
    }
    # A first load for each new partition, tagged with its connection.
    first_loads = {request.partition_key: request.tags for request in result.run_requests or []}
    assert first_loads == {key: {CONNECTION_TAG: key.split("|")[0]} for key in _expected_keys(setup)}
    _apply(setup.instance, result)

    again = _sensed(setup.instance)
    assert not again.dynamic_partitions_requests and not again.run_requests  # nothing new


def test_sensor_follows_business_ids_and_one_connections_failure_is_its_own(
    setup: Setup, tmp_path: Path
) -> None:
    kept, dropped = (partition_key("gamma", b) for b in setup.acme.sandbox.business_ids)
    # Token files away from the shared one's folder, so later tests do not find these connections.
    more = {
        f"{PREFIX}CONNECTIONS__GAMMA__TOKEN_STORE": str(tmp_path / "gamma.json"),
        f"{PREFIX}CONNECTIONS__GAMMA__REFRESH_TOKEN": str(login(setup.acme.urls)["refresh_token"]),
        f"{PREFIX}CONNECTIONS__DEAD__TOKEN_STORE": str(tmp_path / "dead.json"),
        f"{PREFIX}CONNECTIONS__DEAD__REFRESH_TOKEN": "a-token-sage-never-issued",
    }
    with patched_env(more), instance_for_test() as instance:
        result = _sensed(instance)
        added = {
            key for request in result.dynamic_partitions_requests or [] for key in request.partition_keys
        }
        assert {kept, dropped} | _expected_keys(setup) <= added
        assert not any(key.startswith("dead") for key in added)  # Sage refused it: logged, the others go on
        _apply(instance, result)

        # gamma's section now names one business: the other's partition goes, nothing else does.
        with patched_env({f"{PREFIX}CONNECTIONS__GAMMA__BUSINESS_IDS": json.dumps([kept.split("|")[1]])}):
            again = _sensed(instance)
        assert [
            (type(request).__name__, list(request.partition_keys))
            for request in again.dynamic_partitions_requests or []
        ] == [("DeleteDynamicPartitionsRequest", [dropped])]
        assert not again.run_requests


def test_loads_of_two_connections_equal_their_books_and_carry_their_tag(setup: Setup) -> None:
    _apply(setup.instance, _sensed(setup.instance))
    load = setup.defs().resolve_job_def("sage_load")
    for name, server in setup.servers.items():
        business = server.sandbox.business_ids[0]
        result = load.execute_in_process(partition_key=partition_key(name, business), instance=setup.instance)
        assert result.success
        assert result.dagster_run.tags[CONNECTION_TAG] == name
        with setup.warehouse(name) as warehouse:
            assert mismatches(warehouse, server.sandbox, business_ids=[business]) == []
            loaded = {row["business_id"] for row in warehouse.rows("businesses")}
            assert loaded == {business}  # one connection's dataset holds only its own books
    assert not (setup.folder / "pipelines" / "sage_acme_marts").exists()  # no marts asked for yet


def test_a_load_into_postgres_through_a_destination_named_per_connection(setup: Setup, database: str) -> None:
    """``pg_{connection}``: each connection's own database (README), here acme's, row for row."""
    _apply(setup.instance, _sensed(setup.instance))
    business = setup.acme.sandbox.business_ids[0]
    named = {
        "DESTINATION__PG_ACME__DESTINATION_TYPE": "postgres",
        "DESTINATION__PG_ACME__CREDENTIALS": database,
    }
    warehouse = SageWarehouse(folder=str(setup.folder / "pg"), destination="pg_{connection}")
    with patched_env(named):
        result = (
            definitions(warehouse)
            .resolve_job_def("sage_load")
            .execute_in_process(partition_key=partition_key("acme", business), instance=setup.instance)
        )
    assert result.success
    with PostgresWarehouse(database, dataset="sage_acme") as loaded:
        assert mismatches(loaded, setup.acme.sandbox, business_ids=[business]) == []


def test_marts_follow_a_connection_once_all_its_businesses_loaded(setup: Setup) -> None:
    # acme's first business loaded above; its second is still missing, so no marts yet.
    due = list(sage_marts_due(build_sensor_context(instance=setup.instance)))  # type: ignore[arg-type]
    assert due == []
    second = partition_key("acme", setup.acme.sandbox.business_ids[1])
    assert (
        setup.defs()
        .resolve_job_def("sage_load")
        .execute_in_process(partition_key=second, instance=setup.instance)
        .success
    )

    due = list(sage_marts_due(build_sensor_context(instance=setup.instance)))  # type: ignore[arg-type]
    assert [(r.partition_key, r.tags) for r in due] == [("acme", {CONNECTION_TAG: "acme"})]
    built = (
        setup.defs()
        .resolve_job_def("sage_build_marts")
        .execute_in_process(partition_key="acme", instance=setup.instance)
    )
    assert built.success
    assert built.dagster_run.tags[CONNECTION_TAG] == "acme"
    with duckdb.connect(str(setup.folder / "acme.duckdb"), read_only=True) as db:
        businesses = db.execute("select distinct business_id from marts.rpt_headline_figures").fetchall()
    assert {row[0] for row in businesses} == set(setup.acme.sandbox.business_ids)
    assert list(sage_marts_due(build_sensor_context(instance=setup.instance))) == []  # type: ignore[arg-type]


def test_hourly_schedule_asks_for_every_partition_with_its_connection(setup: Setup) -> None:
    requests = list(sage_hourly(build_schedule_context(instance=setup.instance)))  # type: ignore[arg-type]
    assert all(isinstance(request, RunRequest) for request in requests)
    assert {r.partition_key: r.tags[CONNECTION_TAG] for r in requests} == {
        key: key.split("|")[0] for key in _expected_keys(setup)
    }


def test_a_load_under_the_multiprocess_executor(setup: Setup) -> None:
    """The job as ``dagster dev`` runs it: rebuilt from the module in a child process per step."""
    business = setup.beta.sandbox.business_ids[1]
    key = partition_key("beta", business)
    job = ReconstructableRepository.for_module(
        "sage_orchestration.definitions", "defs", working_directory=str(Path.cwd())
    ).get_reconstructable_job("sage_load")
    with execute_job(job, instance=setup.instance, tags={"dagster/partition": key}) as result:
        assert result.success
    with setup.warehouse("beta") as warehouse:
        assert mismatches(warehouse, setup.beta.sandbox, business_ids=[business]) == []
