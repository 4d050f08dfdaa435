"""`pulse load-trino` on a real Trino, in the Trino pass (--dbt-target=trino): the native stack the session starts
(`make test`), or the compose stack's (`make test-e2e`, PULSE_E2E_COMPOSE). Loading again keeps content, replaces only
when asked, and carries every value exactly. (Access rules: test_trino_access.py; restarts: test_trino_restart.py.)
"""

from __future__ import annotations

import json
import math
import re
import shutil
import struct
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pulse_analytics import config, trino_connection, trino_files, trino_load, warehouse
from tests.conftest import pulse_env, run_pulse

SCRATCH_SCHEMA = "pulse_e2e_load"
SNAPSHOT_SCHEMA = "pulse_e2e_snapshot"


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


def as_loader(monkeypatch: pytest.MonkeyPatch, *statements: str) -> list[list[tuple]]:
    return [query_as("loader", statement, monkeypatch) for statement in statements]


def columns_of(qualified: str, monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    catalog, schema, table = qualified.split(".")
    return query_as(
        "loader",
        f"select column_name, data_type from {catalog}.information_schema.columns where "
        f"table_schema = '{schema}' and table_name = '{table}' order by ordinal_position",
        monkeypatch,
    )


def drop_schema(catalog: str, schema: str, user: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Drop every table and view of a scratch schema, then the schema."""
    relations = query_as(
        user,
        f"select table_name, table_type from {catalog}.information_schema.tables where table_schema = '{schema}'",
        monkeypatch,
    )
    for name, kind in relations:
        kind = "view" if kind == "VIEW" else "table"
        query_as(user, f"drop {kind} if exists {trino_connection.quote(catalog, schema, name)}", monkeypatch)
    query_as(user, f"drop schema if exists {trino_connection.quote(catalog, schema)}", monkeypatch)


def snapshot(table: config.SourceTable, monkeypatch: pytest.MonkeyPatch) -> str:
    """A copy of a table's content (CREATE TABLE AS) in schema pulse_e2e_snapshot of its catalog."""
    copy = f"{table.catalog}.{SNAPSHOT_SCHEMA}.{table.schema}__{table.table}"
    as_loader(
        monkeypatch,
        f"create schema if not exists {table.catalog}.{SNAPSHOT_SCHEMA}",
        f"drop table if exists {copy}",
        f"create table {copy} as select * from {table.qualified}",
    )
    return copy


def assert_same_content(table: str, copy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both hold the same rows, each as often (EXCEPT ALL both ways; maps, not comparable, as sorted entries)."""
    columns = columns_of(table, monkeypatch)
    assert columns == columns_of(copy, monkeypatch)
    selected = ", ".join(
        f"array_sort(map_entries({trino_connection.quote(name)}))"
        if type_.startswith("map(")
        else trino_connection.quote(name)
        for name, type_ in columns
    )
    [[(only_left,)], [(only_right,)], [(rows, copied)]] = as_loader(
        monkeypatch,
        f"select count(*) from (select {selected} from {table} except all select {selected} from {copy})",
        f"select count(*) from (select {selected} from {copy} except all select {selected} from {table})",
        f"select (select count(*) from {table}), (select count(*) from {copy})",
    )
    assert (only_left, only_right, rows) == (0, 0, copied), f"{table} and {copy} differ"


@pytest.fixture
def snapshot_schema(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Schema pulse_e2e_snapshot in each source catalog, dropped afterwards."""
    yield SNAPSHOT_SCHEMA
    for catalog in {table.catalog for table in config.source_tables()}:
        drop_schema(catalog, SNAPSHOT_SCHEMA, "loader", monkeypatch)


def test_loading_the_same_demo_lab_again_keeps_every_table(
    demo_warehouse_template: Path, snapshot_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables = config.source_tables()
    copies = {table.name: snapshot(table, monkeypatch) for table in tables}
    loaded = run_pulse("load-trino", env=pulse_env(demo_warehouse_template, TRINO_USER="loader"))
    assert loaded.stdout.count("same content (fingerprint): kept") == len(tables), loaded.stdout
    assert "load-trino OK: 0 rows written" in loaded.stdout
    for table in tables:
        assert_same_content(table.qualified, copies[table.name], monkeypatch)


@pytest.fixture
def scratch_schema(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The source tables in schema pulse_e2e_load of their catalogs (for this process too), dropped afterwards by
    the loader (who owns it)."""
    overrides = {"TRINO_USER": "loader", "TELEMETRY_SCHEMA": SCRATCH_SCHEMA, "METADATA_SCHEMA": SCRATCH_SCHEMA}
    for key, value in overrides.items():
        monkeypatch.setenv(config.PREFIX + key, value)
    yield overrides
    for catalog in {table.catalog for table in config.source_tables()}:
        drop_schema(catalog, SCRATCH_SCHEMA, "loader", monkeypatch)


def change_one_value(directory: Path) -> None:
    """One telemetry voltage one ulp higher and one device's location renamed: the same row counts."""
    connection = duckdb.connect(str(directory / "telemetry.duckdb"))
    telemetry = f"{SCRATCH_SCHEMA}.telemetry"
    [(rowid, voltage)] = connection.execute(
        f'select rowid, "voltage__V" from {telemetry} order by rowid limit 1'
    ).fetchall()
    connection.execute(
        f'update {telemetry} set "voltage__V" = ? where rowid = ?', [math.nextafter(voltage, math.inf), rowid]
    )
    connection.close()
    connection = duckdb.connect(str(directory / "metadata.duckdb"))
    connection.execute(
        f"update {SCRATCH_SCHEMA}.device_metadata set location = 'Lab Z' where device_id = 'maccor-01-ch01'"
    )
    connection.close()


def test_load_replaces_a_table_only_when_asked(
    tmp_path: Path, scratch_schema: dict[str, str], snapshot_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    small, changed, larger = tmp_path / "small", tmp_path / "changed", tmp_path / "larger"
    run_pulse("seed", "--rows", "2000", env=pulse_env(small, **scratch_schema))  # the warehouse's schema too
    run_pulse("seed", "--rows", "4000", env=pulse_env(larger, **scratch_schema))
    shutil.copytree(small, changed)
    change_one_value(changed)
    tables = config.source_tables()

    first = run_pulse("load-trino", env=pulse_env(small, **scratch_schema))
    assert "load-trino OK" in first.stdout and "0 rows written" not in first.stdout
    copies = {table.name: snapshot(table, monkeypatch) for table in tables}
    kept = run_pulse("load-trino", env=pulse_env(small, **scratch_schema))
    assert "load-trino OK: 0 rows written" in kept.stdout
    assert kept.stdout.count("same content (fingerprint): kept") == len(tables), kept.stdout
    reloaded = run_pulse("load-trino", "--replace", env=pulse_env(small, **scratch_schema))
    assert "load-trino OK" in reloaded.stdout and "0 rows written" not in reloaded.stdout
    for table in tables:  # a full reload stores the same content as the first load
        assert_same_content(table.qualified, copies[table.name], monkeypatch)

    # Same row counts, one value changed in two tables: both refused, each naming its column; nothing written.
    refusal = run_pulse("load-trino", env=pulse_env(changed, **scratch_schema), check=False)
    assert refusal.returncode != 0 and "Pass --replace to overwrite it" in refusal.stderr, refusal.stderr
    assert refusal.stderr.count("differs from the embedded warehouse") == 2, refusal.stderr
    assert re.search(
        rf"{SCRATCH_SCHEMA}\.telemetry differs from the embedded warehouse's: same [\d,]+ rows, but other "
        r"values in column\(s\) voltage__v\.",
        refusal.stderr,
    ), refusal.stderr
    assert (
        f"{SCRATCH_SCHEMA}.device_metadata differs from the embedded warehouse's: same 6 rows, but other values "
        "in column(s) location."
    ) in refusal.stderr
    for table in tables:
        assert_same_content(table.qualified, copies[table.name], monkeypatch)

    refusal = run_pulse("load-trino", env=pulse_env(larger, **scratch_schema), check=False)
    assert refusal.returncode != 0 and "Pass --replace to overwrite it" in refusal.stderr
    assert re.search(
        r"\.telemetry differs from the embedded warehouse's: it holds [\d,]+ rows, the warehouse [\d,]+", refusal.stderr
    ), refusal.stderr
    replaced = run_pulse("load-trino", "--replace", env=pulse_env(larger, **scratch_schema))
    assert "load-trino OK" in replaced.stdout and "0 rows written" not in replaced.stdout
    again = run_pulse("load-trino", env=pulse_env(larger, **scratch_schema))
    assert "load-trino OK: 0 rows written" in again.stdout


# Values at the edges of every type load-trino supports, in new columns of a telemetry table (Iceberg) and of a
# metadata table (PostgreSQL, which has no maps): DuckDB type, then a value per row as DuckDB SQL.
SPECIAL_COLUMNS = {
    "x_double": ("DOUBLE", ["'nan'", "'-0.0'", "'-inf'", "5e-324", "1.7976931348623157e308", "0.1 + 0.2"]),
    "x_real": ("FLOAT", ["'nan'", "3.4028234663852886e38", "0.1", "'inf'", "1.401298464324817e-45", "'-0.0'"]),
    "x_tiny": ("TINYINT", ["-128", "127", "0", "NULL", "1", "-1"]),
    "x_small": ("SMALLINT", ["-32768", "32767", "NULL", "0", "7", "-7"]),
    "x_big": ("BIGINT", ["-9223372036854775808", "9223372036854775807", "0", "NULL", "1", "-1"]),
    "x_bool": ("BOOLEAN", ["true", "false", "NULL", "true", "false", "NULL"]),
    "x_date": ("DATE", ["'0001-01-01'", "'9999-12-31'", "'1970-01-01'", "NULL", "'2000-02-29'", "'2026-01-15'"]),
    "x_ts": (
        "TIMESTAMP",
        [
            "'2026-03-02 08:00:00.000001'",
            "'9999-12-31 23:59:59.999999'",
            "'1970-01-01 00:00:00'",
            "'1969-12-31 23:59:59.999999'",
            "NULL",
            "'2000-02-29 12:00:00.5'",
        ],
    ),
    "x_text": (
        "VARCHAR",
        ["'it''s \"quoted\" é ☃ 𝄞' || chr(10) || '\\'", "''", "''''", "NULL", "'[1,2]'", "'{\"a\": 1}'"],
    ),
}
SPECIAL_MAPS = {
    "x_map": (
        "MAP(BIGINT, DOUBLE)",
        [
            "MAP {-1: NULL, 1099511627776: 5e-324}",
            "MAP {}",
            "MAP {0: '-0.0'::DOUBLE}",
            "NULL",
            "MAP {1: 'nan'::DOUBLE, 2: 'inf'::DOUBLE}",
            "MAP {3: 0.3}",
        ],
    ),
    "x_nested": (
        "MAP(VARCHAR, MAP(VARCHAR, TIMESTAMP))",
        [
            "MAP {'a': MAP {'x': TIMESTAMP '1999-12-31 23:59:59.999999'}}",
            "MAP {}",
            "NULL",
            "MAP {'b': MAP {}}",
            "MAP {'c': MAP {'y': NULL}}",
            "MAP {'it''s': MAP {'é': TIMESTAMP '2026-01-01'}}",
        ],
    ),
}


def add_special_columns(directory: Path, catalog: str, table: str, columns: dict[str, tuple[str, list[str]]]) -> None:
    connection = duckdb.connect(str(directory / f"{catalog}.duckdb"))
    found = connection.execute(f"select rowid from {SCRATCH_SCHEMA}.{table} order by rowid limit 6").fetchall()
    rowids = [row[0] for row in found]
    assert len(rowids) == 6
    for name, (type_, values) in columns.items():
        connection.execute(f"alter table {SCRATCH_SCHEMA}.{table} add column {name} {type_}")
        for rowid, value in zip(rowids, values, strict=True):
            connection.execute(f"update {SCRATCH_SCHEMA}.{table} set {name} = ({value})::{type_} where rowid = {rowid}")
    connection.close()


def rendered_sql(expression: str, type_: str, depth: int = 0) -> str:
    """Trino: a value as exact text (IEEE 754 bits of doubles and reals), as `rendered` writes it in Python."""
    if type_ == "double":
        return f"to_hex(to_ieee754_64({expression}))"
    if type_ == "real":
        return f"to_hex(to_ieee754_32({expression}))"
    if type_ in ("date", "timestamp(6)"):
        return f"CAST({expression} AS varchar)"
    if type_ in trino_files.INTEGER_TYPES:
        return f"CAST({expression} AS bigint)"
    if type_.startswith("map("):
        key_type, value_type = trino_files.split_map_type(type_)
        key, value = f"k{depth}", f"v{depth}"
        keys = f"transform_keys({expression}, ({key}, {value}) -> {rendered_sql(key, key_type, depth + 1)})"
        return f"transform_values({keys}, ({key}, {value}) -> {rendered_sql(value, value_type, depth + 1)})"
    return expression


def rendered(value: Any, type_: str) -> Any:
    if value is None:
        return None
    if type_ in ("double", "real"):
        if math.isnan(value):  # Trino keeps Java's one NaN
            return "7FF8000000000000" if type_ == "double" else "7FC00000"
        return struct.pack(">d" if type_ == "double" else ">f", value).hex().upper()
    if type_ == "date":
        return value.isoformat()
    if type_ == "timestamp(6)":
        return value.isoformat(sep=" ", timespec="microseconds")
    if type_.startswith("map("):
        key_type, value_type = trino_files.split_map_type(type_)
        return {rendered(key, key_type): rendered(item, value_type) for key, item in value.items()}
    return value


def test_load_carries_every_value_exactly(
    tmp_path: Path, scratch_schema: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "warehouse"
    run_pulse("seed", "--rows", "2000", env=pulse_env(directory, **scratch_schema))
    add_special_columns(directory, "telemetry", "statistics_cycle", SPECIAL_COLUMNS | SPECIAL_MAPS)
    add_special_columns(directory, "metadata", "device_metadata", SPECIAL_COLUMNS)
    loaded = run_pulse("load-trino", env=pulse_env(directory, **scratch_schema))
    assert "load-trino OK" in loaded.stdout
    sources = duckdb.connect()
    try:
        for statement in warehouse.attach_statements(directory):
            sources.execute(statement)
        for table in (
            table for table in config.source_tables() if table.name in ("statistics_cycle", "device_metadata")
        ):
            columns = trino_load.source_columns(sources, table)
            assert {"x_double", "x_ts", "x_tiny"} <= {column.name for column in columns}
            sent = Counter(
                json.dumps(
                    [rendered(value, column.trino_type) for value, column in zip(row, columns, strict=True)],
                    sort_keys=True,
                )
                for row in sources.execute(trino_load.select_sql(table, columns)).fetchall()
            )
            selected = ", ".join(
                rendered_sql(trino_connection.quote(column.trino_name), column.trino_type) for column in columns
            )
            stored = Counter(
                json.dumps(list(row), sort_keys=True)
                for row in query_as("loader", f"select {selected} from {table.qualified}", monkeypatch)
            )
            assert stored == sent, f"{table.qualified}: {set(stored) ^ set(sent)}"
    finally:
        sources.close()
