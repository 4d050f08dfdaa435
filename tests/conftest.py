"""Shared fixtures: a demo warehouse seeded and built by the real `pulse` command, on the chosen dbt target."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pulse_analytics import config
from pulse_analytics.superset.api import SupersetApi

REPO_ROOT = Path(__file__).resolve().parents[1]
PULSE = str(Path(sys.executable).with_name("pulse"))
TEST_ROWS = 20_000


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--dbt-target", choices=("duckdb", "trino"), default="duckdb",
                     help="warehouse the integration quality suite runs against (default duckdb)")  # fmt: skip


@pytest.fixture(scope="session")
def dbt_target(request: pytest.FixtureRequest) -> str:
    return request.config.getoption("--dbt-target")


def run_pulse(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the real `pulse` command line, as a user would."""
    process = subprocess.run([PULSE, *args], env=env, capture_output=True, text=True, cwd=REPO_ROOT)
    if check and process.returncode != 0:
        command = " ".join(args)
        raise AssertionError(f"pulse {command} failed ({process.returncode}):\n{process.stdout}\n{process.stderr}")
    return process


def pulse_env(warehouse_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment a user would have, with the warehouse in a folder of the test's own."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(config.PREFIX)}
    env[config.PREFIX + "WAREHOUSE_DIR"] = str(warehouse_dir)
    env.update({config.PREFIX + key: value for key, value in overrides.items()})
    return env


@dataclass
class Warehouse:
    """The warehouse under test: runs SQL on the analytics catalog of the target, sources visible by catalog."""

    target: str
    directory: Path | None

    def query(self, sql: str) -> list[tuple]:
        return self.query_with_header(sql)[1]

    def query_with_header(self, sql: str) -> tuple[list[str], list[tuple]]:
        if self.target == "duckdb":
            from pulse_analytics import warehouse

            connection = warehouse.connect_analytics(read_only=True, warehouse_dir=self.directory)
            try:
                cursor = connection.execute(sql)
                return [column[0] for column in cursor.description], cursor.fetchall()
            finally:
                connection.close()
        from pulse_analytics import dbt

        return dbt.query("trino", sql)

    def columns(self, relation: str) -> list[str]:
        return self.query_with_header(f"select * from {relation} limit 0")[0]

    def count(self, relation: str, where: str = "true") -> int:
        return self.query(f"select count(*) from {relation} where {where}")[0][0]

    @staticmethod
    def view(name: str) -> str:
        return f"{config.get('TARGET_CATALOG')}.{config.get('TARGET_SCHEMA')}.{name}"


@pytest.fixture(scope="session")
def demo_warehouse_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo warehouse seeded and built once per session; tests that change data work on copies of it."""
    directory = tmp_path_factory.mktemp("demo-warehouse")
    env = pulse_env(directory)
    run_pulse("seed", "--rows", str(TEST_ROWS), env=env)
    run_pulse("build", env=env)
    return directory


@pytest.fixture(scope="session")
def built_warehouse(dbt_target: str, demo_warehouse_template: Path) -> Warehouse:
    """The demo data with every view built, on the target chosen by --dbt-target."""
    if dbt_target == "trino":
        from pulse_analytics import dbt

        reason = dbt.trino_unreachable()
        if reason:
            pytest.skip(f"{reason}: start one with `make test-e2e` (needs Docker)")
        return Warehouse("trino", None)
    return Warehouse("duckdb", demo_warehouse_template)


@pytest.fixture
def warehouse_copy(demo_warehouse_template: Path, tmp_path: Path) -> Iterator[Path]:
    """A private copy of the built demo warehouse, for tests that break or change its data."""
    directory = tmp_path / "warehouse"
    shutil.copytree(demo_warehouse_template, directory)
    yield directory


@dataclass
class SupersetServer:
    """A real Superset run by `pulse superset start`, with its own state folder, port and warehouse copy."""

    url: str
    env: dict[str, str]
    state_dir: Path
    warehouse_dir: Path
    admin: tuple[str, str]
    viewer: tuple[str, str]

    def api(self, user: tuple[str, str] | None = None) -> SupersetApi:
        """A REST session logged in as the admin (or as `user`)."""
        return SupersetApi(self.url, *(user or self.admin))


def chart_data(api: SupersetApi, dataset: str, columns: list[str], metrics: list[Any]) -> dict[str, Any]:
    """Superset's answer to a chart-data request on a dataset, as a chart sends it (data, is_cached, ...)."""
    dataset_id = next(item["id"] for item in api.list_all("/api/v1/dataset/") if item["table_name"] == dataset)
    query: dict[str, Any] = {"columns": columns, "metrics": metrics, "row_limit": 100}
    if columns:
        query["orderby"] = [[columns[0], True]]
    payload = {"datasource": {"id": dataset_id, "type": "table"}, "result_format": "json", "result_type": "full",
               "queries": [query]}  # fmt: skip
    return api.post("/api/v1/chart/data", payload)["result"][0]


def count_rows(api: SupersetApi, dataset: str) -> dict[str, Any]:
    """A chart-data request counting a dataset's rows; Superset's answer (is_cached, data)."""
    return chart_data(api, dataset, [], [{"expressionType": "SQL", "sqlExpression": "count(*)", "label": "records"}])


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def superset_server(demo_warehouse_template: Path,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[SupersetServer]:
    """Superset started by `pulse superset start` on a free port (never the demo's), on a copy of the demo warehouse,
    every asset synced by `pulse sync`; stopped by `pulse superset stop` at the end of the session."""
    warehouse_dir = tmp_path_factory.mktemp("superset-warehouse")
    shutil.copytree(demo_warehouse_template, warehouse_dir, dirs_exist_ok=True)
    state_dir = tmp_path_factory.mktemp("superset-state")
    admin, viewer = ("admin", "admin-test-password"), ("viewer", "viewer-test-password")
    port = free_port()
    env = pulse_env(warehouse_dir, STATE_DIR=str(state_dir), SUPERSET_PORT=str(port), SUPERSET_ADMIN_PASSWORD=admin[1],
                    SUPERSET_VIEWER_PASSWORD=viewer[1])  # fmt: skip
    server = SupersetServer(f"http://localhost:{port}", env, state_dir, warehouse_dir, admin, viewer)
    try:
        run_pulse("superset", "start", env=env)
        run_pulse("sync", env=env)
        yield server
    finally:
        run_pulse("superset", "stop", env=env, check=False)
