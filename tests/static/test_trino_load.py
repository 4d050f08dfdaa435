"""`pulse load-trino` writes Trino SQL that carries every value exactly, checked without a Trino.

The statements are checked against Trino's grammar; their VALUES, transpiled to DuckDB by sqlglot, are evaluated by
DuckDB and compared with the rows they were made from. The load itself (staging table, row count check, rename, keeping
tables that already hold the rows) runs against the compose stack's Trino in tests/e2e/test_trino_stack.py.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from pulse_analytics import config, trino_load, warehouse
from tests.static.grammar import trino_syntax_errors

SOURCES = config.source_tables()


def sources(warehouse_dir: Path) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    for statement in warehouse.attach_statements(warehouse_dir):
        connection.execute(statement)
    return connection


def values_as_duckdb(insert: str, columns: list[trino_load.Column]) -> str:
    """The VALUES of a Trino INSERT as a DuckDB query (sqlglot transpiles the literals)."""
    values = sqlglot.parse_one(insert, read="trino").expression
    assert isinstance(values, exp.Values)
    names = ", ".join(f"c{index}" for index in range(len(columns)))
    return sqlglot.transpile(f"SELECT * FROM ({values.sql('trino')}) AS v({names})", read="trino", write="duckdb")[0]


@pytest.mark.parametrize("table", SOURCES, ids=lambda table: table.name)
def test_inserted_values_are_the_source_rows(demo_warehouse_template: Path, table: config.SourceTable) -> None:
    connection = sources(demo_warehouse_template)
    try:
        columns = trino_load.source_columns(connection, table)
        rows = list(trino_load.duckdb_rows(connection, table, columns))[:400]
        statements = list(trino_load.insert_statements('"c"."s"."t"', columns, iter(rows), limit=20_000))
        assert sum(count for _, count in statements) == len(rows) > 0
        assert all(len(statement) <= 20_000 for statement, _ in statements)
        assert not any(trino_syntax_errors({"insert": statements[0][0]}).values())
        carried = [row for statement, _ in statements for row in connection.sql(values_as_duckdb(statement, columns))
                   .fetchall()]  # fmt: skip
    finally:
        connection.close()
    assert carried == rows


def test_table_definition_keeps_names_types_and_not_null(demo_warehouse_template: Path) -> None:
    telemetry = next(table for table in SOURCES if table.name == "telemetry")
    connection = sources(demo_warehouse_template)
    try:
        columns = trino_load.source_columns(connection, telemetry)
    finally:
        connection.close()
    ddl = trino_load.create_table_sql('"telemetry"."pulse"."telemetry__pulse_load"', columns)
    assert trino_syntax_errors({"ddl": ddl}) == {"ddl": []}
    definitions = {column.name: column for column in sqlglot.parse_one(ddl, read="trino").this.expressions}
    assert list(definitions)[:3] == ["device_id", "test_id", "cycle_number"]
    assert "voltage__v" in definitions and "voltage__V" not in definitions
    assert definitions["voltage__v"].args["kind"].sql("trino") == "DOUBLE"
    assert definitions["timestamp"].args["kind"].sql("trino") == "TIMESTAMP(6)"
    assert definitions["auxiliary"].args["kind"].sql("trino") == "MAP(VARCHAR, DOUBLE)"
    assert "NOT NULL" in definitions["voltage__v"].sql("trino")
    assert "NOT NULL" not in definitions["auxiliary"].sql("trino")


LITERALS = [
    (None, "double", "NULL"),
    ("it's", "varchar", "'it''s'"),
    (0.1, "double", "0.1E0"),
    (1e-05, "double", "1E-05"),
    (-2.5e300, "double", "-2.5E+300"),
    (math.nan, "double", "nan()"),
    (-math.inf, "double", "-infinity()"),
    (7, "bigint", "7"),
    (True, "boolean", "TRUE"),
    (date(2026, 1, 15), "date", "DATE '2026-01-15'"),
    (datetime(2026, 3, 2, 8, 0), "timestamp(6)", "TIMESTAMP '2026-03-02 08:00:00.000000'"),
    ({}, "map(varchar, double)", "CAST(MAP(ARRAY[], ARRAY[]) AS map(varchar, double))"),
]  # fmt: skip


@pytest.mark.parametrize(("value", "type_", "expected"), LITERALS)
def test_literal(value: object, type_: str, expected: str) -> None:
    assert trino_load.literal(value, type_) == expected


def test_literals_are_trino_sql() -> None:
    errors = trino_syntax_errors({expected: f"SELECT {expected}" for _, _, expected in LITERALS})
    assert not any(errors.values()), errors


def test_unmappable_type_names_the_column() -> None:
    with pytest.raises(SystemExit, match=r"column telemetry.pulse.telemetry.blob has type BLOB"):
        trino_load.trino_type("BLOB", "telemetry.pulse.telemetry.blob")
    assert trino_load.trino_type("MAP(VARCHAR, MAP(VARCHAR, BIGINT))", "x") == "map(varchar, map(varchar, bigint))"


def test_a_row_longer_than_the_limit_still_goes_alone() -> None:
    columns = [trino_load.Column("note", "varchar", True)]
    statements = list(trino_load.insert_statements('"c"."s"."t"', columns, iter([("x" * 50,), ("y",)]), limit=60))
    assert [count for _, count in statements] == [1, 1]
