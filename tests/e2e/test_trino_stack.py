"""A real Trino with the bundle's catalogs and access rules, tested live in the Trino pass (--dbt-target=trino):
the native stack the session starts (`make test`), or the compose stack's (`make test-e2e`, PULSE_E2E_COMPOSE).
The answers asserted are the server's own: nothing here is skipped once `make trino` has installed Trino.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pulse_analytics import config, generate, trino_connection
from tests.conftest import pulse_env, run_pulse

ANALYTICS = f"{config.get('TARGET_CATALOG')}.{config.get('TARGET_SCHEMA')}"
SCRATCH_SCHEMA = "pulse_e2e_load"


pytestmark = pytest.mark.trino_only


@pytest.fixture(autouse=True)
def live_trino(trino_demo: dict[str, str]) -> None:
    """The demo lab loaded into the session's Trino and its views built there."""


def query_as(user: str, sql: str, monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    monkeypatch.setenv(config.PREFIX + "TRINO_USER", user)
    connection = trino_connection.connect()
    try:
        return trino_connection.run(connection.cursor(), sql)
    finally:
        connection.close()


def refused(user: str, sql: str, monkeypatch: pytest.MonkeyPatch) -> str:
    with pytest.raises(SystemExit) as refusal:
        query_as(user, sql, monkeypatch)
    return str(refusal.value)


def test_superset_reads_the_views_and_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    # The view reads telemetry and metadata as its owner (dbt): Superset's user needs the analytics catalog only.
    cycles = query_as("superset", f"select count(distinct test_id) from {ANALYTICS}.test_statistics_cycle", monkeypatch)
    assert cycles == [(len(generate.TESTS),)]
    catalogs = {row[0] for row in query_as("superset", "show catalogs", monkeypatch)}
    assert catalogs == {config.get("TARGET_CATALOG"), "system"}
    telemetry = next(table for table in config.source_tables() if table.name == "telemetry")
    assert "Access Denied" in refused("superset", f"select count(*) from {telemetry.qualified}", monkeypatch)
    assert "Access Denied" in refused("superset", f"create view {ANALYTICS}.pulse_e2e as select 1 as a", monkeypatch)


def test_dbt_reads_the_sources_and_cannot_write_them(monkeypatch: pytest.MonkeyPatch) -> None:
    device_metadata = next(table for table in config.source_tables() if table.name == "device_metadata")
    assert query_as("dbt", f"select count(*) from {device_metadata.qualified}", monkeypatch)[0][0] > 0
    insert = f"insert into {device_metadata.qualified} (device_id) values ('pulse-e2e')"
    assert "Access Denied" in refused("dbt", insert, monkeypatch)
    create = f"create table {device_metadata.catalog}.{device_metadata.schema}.pulse_e2e (a integer)"
    assert "Access Denied" in refused("dbt", create, monkeypatch)


def test_loading_the_same_demo_lab_again_keeps_every_table(tmp_path: Path) -> None:
    rows = os.environ.get("PULSE_DEMO_ROWS", str(generate.DEFAULT_ROWS))
    env = pulse_env(tmp_path, TRINO_USER="loader")
    run_pulse("seed", "--rows", rows, env=env)
    loaded = run_pulse("load-trino", env=env)
    assert loaded.stdout.count("as many as the warehouse: kept") == len(config.source_tables()), loaded.stdout
    assert "load-trino OK: 0 rows written" in loaded.stdout


@pytest.fixture
def scratch_schema(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The source tables in schema pulse_e2e_load of their catalogs, dropped afterwards by the loader (who owns it)."""
    overrides = {"TRINO_USER": "loader", "TELEMETRY_SCHEMA": SCRATCH_SCHEMA, "METADATA_SCHEMA": SCRATCH_SCHEMA}
    yield overrides
    for key, value in overrides.items():
        monkeypatch.setenv(config.PREFIX + key, value)
    connection = trino_connection.connect()
    try:
        cursor = connection.cursor()
        for table in config.source_tables():
            trino_connection.run(cursor, f"drop table if exists {trino_connection.quote(*table.qualified.split('.'))}")
        for catalog in {table.catalog for table in config.source_tables()}:
            trino_connection.run(cursor, f"drop schema if exists {trino_connection.quote(catalog, SCRATCH_SCHEMA)}")
    finally:
        connection.close()


def test_load_replaces_a_table_only_when_asked(tmp_path: Path, scratch_schema: dict[str, str]) -> None:
    small, larger = tmp_path / "small", tmp_path / "larger"
    run_pulse("seed", "--rows", "2000", env=pulse_env(small))
    run_pulse("seed", "--rows", "4000", env=pulse_env(larger))
    first = run_pulse("load-trino", env=pulse_env(small, **scratch_schema))
    assert "load-trino OK" in first.stdout
    kept = run_pulse("load-trino", env=pulse_env(small, **scratch_schema))
    assert "load-trino OK: 0 rows written" in kept.stdout
    refusal = run_pulse("load-trino", env=pulse_env(larger, **scratch_schema), check=False)
    assert refusal.returncode != 0 and "Pass --replace to overwrite it" in refusal.stderr
    replaced = run_pulse("load-trino", "--replace", env=pulse_env(larger, **scratch_schema))
    assert "load-trino OK" in replaced.stdout and "0 rows written" not in replaced.stdout


def test_views_survive_a_restart_of_trino(monkeypatch: pytest.MonkeyPatch) -> None:
    compose = os.environ.get("PULSE_E2E_COMPOSE")
    if not compose:
        pytest.skip("restarting Trino needs the compose stack: PULSE_E2E_COMPOSE names its command (make test-e2e)")
    views = sorted(query_as("dbt", f"show tables from {ANALYTICS}", monkeypatch))
    assert len(views) == len(list((Path(__file__).resolve().parents[2] / "dbt" / "models").rglob("*.sql")))
    subprocess.run([*shlex.split(compose), "restart", "trino"], check=True)
    subprocess.run([*shlex.split(compose), "up", "--detach", "--wait", "trino"], check=True)  # waits on its healthcheck
    assert sorted(query_as("dbt", f"show tables from {ANALYTICS}", monkeypatch)) == views
    assert query_as("superset", f"select count(*) from {ANALYTICS}.part_statistics_cycle", monkeypatch)[0][0] > 0
