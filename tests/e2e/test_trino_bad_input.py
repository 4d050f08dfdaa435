"""Bad input in Trino's source catalogs makes `pulse build --target trino` fail, naming table, column and offending
values, as tests/integration/test_bad_input.py shows on DuckDB. The bad data goes into scratch schemas of the session's
Trino (telemetry, metadata and analytics), dropped afterwards, so the session's demo data stays as it is."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from pulse_analytics import config, trino_connection
from tests.conftest import pulse_env, run_pulse

SCHEMA = "pulse_e2e_bad_input"

pytestmark = pytest.mark.trino_only


def drop_schema(catalog: str, schema: str = SCHEMA) -> None:
    """Drop every table and view of a scratch schema in `catalog` (as PULSE_ANALYTICS_TRINO_USER), then the
    schema."""
    connection = trino_connection.connect()
    cursor = connection.cursor()
    try:
        relations = trino_connection.run(
            cursor,
            f"select table_name, table_type from {catalog}.information_schema.tables where table_schema = '{schema}'",
        )
        for name, kind in relations:
            kind = "view" if kind == "VIEW" else "table"
            trino_connection.run(cursor, f"drop {kind} if exists {trino_connection.quote(catalog, schema, name)}")
        trino_connection.run(cursor, f"drop schema if exists {trino_connection.quote(catalog, schema)}")
    finally:
        connection.close()


@pytest.fixture
def bad_input_schemas(trino_stack: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Schema pulse_e2e_bad_input for the sources (loaded by `loader`) and the views (built by `dbt`)."""
    overrides = {"TELEMETRY_SCHEMA": SCHEMA, "METADATA_SCHEMA": SCHEMA, "TARGET_SCHEMA": SCHEMA}
    yield overrides
    for key, value in overrides.items():
        monkeypatch.setenv(config.PREFIX + key, value)
    monkeypatch.setenv(config.PREFIX + "TRINO_USER", "dbt")
    drop_schema(config.get("TARGET_CATALOG"))  # the views, as their owner
    drop_schema(config.get("TARGET_CATALOG"), f"{SCHEMA}__staging")  # and those of the builds' staging schema
    monkeypatch.setenv(config.PREFIX + "TRINO_USER", "loader")
    for catalog in {table.catalog for table in config.source_tables()}:
        drop_schema(catalog)


def count(relation: str) -> int:
    connection = trino_connection.connect()
    try:
        return trino_connection.run(connection.cursor(), f"select count(*) from {relation}")[0][0]
    finally:
        connection.close()


def test_duplicate_key_in_trino_fails_the_build_naming_it(
    tmp_path: Path, bad_input_schemas: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "warehouse"
    run_pulse("seed", "--rows", "2000", env=pulse_env(directory, **bad_input_schemas))  # in the scratch schemas
    run_pulse("load-trino", env=pulse_env(directory, TRINO_USER="loader", **bad_input_schemas))
    run_pulse("build", "--target", "trino", env=pulse_env(directory, TRINO_USER="dbt", **bad_input_schemas))
    connection = duckdb.connect(str(directory / "metadata.duckdb"))
    connection.execute(
        f"insert into {SCHEMA}.device_metadata (device_id, manufacturer) values ('maccor-01-ch01', 'Copy')"
    )
    connection.close()
    run_pulse("load-trino", "--replace", env=pulse_env(directory, TRINO_USER="loader", **bad_input_schemas))
    process = run_pulse(
        "build", "--target", "trino", env=pulse_env(directory, TRINO_USER="dbt", **bad_input_schemas), check=False
    )
    output = process.stdout + process.stderr
    assert process.returncode != 0, output
    assert "build FAILED" in process.stdout, output
    for word in (f"metadata.{SCHEMA}.device_metadata", "column device_id", "maccor-01-ch01"):
        assert word in output, f"{word!r} not in:\n{output}"
    assert "The views Superset reads are unchanged" in process.stderr  # it stopped in the staging schema

    # The views of the first build read the sources live: still one row per record, and the key listed.
    monkeypatch.setenv(config.PREFIX + "TRINO_USER", "dbt")
    views = f"{config.get('TARGET_CATALOG')}.{SCHEMA}"
    sources = f"{config.get('TELEMETRY_CATALOG')}.{SCHEMA}"
    assert count(f"{views}.test_telemetry") == count(f"{sources}.telemetry")
    assert count(f"{views}.test_statistics_cycle") == count(f"{sources}.statistics_cycle")
    connection = trino_connection.connect()
    try:
        listed = trino_connection.run(
            connection.cursor(), f"select metadata_table, device_id, key_rows from {views}.metadata_key_conflicts"
        )
    finally:
        connection.close()
    assert [tuple(row) for row in listed] == [("device_metadata", "maccor-01-ch01", 2)]
