"""`pulse load-trino`: copy the source tables of the embedded warehouse into the telemetry and metadata catalogs of a
Trino (the compose stack's demo data, or a first load of a lab's own data).

Each table keeps its columns and types (names lower case, as Trino stores them) and arrives whole or not at all: rows go
into a staging table in batches of INSERT ... VALUES (bounded by Trino's query-text limit), the staging table's row
count is checked, and only then does it take the table's name. Without --replace, a table that already holds as many
rows as the warehouse's is kept (running the load again is quick) and one holding another number of rows is refused;
--replace reloads every table.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from pulse_analytics import config, trino_connection, warehouse
from pulse_analytics.progress import Progress, step
from pulse_analytics.trino_connection import quote

# Trino accepts 1,000,000 characters of query text by default (query.max-length); stay well below.
STATEMENT_CHARS = 400_000
FETCH_ROWS = 10_000
STAGING_SUFFIX = "__pulse_load"
RETIRED_SUFFIX = "__pulse_old"

SCALAR_TYPES = {
    "BOOLEAN": "boolean", "TINYINT": "tinyint", "SMALLINT": "smallint", "INTEGER": "integer", "BIGINT": "bigint",
    "FLOAT": "real", "DOUBLE": "double", "VARCHAR": "varchar", "DATE": "date", "TIMESTAMP": "timestamp(6)",
}  # fmt: skip


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
    raise SystemExit(f"error: column {where} has type {duckdb_type}, which load-trino does not map to a Trino type; "
                     f"supported: {', '.join(SCALAR_TYPES)} and MAP of them.")


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
    if type_ in ("tinyint", "smallint", "integer", "bigint"):
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
    inner = type_[len("map("):-1]
    depth = 0
    for index, char in enumerate(inner):
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            return inner[:index].strip(), inner[index + 1:].strip()
    raise ValueError(f"not a map type: {type_}")


def source_columns(connection: duckdb.DuckDBPyConnection, table: config.SourceTable) -> list[Column]:
    rows = connection.execute(
        "select column_name, data_type, is_nullable = 'YES' from information_schema.columns "
        "where table_catalog = ? and table_schema = ? and table_name = ? order by ordinal_position",
        [table.catalog, table.schema, table.table],
    ).fetchall()
    if not rows:
        raise SystemExit(f"error: the embedded warehouse has no table {table.qualified} ({table.name}): "
                         "run `pulse seed` first, or set PULSE_ANALYTICS_WAREHOUSE_DIR to the folder holding it.")
    return [Column(name, trino_type(type_, f"{table.qualified}.{name}"), nullable) for name, type_, nullable in rows]


def create_table_sql(target: str, columns: Sequence[Column]) -> str:
    definitions = ",\n    ".join(
        f"{quote(column.trino_name)} {column.trino_type}{'' if column.nullable else ' NOT NULL'}" for column in columns
    )
    return f"CREATE TABLE {target} (\n    {definitions}\n)"


def insert_statements(target: str, columns: Sequence[Column], rows: Iterator[tuple],
                      limit: int = STATEMENT_CHARS) -> Iterator[tuple[str, int]]:
    """INSERT ... VALUES statements holding every row once, each under `limit` characters: (statement, row count)."""
    head = f"INSERT INTO {target} ({', '.join(quote(column.trino_name) for column in columns)}) VALUES\n"
    batch: list[str] = []
    size = len(head)
    for row in rows:
        values = "(" + ", ".join(literal(value, column.trino_type)
                                 for value, column in zip(row, columns, strict=True)) + ")"
        if batch and size + len(values) + 2 > limit:
            yield head + ",\n".join(batch), len(batch)
            batch, size = [], len(head)
        batch.append(values)
        size += len(values) + 2
    if batch:
        yield head + ",\n".join(batch), len(batch)


def duckdb_rows(connection: duckdb.DuckDBPyConnection, table: config.SourceTable,
                columns: Sequence[Column]) -> Iterator[tuple]:
    selected = ", ".join('"' + column.name.replace('"', '""') + '"' for column in columns)
    cursor = connection.execute(f"select {selected} from {warehouse.quoted(table)}")
    while chunk := cursor.fetchmany(FETCH_ROWS):
        yield from chunk


def open_sources() -> duckdb.DuckDBPyConnection:
    """The embedded warehouse's source catalogs, attached read-only."""
    warehouse.require_warehouse()
    connection = duckdb.connect()
    for statement in warehouse.attach_statements():
        connection.execute(statement)
    return connection


