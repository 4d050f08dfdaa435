"""`pulse load-trino`: copy the source tables of the embedded warehouse into the telemetry and metadata catalogs of a
Trino (the compose stack's demo data, or a first load of a lab's own data).

Each table keeps its columns and types (names lower case, as Trino stores them) and arrives whole or not at all: rows
go into a staging table, then its row count and content fingerprint (below) are checked against the warehouse's, and
only then does it take the table's name. Rows travel as SQL text, so any Trino the bundle can reach will do (no file
access): each batch is one JSON varchar literal, `INSERT ... SELECT ... FROM UNNEST(CAST(json_parse('[[...], ...]')
AS array(row(...))))`, as large as Trino's query-text limit allows; timestamps and dates travel as text and are CAST,
non-finite doubles as the strings "NaN", "Infinity", "-Infinity", maps as JSON objects (keys as text, CAST back).
JSON numbers are written with Python's shortest round-trip repr, so every double arrives bit for bit. While Trino
runs one batch, the next is encoded.

**Running it again.** A table that already exists in Trino is compared by content, not by count: its fingerprint is
computed by Trino and, from the warehouse's rows, by Python, over the same canonical bytes (per value: a null flag,
then IEEE 754 bits for doubles and reals, 8-byte big-endian integers, length-prefixed UTF-8 for text, dates and
timestamps as text, maps as their sorted entries); per row a SHA-256; per table the row count and two 64-bit sums of
the row hashes (order-free). Same columns and same fingerprint: the table is kept as it is (nothing written). Anything
else is refused, naming the table and what differs (columns, row counts, or which columns' values), unless --replace
is given; --replace reloads every table.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import duckdb

from pulse_analytics import config, trino_connection, warehouse
from pulse_analytics.errors import PulseError
from pulse_analytics.progress import Progress, step
from pulse_analytics.trino_connection import quote

# Trino accepts 1,000,000 characters of query text by default (query.max-length); stay below it. A Trino configured
# with less refuses a batch with QUERY_TEXT_TOO_LARGE, and the batch is sent again in halves.
STATEMENT_CHARS = 900_000
FETCH_ROWS = 10_000
IN_FLIGHT = 2  # batches of one table sent to Trino at once (the next is encoded meanwhile)
TABLES_AT_ONCE = 3  # tables planned and loaded at the same time (each whole or not at all)
PROGRESS_LOCK = threading.Lock()
STAGING_SUFFIX = "__pulse_load"
RETIRED_SUFFIX = "__pulse_old"

SCALAR_TYPES = {
    "BOOLEAN": "boolean",
    "TINYINT": "tinyint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "FLOAT": "real",
    "DOUBLE": "double",
    "VARCHAR": "varchar",
    "DATE": "date",
    "TIMESTAMP": "timestamp(6)",
}
INTEGER_TYPES = ("tinyint", "smallint", "integer", "bigint")
TEXT_TRANSPORTED = ("date", "timestamp(6)")  # sent as varchar, CAST in Trino


@dataclass(frozen=True)
class Column:
    name: str  # as in DuckDB (may have upper case)
    trino_type: str
    nullable: bool

    @property
    def trino_name(self) -> str:
        return self.name.lower()


def trino_type(duckdb_type: str, where: str) -> str:
    """The Trino type of a DuckDB column type, or an error naming the column."""
    if duckdb_type in SCALAR_TYPES:
        return SCALAR_TYPES[duckdb_type]
    if duckdb_type.startswith("MAP(") and duckdb_type.endswith(")"):
        key_type, value_type = split_map_type(duckdb_type)
        return f"map({trino_type(key_type, where)}, {trino_type(value_type, where)})"
    raise PulseError(
        f"column {where} has type {duckdb_type}, which load-trino does not map to a Trino type; "
        f"supported: {', '.join(SCALAR_TYPES)} and MAP of them."
    )


def literal(value: Any, type_: str) -> str:
    """A Trino SQL literal of `type_` holding exactly `value` (doubles round-trip: shortest repr, as a DOUBLE)."""
    if value is None:
        return "NULL"
    if type_.startswith("map("):
        key_type, value_type = split_map_type(type_)
        keys = ", ".join(literal(key, key_type) for key in value)
        values = ", ".join(literal(item, value_type) for item in value.values())
        return f"CAST(MAP(ARRAY[{keys}], ARRAY[{values}]) AS {type_})"
    if type_ == "boolean":
        return "TRUE" if value else "FALSE"
    if type_ in ("real", "double"):
        return double_literal(float(value), type_)
    if type_ in INTEGER_TYPES:
        return str(int(value))
    if type_ == "date":
        return f"DATE '{value.isoformat()}'"
    if type_ == "timestamp(6)":
        return f"TIMESTAMP '{value.isoformat(sep=' ', timespec='microseconds')}'"
    return "'" + str(value).replace("'", "''") + "'"


def double_literal(value: float, type_: str) -> str:
    if math.isnan(value):
        text = "nan()"
    elif math.isinf(value):
        text = "infinity()" if value > 0 else "-infinity()"
    else:
        text = repr(value).upper()
        text = text if "E" in text else text + "E0"
    return text if type_ == "double" else f"CAST({text} AS real)"


def split_map_type(type_: str) -> tuple[str, str]:
    """Key and value types of `map(k, v)` (Trino) or `MAP(K, V)` (DuckDB), nested types kept whole."""
    inner = type_[len("map(") : -1]
    depth = 0
    for index, char in enumerate(inner):
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            return inner[:index].strip(), inner[index + 1 :].strip()
    raise ValueError(f"not a map type: {type_}")


# --- Transport: each row as a JSON array, each value as JSON that Trino CASTs back to the column's type -------------


def transport_type(type_: str) -> str:
    """The type a value travels as inside the JSON: dates and timestamps as varchar, map keys as varchar."""
    if type_ in TEXT_TRANSPORTED:
        return "varchar"
    if type_.startswith("map("):
        return f"map(varchar, {transport_type(split_map_type(type_)[1])})"
    return type_


def from_transport(expression: str, type_: str, depth: int = 0) -> str:
    """SQL turning `expression`, of transport_type(type_), into `type_`."""
    if type_ in TEXT_TRANSPORTED:
        return f"CAST({expression} AS {type_})"
    if not type_.startswith("map("):
        return expression
    key_type, value_type = split_map_type(type_)
    key, value = f"k{depth}", f"v{depth}"
    if key_type != "varchar":
        expression = f"transform_keys({expression}, ({key}, {value}) -> CAST({key} AS {key_type}))"
    converted = from_transport(value, value_type, depth + 1)
    if converted != value:
        expression = f"transform_values({expression}, ({key}, {value}) -> {converted})"
    return expression


def text_of(value: Any, type_: str) -> str:
    """A value as text Trino CASTs back exactly (dates, timestamps, and map keys)."""
    if type_ == "boolean":
        return "true" if value else "false"
    if type_ in ("real", "double"):
        return repr(float(value)) if math.isfinite(value) else non_finite(value)
    if type_ == "date":
        return value.isoformat()
    if type_ == "timestamp(6)":
        return value.isoformat(sep=" ", timespec="microseconds")
    return str(value)


def non_finite(value: float) -> str:
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def json_encoder(type_: str) -> Callable[[Any], Any]:
    """A function turning a non-null value of `type_` into what json.dumps writes for it."""
    if type_ in ("real", "double"):
        return lambda value: value if math.isfinite(value) else non_finite(value)
    if type_ in TEXT_TRANSPORTED:
        return lambda value: text_of(value, type_)
    if type_.startswith("map("):
        key_type, value_type = split_map_type(type_)
        encode_value = json_encoder(value_type)
        return lambda value: {
            text_of(key, key_type): None if item is None else encode_value(item) for key, item in value.items()
        }
    if type_ == "boolean":
        return bool
    return lambda value: value  # integers, varchar


def row_type(columns: Sequence[Column]) -> str:
    return (
        "row("
        + ", ".join(f"c{index} {transport_type(column.trino_type)}" for index, column in enumerate(columns))
        + ")"
    )


def insert_head(target: str, columns: Sequence[Column]) -> str:
    """The INSERT's text up to the JSON literal (its first line names the table, as errors quote it)."""
    names = ", ".join(quote(column.trino_name) for column in columns)
    selected = ", ".join(from_transport(f"c{index}", column.trino_type) for index, column in enumerate(columns))
    return f"INSERT INTO {target} ({names})\nSELECT {selected}\nFROM UNNEST(CAST(json_parse('["


