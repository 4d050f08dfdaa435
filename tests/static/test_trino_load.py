"""`pulse load-trino` writes Trino SQL that carries every value exactly, checked without a Trino.

The statements are checked against Trino's grammar; the JSON literal of each, read back with the conversions the
statement asks of Trino (text to timestamp or date, "NaN" to a double, map keys from text), gives back the rows it was
made from. The load itself (staging table, count and fingerprint check, rename, keeping tables whose content is the
warehouse's, every value bit for bit) runs against a real Trino in tests/e2e/test_trino_stack.py.
"""

from __future__ import annotations

import json
import math
import struct
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot

from pulse_analytics import config, trino_load, warehouse
from pulse_analytics.errors import PulseError
from tests.static.grammar import trino_syntax_errors

SOURCES = config.source_tables()


def sources(warehouse_dir: Path) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    for statement in warehouse.attach_statements(warehouse_dir):
        connection.execute(statement)
    return connection


def from_json(value: Any, type_: str) -> Any:
    """What Trino makes of a JSON value sent for `type_` by the statement (CAST, from_transport)."""
    if value is None:
        return None
    if type_ in ("double", "real"):
        return float(value)  # numbers, or the strings NaN, Infinity, -Infinity (Java's Double.parseDouble)
    if type_ == "date":
        return date.fromisoformat(value)
    if type_ == "timestamp(6)":
        return datetime.fromisoformat(value)
    if type_ == "boolean" and isinstance(value, str):
        return value == "true"
    if type_.startswith("map("):
        key_type, value_type = trino_load.split_map_type(type_)
        key_of = (
            (lambda key: key)
            if key_type == "varchar"
            else (lambda key: from_json(json.loads(key) if key_type in trino_load.INTEGER_TYPES else key, key_type))
        )
        return {key_of(key): from_json(item, value_type) for key, item in value.items()}
    return value


def carried_rows(statement: str, columns: list[trino_load.Column]) -> list[tuple]:
    head, tail = "json_parse('", "') AS array("
    literal = statement[statement.index(head) + len(head) : statement.rindex(tail)]
    return [
        tuple(from_json(value, column.trino_type) for value, column in zip(row, columns, strict=True))
        for row in json.loads(literal.replace("''", "'"))
    ]


