"""What `pulse load-trino` hands Trino, checked without a Trino: the Parquet files DuckDB writes hold every value of
the warehouse exactly, under the lower-case names Trino stores, in the types Iceberg reads; the SQL it runs is Trino's.
The load itself (add_files, staging tables, keeping tables whose content is the warehouse's, every value bit for bit
in Trino) runs against a real Trino in tests/e2e/test_trino_stack.py."""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet
import pytest
import sqlglot

from pulse_analytics import config, trino_files, trino_load, warehouse
from pulse_analytics.errors import PulseError
from tests.static.grammar import trino_syntax_errors

SOURCES = config.source_tables()
# Values at the edges of every type the loader maps: DuckDB type, then one value per row as DuckDB SQL.
SPECIAL = {
    "x_double": ("DOUBLE", ["'nan'", "'-0.0'", "'-inf'", "5e-324", "1.7976931348623157e308", "NULL"]),
    "x_real": ("FLOAT", ["'nan'", "3.4028234663852886e38", "0.1", "'inf'", "1.401298464324817e-45", "'-0.0'"]),
    "x_tiny": ("TINYINT", ["-128", "127", "0", "NULL", "1", "-1"]),
    "x_big": ("BIGINT", ["-9223372036854775808", "9223372036854775807", "0", "NULL", "1", "-1"]),
    "x_bool": ("BOOLEAN", ["true", "false", "NULL", "true", "false", "NULL"]),
    "x_date": ("DATE", ["'0001-01-01'", "'9999-12-31'", "'1970-01-01'", "NULL", "'2000-02-29'", "'2026-01-15'"]),
    "x_ts": (
        "TIMESTAMP",
        [
            "'0001-01-01 00:00:00'",
            "'9999-12-31 23:59:59.999999'",
            "NULL",
            "'1969-12-31 23:59:59.999999'",
            "'2000-02-29 12:00:00.5'",
            "'2026-03-02 08:00:00.000001'",
        ],
    ),
    "x_Text": ("VARCHAR", ["'it''s \"quoted\" é ☃ 𝄞' || chr(10)", "''", "''''", "NULL", "chr(0)", "'[1,2]'"]),
    "x_map": (
        "MAP(VARCHAR, MAP(VARCHAR, DOUBLE))",
        [
            "MAP {'a': MAP {'x': 'nan'::DOUBLE}}",
            "MAP {}",
            "NULL",
            "MAP {'b': MAP {}}",
            "MAP {'c': MAP {'y': NULL}}",
            "MAP {'é': MAP {'z': '-0.0'::DOUBLE}}",
        ],
    ),
}


def special_table(connection: duckdb.DuckDBPyConnection) -> str:
    columns = ", ".join(f'"{name}" {type_}' for name, (type_, _) in SPECIAL.items())
    connection.execute(f"CREATE TABLE special ({columns})")
    for row in range(6):
        values = ", ".join(f"({values[row]})::{type_}" for type_, values in SPECIAL.values())
        connection.execute(f"INSERT INTO special VALUES ({values})")
    return "special"


def exact(value: Any) -> Any:
    """A value compared bit for bit: doubles as their IEEE 754 bits (NaN, -0.0), maps entry by entry."""
    if isinstance(value, float):
        return struct.pack(">d", value).hex() if not math.isnan(value) else "nan"
    if isinstance(value, dict):
        return {key: exact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [exact(item) for item in value]
    return value


def test_parquet_files_hold_every_value_exactly_under_lower_case_names(tmp_path: Path) -> None:
    connection = duckdb.connect()
    relation = special_table(connection)
    columns = trino_files.columns_of(connection, relation, "special")
    selected = ", ".join(f'"{column.name}" AS "{column.trino_name}"' for column in columns)
    trino_files.copy_with_progress(connection, f"SELECT {selected} FROM {relation}", tmp_path / "files", 6, "special")

    files = sorted((tmp_path / "files").glob("*.parquet"))
    assert files, "no Parquet file written"
    schema = pyarrow.parquet.read_schema(files[0])
    assert schema.names == [name.lower() for name in SPECIAL]
    timestamp = schema.field("x_ts").type
    assert (timestamp.unit, timestamp.tz) == ("us", None)  # Iceberg's timestamp(6) without time zone
    written = connection.execute(f"SELECT * FROM read_parquet('{tmp_path / 'files'}/*.parquet')").fetchall()
    sent = connection.execute(f"SELECT * FROM {relation}").fetchall()
    assert sorted(map(repr, map(exact, map(list, written)))) == sorted(map(repr, map(exact, map(list, sent))))


def test_table_definition_keeps_names_types_and_not_null(demo_warehouse_template: Path) -> None:
    telemetry = next(table for table in SOURCES if table.name == "telemetry")
    connection = duckdb.connect()
    for statement in warehouse.attach_statements(demo_warehouse_template):
        connection.execute(statement)
    try:
        columns = trino_load.source_columns(connection, telemetry)
    finally:
        connection.close()
    ddl = trino_files.create_table_sql(
        '"telemetry"."pulse"."telemetry__pulse_load"', columns, " WITH (format = 'PARQUET')"
    )
    assert trino_syntax_errors({"ddl": ddl}) == {"ddl": []}
    definitions = {column.name: column for column in sqlglot.parse_one(ddl, read="trino").this.expressions}
    assert list(definitions)[:3] == ["device_id", "test_id", "cycle_number"]
    assert "voltage__v" in definitions and "voltage__V" not in definitions
    assert definitions["voltage__v"].args["kind"].sql("trino") == "DOUBLE"
    assert definitions["timestamp"].args["kind"].sql("trino") == "TIMESTAMP(6)"
    assert definitions["auxiliary"].args["kind"].sql("trino") == "MAP(VARCHAR, DOUBLE)"
    assert "NOT NULL" in definitions["voltage__v"].sql("trino")
    assert "NOT NULL" not in definitions["auxiliary"].sql("trino")
    fingerprint = trino_files.fingerprint_sql('"telemetry"."pulse"."telemetry"', columns, per_column=True)
    assert trino_syntax_errors({"fingerprint": fingerprint}) == {"fingerprint": []}


def test_unmappable_type_names_the_column() -> None:
    with pytest.raises(PulseError, match=r"column telemetry.pulse.telemetry.blob has type BLOB"):
        trino_files.trino_type("BLOB", "telemetry.pulse.telemetry.blob")
    assert trino_files.trino_type("MAP(VARCHAR, MAP(VARCHAR, BIGINT))", "x") == "map(varchar, map(varchar, bigint))"


def test_storage_it_cannot_reach_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    connection = duckdb.connect()
    monkeypatch.delenv(config.PREFIX + "TRINO_LOCAL_ROOT", raising=False)
    with pytest.raises(PulseError, match="PULSE_ANALYTICS_TRINO_LOCAL_ROOT does not say where that folder is"):
        trino_files.write_parquet(connection, "SELECT 1 AS x", 1, "local:///telemetry/pulse/t-1", "t")
    monkeypatch.delenv(config.PREFIX + "S3_ENDPOINT", raising=False)
    with pytest.raises(PulseError, match="set PULSE_ANALYTICS_S3_ENDPOINT"):
        trino_files.write_parquet(connection, "SELECT 1 AS x", 1, "s3://pulse/telemetry/pulse/t-1", "t")
    with pytest.raises(PulseError, match="hdfs://nn/t-1, a kind of storage load-trino cannot write"):
        trino_files.write_parquet(connection, "SELECT 1 AS x", 1, "hdfs://nn/t-1", "t")