def insert_tail(columns: Sequence[Column]) -> str:
    aliases = ", ".join(f"c{index}" for index in range(len(columns)))
    return f"]') AS array({row_type(columns)}))) AS u ({aliases})"


def insert_statement(target: str, columns: Sequence[Column], encoded_rows: Sequence[str]) -> str:
    return insert_head(target, columns) + ",".join(encoded_rows) + insert_tail(columns)


@dataclass
class Batch:
    rows: list[str]  # each row as JSON text, quotes doubled for the SQL literal
    first: int  # number of the batch's first row in the table (1-based)

    @property
    def count(self) -> int:
        return len(self.rows)


def encode_rows(columns: Sequence[Column], rows: Iterator[tuple], where: str) -> Iterator[str]:
    """Each row as the JSON array of its values (with quotes doubled for a SQL literal); errors name the column."""
    encoders = [json_encoder(column.trino_type) for column in columns]
    dumps = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode
    for number, row in enumerate(rows, start=1):
        try:
            values = [None if value is None else encode(value) for encode, value in zip(encoders, row, strict=True)]
            yield dumps(values).replace("'", "''")
        except (TypeError, ValueError, AttributeError) as error:
            column = next(
                (
                    column
                    for encode, value, column in zip(encoders, row, columns, strict=True)
                    if value is not None and not encodable(encode, value)
                ),
                None,
            )
            name = f"column {column.name} ({column.trino_type})" if column else "a column"
            raise PulseError(
                f"cannot send row {number:,} of {where}: {name} holds a value load-trino cannot "
                f"write exactly ({error})."
            ) from error