@dataclass
class Loader:
    """Loads source tables through one Trino cursor, reading from one DuckDB connection."""

    sources: duckdb.DuckDBPyConnection
    cursor: Any
    replace: bool

    def trino(self, sql: str) -> list[tuple]:
        return trino_connection.run(self.cursor, sql)

    def row_count(self, target: str) -> int:
        return self.trino(f"SELECT count(*) FROM {target}")[0][0]

    def exists(self, table: config.SourceTable, name: str) -> bool:
        found = self.trino(f"SELECT count(*) FROM {quote(table.catalog)}.information_schema.tables "
                           f"WHERE table_schema = {literal(table.schema, 'varchar')} "
                           f"AND table_name = {literal(name, 'varchar')}")  # fmt: skip
        return found[0][0] > 0

    def plan(self, table: config.SourceTable) -> tuple[list[Column], int, bool]:
        """Columns and rows to load, and whether the table must be (re)written."""
        columns = source_columns(self.sources, table)
        rows = self.sources.execute(f"select count(*) from {warehouse.quoted(table)}").fetchone()[0]
        if self.replace or not self.exists(table, table.table):
            return columns, rows, True
        present = self.row_count(quote(table.catalog, table.schema, table.table))
        if present == rows:
            print(f"{table.qualified}: already holds {rows:,} rows, as many as the warehouse: kept "
                  "(--replace reloads it)")  # fmt: skip
            return columns, rows, False
        raise SystemExit(f"error: Trino table {table.qualified} already holds {present:,} rows; the embedded "
                         f"warehouse has {rows:,}. Pass --replace to overwrite it, or point "
                         f"PULSE_ANALYTICS_{table.name.upper()}_TABLE (or the catalog/schema) elsewhere.")

    def load(self, table: config.SourceTable, columns: list[Column], rows: int, progress: Progress) -> None:
        staging = quote(table.catalog, table.schema, table.table + STAGING_SUFFIX)
        self.trino(f"DROP TABLE IF EXISTS {staging}")
        self.trino(create_table_sql(staging, columns))
        loaded = 0
        try:
            for statement, count in insert_statements(staging, columns, duckdb_rows(self.sources, table, columns)):
                self.trino(statement)
                loaded += count
                progress.advance(f"{table.qualified}: {loaded:,}/{rows:,} rows", count)
            landed = self.row_count(staging)
            if landed != rows:
                raise SystemExit(f"error: Trino holds {landed:,} rows of {rows:,} sent for {table.qualified}; "
                                 "the table was left unchanged. Run `pulse load-trino` again.")
        except BaseException:
            with contextlib.suppress(Exception, SystemExit):  # the first error is the one to report
                self.trino(f"DROP TABLE IF EXISTS {staging}")
            raise
        self.swap_in(table, staging)

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
                with contextlib.suppress(Exception, SystemExit):
                    self.trino(f"ALTER TABLE {retired} RENAME TO {target}")
            raise
        if replacing:
            self.trino(f"DROP TABLE {retired}")


def load_all(replace: bool = False) -> int:
    """Load every source table into Trino; returns the number of rows written."""
    trino_connection.check_settings()
    tables = config.source_tables()
    sources = open_sources()
    connection = trino_connection.connect()
    try:
        loader = Loader(sources, connection.cursor(), replace)
        step(f"Loading {len(tables)} tables into Trino at {trino_connection.address()} "
             f"as {config.get('TRINO_USER')}")  # fmt: skip
        for catalog, schema in dict.fromkeys((table.catalog, table.schema) for table in tables):
            loader.trino(f"CREATE SCHEMA IF NOT EXISTS {quote(catalog, schema)}")
        plans = [(table, *loader.plan(table)) for table in tables]
        progress = Progress("load-trino", sum(rows for _, _, rows, write in plans if write))
        for table, columns, rows, write in plans:
            if write:
                loader.load(table, columns, rows, progress)
        written = progress.done
    finally:
        connection.close()
        sources.close()
    print(f"load-trino OK: {written:,} rows written, {len(tables)} tables in place")
    return written

