"""Shared fixtures: a demo warehouse seeded and built by the real `pulse` command, on the chosen dbt target."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pulse_analytics import config, dbt, state
from pulse_analytics.superset.api import SupersetApi

REPO_ROOT = Path(__file__).resolve().parents[1]
PULSE = str(Path(sys.executable).with_name("pulse"))
TEST_ROWS = 20_000
# The six marts users read: telemetry, step and cycle records per test and per part.
MARTS = (
    "test_telemetry",
    "test_statistics_step",
    "test_statistics_cycle",
    "part_telemetry",
    "part_statistics_step",
    "part_statistics_cycle",
)
SESSION_KEPT_S = 300  # a test session reuses its Superset login this long (tokens expire after 15 minutes)


# The Trino the session's tests use (host, port...), as PULSE_ANALYTICS_* settings: a native stack the session starts
# (tests/conftest.py::trino_stack), or the compose stack's when `make test-e2e` runs the suite.
TRINO_SETTINGS: dict[str, str] = {}
NATIVE_TRINO_ROOT: list[Path] = []  # the folder of the session's native stack, when it runs one


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--dbt-target",
        choices=("duckdb", "trino"),
        default="duckdb",
        help="warehouse the quality suite runs against (default duckdb); trino runs the tests marked "
        "trino and trino_only on a real Trino: a native one the session starts (`make trino` installs "
        "it), or the compose stack's when PULSE_E2E_COMPOSE is set",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "trino: runs on the target of --dbt-target, so in the Trino pass too")
    config.addinivalue_line("markers", "trino_only: needs a Trino; runs in the Trino pass (--dbt-target=trino) only")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`make test` runs pytest twice: every test on DuckDB, then the target-dependent ones on a real Trino. Each pass
    deselects (does not skip) the tests that belong to the other, so a skip always means a missing Docker engine."""
    on_trino = config.getoption("--dbt-target") == "trino"
    selected, deselected = [], []
    for item in items:
        marked_trino = item.get_closest_marker("trino") is not None
        trino_only = item.get_closest_marker("trino_only") is not None
        keep = (marked_trino or trino_only) if on_trino else not trino_only
        (selected if keep else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


@pytest.fixture(scope="session")
def dbt_target(request: pytest.FixtureRequest) -> str:
    return request.config.getoption("--dbt-target")


@pytest.fixture(scope="session")
def trino_stack(dbt_target: str) -> Iterator[dict[str, str]]:
    """A real Trino for the session: the native stack (PostgreSQL and Trino from trino_catalogs/, started here in a
    folder of its own on free ports, stopped at the end), or the compose stack's under `make test-e2e`. Never skipped:
    when Trino cannot run, the tests fail with the reason."""
    if dbt_target != "trino":
        raise AssertionError("trino_stack is for the Trino pass: mark the test trino_only")
    if os.environ.get("PULSE_E2E_COMPOSE"):
        names = ("TRINO_HOST", "TRINO_PORT", "TRINO_HTTP_SCHEME", "TRINO_AUTH_METHOD", "TRINO_CA_FILE")
        TRINO_SETTINGS.update({key: os.environ[config.PREFIX + key] for key in (*names, "TRINO_PASSWORDS_FILE")})
        yield TRINO_SETTINGS
        return
    from pulse_analytics import trino_native

    if not trino_native.installed():
        pytest.fail(
            f"Trino {trino_native.TRINO_VERSION} is not installed in {trino_native.trino_home()}: run "
            "`make trino` (`make test` does), then run the tests again."
        )
    root = Path(tempfile.mkdtemp(prefix="pulse-test-trino-"))
    NATIVE_TRINO_ROOT.append(root)
    try:
        stack = trino_native.start(root, trino_port=free_port())
        TRINO_SETTINGS.update(
            {key.removeprefix(config.PREFIX): value for key, value in trino_native.client_environment(stack).items()}
        )
        for key, value in TRINO_SETTINGS.items():
            os.environ[config.PREFIX + key] = value
        yield TRINO_SETTINGS
    finally:
        trino_native.stop(root)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def trino_demo(trino_stack: dict[str, str], demo_warehouse_template: Path) -> dict[str, str]:
    """The session's demo warehouse loaded into Trino by `pulse load-trino` (user loader) and built there by
    `pulse build --target trino` (user dbt), as the compose stack's jobs do."""
    # --replace: the compose stack's seed job loaded its own demo lab (another size) into the same tables.
    run_pulse("load-trino", "--replace", env=pulse_env(demo_warehouse_template, TRINO_USER="loader"))
    run_pulse("build", "--target", "trino", env=pulse_env(demo_warehouse_template, TRINO_USER="dbt"))
    return trino_stack


def run_pulse(
    *args: str, env: dict[str, str], check: bool = True, cwd: Path = REPO_ROOT
) -> subprocess.CompletedProcess[str]:
    """Run the real `pulse` command line, as a user would, in `cwd` (default: this project's root)."""
    process = subprocess.run([PULSE, *args], env=env, capture_output=True, text=True, cwd=cwd)
    if check and process.returncode != 0:
        command = " ".join(args)
        raise AssertionError(f"pulse {command} failed ({process.returncode}):\n{process.stdout}\n{process.stderr}")
    return process


def project_copy(destination: Path) -> Path:
    """A copy of this project as a clone has it (its marker, README, dbt project, assets, teams, Trino catalogs and
    compose files), to change or break; dbt's build output is left out."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in ("pulse_project.yml", "README.md", "docker-compose.yml", ".env.example"):
        shutil.copy2(REPO_ROOT / name, destination / name)
    for folder in ("datasets", "dashboards", "dbt", "access", "trino_catalogs"):
        shutil.copytree(REPO_ROOT / folder, destination / folder, ignore=shutil.ignore_patterns("target", "logs"))
    # dbt's parse of the same files (it is kept with their fingerprint: a copy changed later is parsed again)
    parsed = dbt.manifest_folder(REPO_ROOT / "dbt")
    dbt.manifest(REPO_ROOT / "dbt")
    shutil.copytree(parsed, dbt.manifest_folder(destination / "dbt"), ignore=shutil.ignore_patterns("logs", "lock"))
    return destination


def pulse_env(warehouse_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment a user would have, with the warehouse in a folder of the test's own."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(config.PREFIX)}
    env.update({config.PREFIX + key: value for key, value in TRINO_SETTINGS.items()})
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
def built_warehouse(request: pytest.FixtureRequest, dbt_target: str, demo_warehouse_template: Path) -> Warehouse:
    """The demo data with every view built, on the target chosen by --dbt-target."""
    if dbt_target == "trino":
        request.getfixturevalue("trino_demo")
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

    sessions: dict[tuple[str, str], tuple[float, SupersetApi]] = field(default_factory=dict)

    @property
    def files(self) -> Path:
        """Superset's own folder in the state folder (metadata database, secret key, logs, cache)."""
        return self.state_dir / state.SUPERSET

    def api(self, user: tuple[str, str] | None = None) -> SupersetApi:
        """A REST session logged in as the admin (or as `user`), kept for a few minutes as a client keeps its session:
        Superset throttles logins per address, and its access tokens expire after 15 minutes."""
        user = user or self.admin
        logged_in_at, api = self.sessions.get(user, (0.0, None))
        if api is None or time.monotonic() - logged_in_at > SESSION_KEPT_S:
            api = SupersetApi(self.url, *user)
            self.sessions[user] = (time.monotonic(), api)
        return api


def chart_data(api: SupersetApi, dataset: str, columns: list[str], metrics: list[Any]) -> dict[str, Any]:
    """Superset's answer to a chart-data request on a dataset, as a chart sends it (data, is_cached, ...)."""
    dataset_id = next(item["id"] for item in api.list_all("/api/v1/dataset/") if item["table_name"] == dataset)
    query: dict[str, Any] = {"columns": columns, "metrics": metrics, "row_limit": 100}
    if columns:
        query["orderby"] = [[columns[0], True]]
    payload = {
        "datasource": {"id": dataset_id, "type": "table"},
        "result_format": "json",
        "result_type": "full",
        "queries": [query],
    }
    return api.post("/api/v1/chart/data", payload)["result"][0]


def count_rows(api: SupersetApi, dataset: str) -> dict[str, Any]:
    """A chart-data request counting a dataset's rows; Superset's answer (is_cached, data)."""
    return chart_data(api, dataset, [], [{"expressionType": "SQL", "sqlExpression": "count(*)", "label": "records"}])


def bundle_processes(state_dir: Path) -> list[str]:
    """The running processes of the bundle whose state is in `state_dir` ("pid command"): every one that works in a
    folder inside it (gunicorn's master and workers in superset/, PostgreSQL and its children in trino/postgres/data,
    Trino in trino/) or names it on its command line. Zombies (exited, not yet reaped) do not count."""
    root = str(state_dir.resolve())
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command_line = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            folder = os.readlink(proc / "cwd")
            zombie = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
        except (OSError, IndexError):
            continue
        inside = folder == root or folder.startswith(root + "/") or root in command_line
        if inside and not zombie and int(proc.name) != os.getpid():
            found.append(f"{proc.name} {command_line}")
    return found


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def superset_server(
    request: pytest.FixtureRequest,
    dbt_target: str,
    demo_warehouse_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SupersetServer]:
    """Superset started by `pulse superset start` on a free port (never the demo's), on a copy of the demo warehouse,
    every asset synced by `pulse sync`; stopped by `pulse superset stop` at the end of the session. In the Trino pass
    it reads the views of the session's Trino as Trino user `superset` (`pulse sync --target trino`)."""
    if dbt_target == "trino":
        request.getfixturevalue("trino_demo")
    warehouse_dir = tmp_path_factory.mktemp("superset-warehouse")
    shutil.copytree(demo_warehouse_template, warehouse_dir, dirs_exist_ok=True)
    state_dir = tmp_path_factory.mktemp("superset-state")
    admin, viewer = ("admin", "admin-test-password"), ("viewer", "viewer-test-password")
    port = free_port()
    env = pulse_env(
        warehouse_dir,
        STATE_DIR=str(state_dir),
        SUPERSET_PORT=str(port),
        SUPERSET_ADMIN_PASSWORD=admin[1],
        SUPERSET_VIEWER_PASSWORD=viewer[1],
        **({"TRINO_USER": "superset"} if dbt_target == "trino" else {}),  # every sync of the session: Superset's user
    )
    server = SupersetServer(f"http://localhost:{port}", env, state_dir, warehouse_dir, admin, viewer)
    try:
        run_pulse("superset", "start", env=env)
        if dbt_target == "trino":
            run_pulse("sync", "--target", "trino", env=env)
        else:
            run_pulse("sync", env=env)
        yield server
    finally:
        run_pulse("superset", "stop", env=env, check=False)