def encodable(encode: Callable[[Any], Any], value: Any) -> bool:
    try:
        json.dumps(encode(value), allow_nan=False)
        return True
    except (TypeError, ValueError, AttributeError):
        return False


def batches(encoded_rows: Iterator[str], limit: int) -> Iterator[Batch]:
    """The encoded rows in batches of at most `limit` characters of JSON (a longer row still goes, alone)."""
    batch: list[str] = []
    size, first = 0, 1
    for row in encoded_rows:
        if batch and size + len(row) + 1 > limit:
            yield Batch(batch, first)
            first += len(batch)
            batch, size = [], 0
        batch.append(row)
        size += len(row) + 1
    if batch:
        yield Batch(batch, first)


def insert_statements(
    target: str, columns: Sequence[Column], rows: Iterator[tuple], limit: int = STATEMENT_CHARS
) -> Iterator[tuple[str, int]]:
    """INSERT statements holding every row once, each under `limit` characters (unless one row alone is longer):
    (statement, row count)."""
    overhead = len(insert_head(target, columns)) + len(insert_tail(columns))
    for batch in batches(encode_rows(columns, rows, target), limit - overhead):
        yield insert_statement(target, columns, batch.rows), batch.count


# --- Fingerprint: the same canonical bytes computed by Trino (SQL) and by Python (from DuckDB's rows) ----------------

HASH_SUMS = 2  # 64-bit sums of row hashes per fingerprint
NAN_64 = bytes.fromhex("7ff8000000000000")  # Trino's to_ieee754_64(nan()): Java's canonical NaN
NAN_32 = bytes.fromhex("7fc00000")


def value_bytes(type_: str) -> Callable[[Any], bytes]:
    """Python: the canonical bytes of a non-null value of `type_` (matches value_sql)."""
    if type_ in INTEGER_TYPES or type_ == "boolean":
        return lambda value: int(value).to_bytes(8, "big", signed=True)
    if type_ == "double":
        return lambda value: NAN_64 if math.isnan(value) else struct.pack(">d", value)
    if type_ == "real":
        return lambda value: NAN_32 if math.isnan(value) else struct.pack(">f", value)
    if type_ in TEXT_TRANSPORTED:
        return lambda value: text_bytes(text_of(value, type_))
    if type_.startswith("map("):
        key_type, value_type = split_map_type(type_)
        key_bytes, item_bytes = value_bytes(key_type), nullable_bytes(value_type)
        return lambda value: (
            len(value).to_bytes(4, "big")
            + b"".join(sorted(key_bytes(key) + item_bytes(item) for key, item in value.items()))
        )
    return lambda value: text_bytes(str(value))  # varchar