def same(left: Any, right: Any) -> bool:
    """Equal, doubles bit for bit (NaN included, -0.0 is not 0.0)."""
    if isinstance(left, float) and isinstance(right, float):
        return struct.pack(">d", left) == struct.pack(">d", right) or (math.isnan(left) and math.isnan(right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same(left[key], right[key]) for key in left)
    if isinstance(left, tuple) and isinstance(right, tuple):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    return type(left) is type(right) and left == right


@pytest.mark.parametrize("table", SOURCES, ids=lambda table: table.name)
def test_inserted_values_are_the_source_rows(demo_warehouse_template: Path, table: config.SourceTable) -> None:
    connection = sources(demo_warehouse_template)
    try:
        columns = trino_load.source_columns(connection, table)
        rows = list(trino_load.duckdb_rows(connection, table, columns))[:400]
    finally:
        connection.close()
    statements = list(trino_load.insert_statements('"c"."s"."t"', columns, iter(rows), limit=20_000))
    assert sum(count for _, count in statements) == len(rows) > 0
    assert all(len(statement) <= 20_000 for statement, _ in statements)
    assert not any(trino_syntax_errors({"insert": statements[0][0]}).values())
    sqlglot.parse_one(statements[0][0], read="trino")
    carried = [row for statement, _ in statements for row in carried_rows(statement, columns)]
    assert len(carried) == len(rows) and all(same(a, b) for a, b in zip(carried, rows, strict=True))


SPECIAL = [
    trino_load.Column("d", "double", True),
    trino_load.Column("r", "real", True),
    trino_load.Column("s", "varchar", True),
    trino_load.Column("t", "timestamp(6)", True),
    trino_load.Column("day", "date", True),
    trino_load.Column("b", "boolean", True),
    trino_load.Column("i", "tinyint", True),
    trino_load.Column("big", "bigint", True),
    trino_load.Column("m", "map(varchar, double)", True),
    trino_load.Column("mk", "map(bigint, double)", True),
    trino_load.Column("mm", "map(date, map(varchar, timestamp(6)))", True),
]
SPECIAL_ROWS = [
    (
        math.nan,
        math.nan,
        'it\'s "quoted"\n\\ é ☃ 𝄞',
        datetime(2026, 3, 2, 8, 0, 0, 1),
        date(1, 1, 1),
        True,
        -128,
        -(2**63),
        {"nan": math.nan, "inf": math.inf, "-0": -0.0},
        {-1: None, 2**40: 5e-324},
        {date(2026, 1, 2): {"x": datetime(1999, 12, 31, 23, 59, 59, 999999)}},
    ),
    (
        -0.0,
        3.4028234663852886e38,
        "",
        datetime(9999, 12, 31, 23, 59, 59, 999999),
        date(9999, 12, 31),
        False,
        127,
        2**63 - 1,
        {},
        {},
        {},
    ),
    (
        -math.inf,
        0.10000000149011612,
        "'",
        datetime(1970, 1, 1),
        date(1970, 1, 1),
        False,
        0,
        0,
        {"a": 1e300},
        None,
        {date(2000, 2, 29): {}},
    ),
    (None,) * len(SPECIAL),
    (5e-324, 1.401298464324817e-45, None, None, None, None, None, None, None, None, None),
    (1.7976931348623157e308, -math.inf, "\x00\t", None, None, None, None, None, {"k": None}, {0: 0.1}, None),
]


def test_special_values_travel_exactly() -> None:
    statements = list(trino_load.insert_statements('"c"."s"."t"', SPECIAL, iter(SPECIAL_ROWS), limit=700))
    assert len(statements) > 1
    assert not any(trino_syntax_errors({str(i): s for i, (s, _) in enumerate(statements)}).values())
    carried = [row for statement, _ in statements for row in carried_rows(statement, SPECIAL)]
    assert len(carried) == len(SPECIAL_ROWS)
    for sent, row in zip(carried, SPECIAL_ROWS, strict=True):
        assert same(sent, row), (sent, row)
    assert all(ord(char) < 128 for statement, _ in statements for char in statement)  # lengths are Trino's


def test_conversions_from_the_json() -> None:
    assert trino_load.transport_type("map(date, map(varchar, timestamp(6)))") == "map(varchar, map(varchar, varchar))"
    assert trino_load.from_transport("c0", "timestamp(6)") == "CAST(c0 AS timestamp(6))"
    assert trino_load.from_transport("c0", "map(varchar, double)") == "c0"
    assert trino_load.from_transport("c0", "map(bigint, date)") == (
        "transform_values(transform_keys(c0, (k0, v0) -> CAST(k0 AS bigint)), (k0, v0) -> CAST(v0 AS date))"
    )


def test_fingerprint_ignores_row_order_and_sees_any_change() -> None:
    def fingerprint(rows: list[tuple]) -> trino_load.Fingerprint:
        hasher = trino_load.RowHasher(SPECIAL, per_column=True)
        for row in rows:
            hasher.add(row)
        return hasher.table

    base = fingerprint(SPECIAL_ROWS)
    assert fingerprint(list(reversed(SPECIAL_ROWS))) == base
    changed = [SPECIAL_ROWS[0][:1] + (0.0,) + SPECIAL_ROWS[0][2:], *SPECIAL_ROWS[1:]]
    assert fingerprint(changed) != base
    assert fingerprint([(0.0, *SPECIAL_ROWS[0][1:]), *SPECIAL_ROWS[1:]]) != fingerprint(
        [(-0.0, *SPECIAL_ROWS[0][1:]), *SPECIAL_ROWS[1:]]
    )
    swapped = [SPECIAL_ROWS[1][:1] + SPECIAL_ROWS[0][1:], SPECIAL_ROWS[0][:1] + SPECIAL_ROWS[1][1:], *SPECIAL_ROWS[2:]]
    assert fingerprint(swapped).rows == base.rows and fingerprint(swapped) != base
    sql = trino_load.fingerprint_sql('"c"."s"."t"', SPECIAL, per_column=True)
    assert trino_syntax_errors({"fingerprint": sql}) == {"fingerprint": []}


class RefusingLongQueries:
    """A DB-API cursor of a Trino whose query.max-length is `limit`."""

    def __init__(self, limit: int) -> None:
        self.limit, self.statements = limit, []

    def execute(self, sql: str) -> None:
        import trino

        if len(sql) > self.limit:
            raise trino.exceptions.TrinoUserError({"errorName": "QUERY_TEXT_TOO_LARGE", "message": "too long"}, "q1")
        self.statements.append(sql)

    def fetchall(self) -> list[tuple]:
        return []


def test_a_trino_with_a_shorter_query_limit_gets_the_batch_in_halves() -> None:
    columns = [trino_load.Column("note", "varchar", True)]
    rows = [(f"row {index}",) for index in range(40)]
    loader = trino_load.Loader(duckdb.connect(), None, replace=False)
    batch = trino_load.Batch(list(trino_load.encode_rows(columns, iter(rows), "t")), 1)
    head = len(trino_load.insert_statement('"c"."s"."t"', columns, batch.rows[:5]))
    cursor = RefusingLongQueries(head)
    loader.insert(cursor, '"c"."s"."t"', columns, batch, SOURCES[0])
    assert sum(len(carried_rows(statement, columns)) for statement in cursor.statements) == 40
    assert all(len(statement) <= head for statement in cursor.statements)
    with pytest.raises(PulseError, match=r"refused rows 1-1 of telemetry\.pulse\.telemetry .*QUERY_TEXT_TOO_LARGE"):
        loader.insert(RefusingLongQueries(10), '"c"."s"."t"', columns, batch, SOURCES[0])


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
]


@pytest.mark.parametrize(("value", "type_", "expected"), LITERALS)
def test_literal(value: object, type_: str, expected: str) -> None:
    assert trino_load.literal(value, type_) == expected


def test_literals_are_trino_sql() -> None:
    errors = trino_syntax_errors({expected: f"SELECT {expected}" for _, _, expected in LITERALS})
    assert not any(errors.values()), errors


def test_unmappable_type_names_the_column() -> None:
    with pytest.raises(PulseError, match=r"column telemetry.pulse.telemetry.blob has type BLOB"):
        trino_load.trino_type("BLOB", "telemetry.pulse.telemetry.blob")
    assert trino_load.trino_type("MAP(VARCHAR, MAP(VARCHAR, BIGINT))", "x") == "map(varchar, map(varchar, bigint))"


def test_a_row_longer_than_the_limit_still_goes_alone() -> None:
    columns = [trino_load.Column("note", "varchar", True)]
    statements = list(trino_load.insert_statements('"c"."s"."t"', columns, iter([("x" * 50,), ("y",)]), limit=60))
    assert [count for _, count in statements] == [1, 1]