def text_bytes(text: str) -> bytes:
    data = text.encode()
    return len(data).to_bytes(4, "big") + data


def nullable_bytes(type_: str) -> Callable[[Any], bytes]:
    encode = value_bytes(type_)
    return lambda value: b"\x00" if value is None else b"\x01" + encode(value)


def value_sql(expression: str, type_: str, depth: int = 0) -> str:
    """Trino: the canonical bytes (varbinary) of `expression` of `type_`, NULL when it is (matches value_bytes)."""
    if type_ in INTEGER_TYPES or type_ == "boolean":
        return f"to_big_endian_64(CAST({expression} AS bigint))"
    if type_ == "double":
        return f"to_ieee754_64({expression})"
    if type_ == "real":
        return f"to_ieee754_32({expression})"
    if type_ in TEXT_TRANSPORTED:
        return text_sql(f"CAST({expression} AS varchar)")
    if type_.startswith("map("):
        key_type, value_type = split_map_type(type_)
        entry, total, part = f"e{depth}", f"s{depth}", f"p{depth}"
        key = value_sql(f"{entry}[1]", key_type, depth + 1)
        item = nullable_sql(f"{entry}[2]", value_type, depth + 1)
        entries = f"transform(map_entries({expression}), {entry} -> {key} || {item})"
        return (
            f"to_big_endian_32(CAST(cardinality({expression}) AS integer)) || "
            f"reduce(array_sort({entries}), X'', ({total}, {part}) -> {total} || {part}, {total} -> {total})"
        )
    return text_sql(expression)


def text_sql(expression: str) -> str:
    return f"to_big_endian_32(CAST(length(to_utf8({expression})) AS integer)) || to_utf8({expression})"


def nullable_sql(expression: str, type_: str, depth: int = 0) -> str:
    return f"coalesce(X'01' || {value_sql(expression, type_, depth)}, X'00')"


def concat_sql(parts: Sequence[str]) -> str:
    """concat() of any number of varbinary expressions (Trino takes at most 254 arguments a call)."""
    if len(parts) == 1:
        return parts[0]
    if len(parts) <= 100:
        return f"concat({', '.join(parts)})"
    return concat_sql([concat_sql(parts[start : start + 100]) for start in range(0, len(parts), 100)])


def hash_sums_sql(hash_expression: str) -> list[str]:
    return [
        f"coalesce(sum(CAST(from_big_endian_64(substr({hash_expression}, {1 + 8 * part}, 8)) AS decimal(38, 0))), 0)"
        for part in range(HASH_SUMS)
    ]


def hash_sums(digest: bytes) -> list[int]:
    return [int.from_bytes(digest[8 * part : 8 * part + 8], "big", signed=True) for part in range(HASH_SUMS)]


@dataclass
class Fingerprint:
    """A table's row count and sums of its rows' SHA-256 (independent of row order); per column on demand."""

    rows: int = 0
    sums: list[int] = field(default_factory=lambda: [0] * HASH_SUMS)

    def add(self, digest: bytes) -> None:
        self.rows += 1
        for part, value in enumerate(hash_sums(digest)):
            self.sums[part] += value


class RowHasher:
    """Python side of the fingerprint: feed it DuckDB rows of `columns`."""

    def __init__(self, columns: Sequence[Column], per_column: bool = False) -> None:
        self.encoders = [nullable_bytes(column.trino_type) for column in columns]
        self.table = Fingerprint()
        self.columns = [Fingerprint() for _ in columns] if per_column else []

    def add(self, row: tuple) -> None:
        parts = [encode(value) for encode, value in zip(self.encoders, row, strict=True)]
        self.table.add(hashlib.sha256(b"".join(parts)).digest())
        for fingerprint, part in zip(self.columns, parts, strict=False):
            fingerprint.add(hashlib.sha256(part).digest())


def fingerprint_sql(target: str, columns: Sequence[Column], per_column: bool = False) -> str:
    """Trino side of the fingerprint: one row, count then the sums (of the table, then of each column)."""
    parts = [nullable_sql(quote(column.trino_name), column.trino_type) for column in columns]
    selected = ["count(*)", *hash_sums_sql("row_hash")]
    hashes = [f"sha256({concat_sql(parts)}) AS row_hash"]
    if per_column:
        for index, part in enumerate(parts):
            hashes.append(f"sha256({part}) AS column_hash_{index}")
            selected.extend(hash_sums_sql(f"column_hash_{index}"))
    return f"SELECT {', '.join(selected)} FROM (SELECT {', '.join(hashes)} FROM {target})"


def parse_fingerprints(row: tuple, columns: int) -> tuple[Fingerprint, list[Fingerprint]]:
    count, values = row[0], [int(value) for value in row[1:]]
    table = Fingerprint(count, values[:HASH_SUMS])
    per_column = [
        Fingerprint(count, values[HASH_SUMS * (index + 1) : HASH_SUMS * (index + 2)])
        for index in range(columns)
        if len(values) > HASH_SUMS
    ]
    return table, per_column


# --- The load ------------------------------------------------------------------------------------------------------


def source_columns(connection: duckdb.DuckDBPyConnection, table: config.SourceTable) -> list[Column]:
    rows = connection.execute(
        "select column_name, data_type, is_nullable = 'YES' from information_schema.columns "
        "where table_catalog = ? and table_schema = ? and table_name = ? order by ordinal_position",
        [table.catalog, table.schema, table.table],
    ).fetchall()
    if not rows:
        raise PulseError(
            f"the embedded warehouse has no table {table.qualified} ({table.name}): "
            "run `pulse seed` first, or set PULSE_ANALYTICS_WAREHOUSE_DIR to the folder holding it."
        )
    return [Column(name, trino_type(type_, f"{table.qualified}.{name}"), nullable) for name, type_, nullable in rows]


def create_table_sql(target: str, columns: Sequence[Column]) -> str:
    definitions = ",\n    ".join(
        f"{quote(column.trino_name)} {column.trino_type}{'' if column.nullable else ' NOT NULL'}" for column in columns
    )
    return f"CREATE TABLE {target} (\n    {definitions}\n)"


def duckdb_rows(
    connection: duckdb.DuckDBPyConnection, table: config.SourceTable, columns: Sequence[Column]
) -> Iterator[tuple]:
    selected = ", ".join('"' + column.name.replace('"', '""') + '"' for column in columns)
    cursor = connection.cursor().execute(f"select {selected} from {warehouse.quoted(table)}")
    while chunk := cursor.fetchmany(FETCH_ROWS):
        yield from chunk


def warehouse_fingerprint(
    connection: duckdb.DuckDBPyConnection,
    table: config.SourceTable,
    columns: Sequence[Column],
    per_column: bool = False,
) -> RowHasher:
    hasher = RowHasher(columns, per_column)
    for row in duckdb_rows(connection, table, columns):
        hasher.add(row)
    return hasher


def open_sources() -> duckdb.DuckDBPyConnection:
    """The embedded warehouse's source catalogs, attached read-only."""
    warehouse.require_warehouse()
    connection = duckdb.connect()
    for statement in warehouse.attach_statements():
        connection.execute(statement)
    return connection


def type_family(type_: str) -> str:
    """Types that hold the same values: Iceberg widens tinyint and smallint to integer, PostgreSQL tinyint to
    smallint; the fingerprint reads every integer as a bigint."""
    return "integer" if type_ in INTEGER_TYPES else type_


def column_differences(wanted: Sequence[Column], present: dict[str, str]) -> list[str]:
    """What differs between the warehouse's columns and a Trino table's ({name: type})."""
    differences = []
    names = {column.trino_name for column in wanted}
    missing = [column.trino_name for column in wanted if column.trino_name not in present]
    extra = [name for name in present if name not in names]
    if missing:
        differences.append(f"the Trino table lacks column(s) {', '.join(missing)}")
    if extra:
        differences.append(f"the Trino table has column(s) the warehouse's has not: {', '.join(extra)}")
    differences.extend(
        f"column {column.trino_name} is {present[column.trino_name]} in Trino, {column.trino_type} in the warehouse"
        for column in wanted
        if column.trino_name in present and type_family(present[column.trino_name]) != type_family(column.trino_type)
    )
    return differences


@dataclass
class Plan:
    """What to do with one source table."""

    table: config.SourceTable
    columns: list[Column]
    rows: int
    write: bool
    note: str = ""


class Cancelled(Exception):
    """Another table failed or the user pressed Ctrl-C: stop sending rows (the staging table is dropped)."""


@dataclass
class Loader:
    """Loads source tables through one Trino cursor (plus one per batch in flight), reading from one DuckDB cursor;
    one Loader per thread."""

    sources: duckdb.DuckDBPyConnection
    cursor: Any
    replace: bool
    connect: Callable[[], Any] = trino_connection.connect
    limit: int = STATEMENT_CHARS
    in_flight: int = IN_FLIGHT
    stop: threading.Event = field(default_factory=threading.Event)

    def trino(self, sql: str) -> list[tuple]:
        return trino_connection.run(self.cursor, sql)

    def row_count(self, target: str) -> int:
        return self.trino(f"SELECT count(*) FROM {target}")[0][0]

    def exists(self, table: config.SourceTable, name: str) -> bool:
        found = self.trino(
            f"SELECT count(*) FROM {quote(table.catalog)}.information_schema.tables "
            f"WHERE table_schema = {literal(table.schema, 'varchar')} "
            f"AND table_name = {literal(name, 'varchar')}"
        )
        return found[0][0] > 0

    def trino_columns(self, table: config.SourceTable) -> dict[str, str]:
        rows = self.trino(
            f"SELECT column_name, data_type FROM {quote(table.catalog)}.information_schema.columns "
            f"WHERE table_schema = {literal(table.schema, 'varchar')} "
            f"AND table_name = {literal(table.table, 'varchar')} ORDER BY ordinal_position"
        )
        return dict(rows)

    def trino_fingerprint(
        self, target: str, columns: Sequence[Column], per_column: bool = False
    ) -> tuple[Fingerprint, list[Fingerprint]]:
        return parse_fingerprints(self.trino(fingerprint_sql(target, columns, per_column))[0], len(columns))

    def content_differences(
        self,
        table: config.SourceTable,
        target: str,
        columns: Sequence[Column],
        present: Fingerprint,
        wanted: Fingerprint,
    ) -> str:
        """Say how a Trino table's content differs from the warehouse's (same columns, different fingerprints)."""
        if present.rows != wanted.rows:
            return f"it holds {present.rows:,} rows, the warehouse {wanted.rows:,}"
        _, trino_columns = self.trino_fingerprint(target, columns, per_column=True)
        python_columns = warehouse_fingerprint(self.sources, table, columns, per_column=True).columns
        changed = [
            column.trino_name
            for column, ours, theirs in zip(columns, python_columns, trino_columns, strict=True)
            if ours != theirs
        ]
        if changed:
            return f"same {wanted.rows:,} rows, but other values in column(s) {', '.join(changed)}"
        return f"same {wanted.rows:,} rows and the same values per column, but combined into other rows"

    def plan(self, table: config.SourceTable) -> Plan:
        """Columns and rows to load, and whether the table must be (re)written: it must when it does not exist or
        --replace is given; it is kept when its content is the warehouse's; anything else is refused."""
        columns = source_columns(self.sources, table)
        rows = self.sources.execute(f"select count(*) from {warehouse.quoted(table)}").fetchone()[0]
        if self.replace or not self.exists(table, table.table):
            return Plan(table, columns, rows, True)
        target = quote(table.catalog, table.schema, table.table)
        differences = column_differences(columns, self.trino_columns(table))
        if not differences:
            present, _ = self.trino_fingerprint(target, columns)
            wanted = warehouse_fingerprint(self.sources, table, columns).table
            if present == wanted:
                return Plan(
                    table,
                    columns,
                    rows,
                    False,
                    f"{table.qualified}: already holds the warehouse's {rows:,} "
                    "rows, same content (fingerprint): kept (--replace reloads it)",
                )
            differences = [self.content_differences(table, target, columns, present, wanted)]
        raise PulseError(
            f"Trino table {table.qualified} differs from the embedded warehouse's: "
            f"{'; '.join(differences)}. Pass --replace to overwrite it, or point "
            f"PULSE_ANALYTICS_{table.name.upper()}_TABLE (or the catalog/schema) elsewhere."
        )

    def load(self, plan: Plan, progress: Progress) -> None:
        """Write the table through a staging table that takes its name once its count and fingerprint are right."""
        table, columns, rows = plan.table, plan.columns, plan.rows
        staging = quote(table.catalog, table.schema, table.table + STAGING_SUFFIX)
        self.trino(f"DROP TABLE IF EXISTS {staging}")
        self.create(table, staging, columns)
        try:
            sent = self.send_rows(table, staging, columns, rows, progress)
            landed, _ = self.trino_fingerprint(staging, columns)
            if landed.rows != rows:
                raise PulseError(
                    f"Trino holds {landed.rows:,} rows of {rows:,} sent for {table.qualified}; "
                    "the table was left unchanged. Run `pulse load-trino` again."
                )
            if landed != sent:
                what = self.content_differences(table, staging, columns, landed, sent)
                raise PulseError(
                    f"the rows Trino stored for {table.qualified} are not the ones sent ({what}); "
                    "the table was left unchanged."
                )
        except BaseException:
            with contextlib.suppress(Exception):  # the first error is the one to report
                self.trino(f"DROP TABLE IF EXISTS {staging}")
            raise
        self.swap_in(table, staging)

    def create(self, table: config.SourceTable, staging: str, columns: Sequence[Column]) -> None:
        """Create the staging table; a type the catalog's connector refuses is named with its columns."""
        try:
            self.trino(create_table_sql(staging, columns))
        except PulseError as refusal:
            refused = [column.trino_name for column in columns if f"type: {column.trino_type}" in str(refusal)]
            if not refused:
                raise
            raise PulseError(
                f"catalog {table.catalog} cannot hold column(s) {', '.join(refused)} of "
                f"{table.qualified} ({refusal}); load the table into a catalog whose connector supports "
                "the type (e.g. Iceberg), or change the column's type in the warehouse."
            ) from refusal

    def send_rows(
        self, table: config.SourceTable, staging: str, columns: list[Column], rows: int, progress: Progress
    ) -> Fingerprint:
        """Send every row of `table` into `staging`, encoding the next batch while Trino runs the previous ones;
        returns the fingerprint of the rows sent."""
        hasher = RowHasher(columns)

        def hashed(source: Iterator[tuple]) -> Iterator[tuple]:
            for row in source:
                hasher.add(row)
                yield row

        overhead = len(insert_head(staging, columns)) + len(insert_tail(columns))
        encoded = encode_rows(columns, hashed(duckdb_rows(self.sources, table, columns)), table.qualified)
        lock, local = threading.Lock(), threading.local()
        connections: list[Any] = []
        loaded = 0

        def send(batch: Batch) -> None:
            nonlocal loaded
            if not hasattr(local, "cursor"):
                connection = self.connect()
                with lock:
                    connections.append(connection)
                local.cursor = connection.cursor()
            self.insert(local.cursor, staging, columns, batch, table)
            with lock:
                loaded += batch.count
                done = loaded
            with PROGRESS_LOCK:
                progress.advance(f"{table.qualified}: {done:,}/{rows:,} rows", batch.count)

        pending: deque[Future[None]] = deque()
        pool = ThreadPoolExecutor(self.in_flight, thread_name_prefix="load-trino")
        try:
            for batch in batches(encoded, self.limit - overhead):
                if self.stop.is_set():
                    raise Cancelled(table.qualified)
                pending.append(pool.submit(send, batch))
                while len(pending) >= self.in_flight or (pending and pending[0].done()):
                    pending.popleft().result()
            while pending:
                pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True)
            for connection in connections:
                with contextlib.suppress(Exception):
                    connection.close()
        return hasher.table

    def insert(self, cursor: Any, staging: str, columns: list[Column], batch: Batch, table: config.SourceTable) -> None:
        """Insert one batch; a Trino that refuses a statement as too long gets it again in halves."""
        import trino

        try:
            trino_connection.run(cursor, insert_statement(staging, columns, batch.rows))
        except PulseError as refusal:
            error = refusal.__cause__
            if not isinstance(error, trino.exceptions.TrinoQueryError):
                raise  # Trino unreachable: the message says what to do
            if error.error_name == "QUERY_TEXT_TOO_LARGE" and batch.count > 1:
                half = batch.count // 2
                self.insert(cursor, staging, columns, Batch(batch.rows[:half], batch.first), table)
                self.insert(cursor, staging, columns, Batch(batch.rows[half:], batch.first + half), table)
                return
            last = batch.first + batch.count - 1
            raise PulseError(
                f"Trino at {trino_connection.address()} refused rows {batch.first:,}-{last:,} "
                f"of {table.qualified} (into {staging}) as user {config.get('TRINO_USER')}: "
                f"{error.error_name}: {error.message}"
            ) from error

    def swap_in(self, table: config.SourceTable, staging: str) -> None:
        """Give the staging table the table's name; the old table is dropped only once the new one stands in."""
        target = quote(table.catalog, table.schema, table.table)
        retired = quote(table.catalog, table.schema, table.table + RETIRED_SUFFIX)
        replacing = self.exists(table, table.table)
        if replacing:
            self.trino(f"DROP TABLE IF EXISTS {retired}")
            self.trino(f"ALTER TABLE {target} RENAME TO {retired}")
        try:
            self.trino(f"ALTER TABLE {staging} RENAME TO {target}")
        except BaseException:
            if replacing:  # put the old table back under its name
                with contextlib.suppress(Exception):
                    self.trino(f"ALTER TABLE {retired} RENAME TO {target}")
            raise
        if replacing:
            self.trino(f"DROP TABLE {retired}")


class Workers:
    """A Loader per thread (its own Trino connection and DuckDB cursor) and a function run for each item at once."""

    def __init__(self, sources: duckdb.DuckDBPyConnection, replace: bool) -> None:
        self.sources, self.replace = sources, replace
        self.local = threading.local()
        self.connections: list[Any] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def loader(self) -> Loader:
        if not hasattr(self.local, "loader"):
            connection = trino_connection.connect()
            with self.lock:
                self.connections.append(connection)
            self.local.loader = Loader(self.sources.cursor(), connection.cursor(), self.replace, stop=self.stop)
        return self.local.loader

    def each(self, function: Callable[[Loader, Any], Any], items: Sequence[Any]) -> list[Any]:
        """function(loader, item) for every item, TABLES_AT_ONCE at a time; the results in the items' order. Each
        item runs to its end even when another fails (the failures are reported together, each once)."""
        pool = ThreadPoolExecutor(TABLES_AT_ONCE, thread_name_prefix="load-trino-table")
        futures = [pool.submit(lambda item: function(self.loader(), item), item) for item in items]
        try:
            for future in futures:
                future.exception()  # waits
        except BaseException:  # Ctrl-C: tables being sent stop at their next batch and drop their staging
            self.stop.set()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        errors = [future.exception() for future in futures if future.exception() is not None]
        messages = list(dict.fromkeys(str(error) for error in errors if isinstance(error, PulseError)))
        if messages:
            raise PulseError("\nerror: ".join(messages))  # one line per table, each printed as an error
        if errors:
            raise errors[0]  # type: ignore[misc]
        return [future.result() for future in futures]

    def close(self) -> None:
        for connection in self.connections:
            with contextlib.suppress(Exception):
                connection.close()


def load_all(replace: bool = False) -> int:
    """Load every source table into Trino; returns the number of rows written."""
    trino_connection.check_settings()
    tables = config.source_tables()
    sources = open_sources()
    workers = Workers(sources, replace)
    try:
        step(f"Loading {len(tables)} tables into Trino at {trino_connection.address()} as {config.get('TRINO_USER')}")
        loader = workers.loader()
        for catalog, schema in dict.fromkeys((table.catalog, table.schema) for table in tables):
            loader.trino(f"CREATE SCHEMA IF NOT EXISTS {quote(catalog, schema)}")
        plans: list[Plan] = workers.each(Loader.plan, tables)
        for plan in plans:
            if plan.note:
                print(plan.note)
        progress = Progress("load-trino", sum(plan.rows for plan in plans if plan.write))
        workers.each(lambda loader, plan: loader.load(plan, progress), [plan for plan in plans if plan.write])
        written = progress.done
    finally:
        workers.close()
        sources.close()
    print(f"load-trino OK: {written:,} rows written, {len(tables)} tables in place")
    return written
