"""`pulse load-trino`: copy the source tables of the embedded warehouse into the telemetry and metadata catalogs of a
Trino (the compose stack's demo data, or a first load of a lab's own data), as files (trino_files.py).

Each table arrives whole or not at all. DuckDB writes its rows as Parquet into a new Iceberg table of the telemetry
catalog, whose row count Trino must then report; a telemetry table is that table (it takes the table's name: nothing
is copied), a metadata table (PostgreSQL) is filled from it by Trino with INSERT ... SELECT into a staging table that
takes the name once its count is right. The table it replaces is dropped only once the new one stands in.

**Running it again.** A table that already exists in Trino is compared by content, not by count, with the files just
written, both by Trino with the same SQL: the row count and an order-free checksum of the rows (trino_files.
fingerprint_sql). Same columns and same fingerprint: the table is kept as it is (nothing written). Anything else is
refused, naming the table and what differs (columns, row counts, or which columns' values), unless --replace is given;
--replace reloads every table. Every table is checked before any is written: a refusal writes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from pulse_analytics import config, trino_connection, warehouse
from pulse_analytics.errors import PulseError
from pulse_analytics.progress import step
from pulse_analytics.trino_connection import quote
from pulse_analytics.trino_files import (
    INTEGER_TYPES,
    Column,
    FilesTable,
    Fingerprint,
    columns_of,
    create_table_sql,
    differing_columns,
    fingerprint_sql,
    say,
)

STAGING_SUFFIX = "__pulse_load"
FILES_SUFFIX = "__pulse_files"  # a metadata table's rows as files, in the telemetry catalog, before they go in
RETIRED_SUFFIX = "__pulse_old"


def source_columns(connection: duckdb.DuckDBPyConnection, table: config.SourceTable) -> list[Column]:
    exists = connection.execute(
        "select count(*) from information_schema.tables where table_catalog = ? and table_schema = ? "
        "and table_name = ?",
        [table.catalog, table.schema, table.table],
    ).fetchone()[0]
    if not exists:
        raise PulseError(
            f"the embedded warehouse has no table {table.qualified} ({table.name}): "
            "run `pulse seed` first, or set PULSE_ANALYTICS_WAREHOUSE_DIR to the folder holding it."
        )
    return columns_of(connection, warehouse.quoted(table), table.qualified)


def select_sql(table: config.SourceTable, columns: Sequence[Column]) -> str:
    """DuckDB: the table's rows, each column under its lower-case name (as Trino stores it)."""
    selected = ", ".join(
        '"' + column.name.replace('"', '""') + '" AS "' + column.trino_name + '"' for column in columns
    )
    return f"SELECT {selected} FROM {warehouse.quoted(table)}"


def open_sources(warehouse_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """The embedded warehouse's source catalogs (or those in `warehouse_dir`), attached read-only."""
    warehouse.require_warehouse(warehouse_dir)
    connection = duckdb.connect()
    for statement in warehouse.attach_statements(warehouse_dir):
        connection.execute(statement)
    return connection


def type_family(type_: str) -> str:
    """Types that hold the same values: Iceberg widens tinyint and smallint to integer, PostgreSQL tinyint to
    smallint; the fingerprint casts every column to the warehouse's type."""
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
    """One source table: its rows staged as files in Trino, and whether they replace (or become) the table."""

    table: config.SourceTable
    columns: list[Column]
    rows: int
    files: FilesTable
    write: bool = True
    note: str = ""
    refusal: str = ""


@dataclass
class Loader:
    """Loads the source tables through one Trino cursor, reading from one DuckDB connection."""

    sources: duckdb.DuckDBPyConnection
    cursor: Any
    replace: bool

    def trino(self, sql: str) -> list[tuple]:
        return trino_connection.run(self.cursor, sql)

    def exists(self, table: config.SourceTable, name: str) -> bool:
        found = self.trino(
            f"SELECT count(*) FROM {quote(table.catalog)}.information_schema.tables "
            f"WHERE table_schema = '{table.schema}' AND table_name = '{name}'"
        )
        return found[0][0] > 0

    def trino_columns(self, table: config.SourceTable) -> dict[str, str]:
        rows = self.trino(
            f"SELECT column_name, data_type FROM {quote(table.catalog)}.information_schema.columns "
            f"WHERE table_schema = '{table.schema}' AND table_name = '{table.table}' ORDER BY ordinal_position"
        )
        return dict(rows)

    def fingerprint(self, target: str, columns: Sequence[Column], per_column: bool = False) -> Fingerprint:
        return Fingerprint.of(self.trino(fingerprint_sql(target, columns, per_column))[0])

    def files_name(self, table: config.SourceTable) -> str:
        """Where a table's files become an Iceberg table: beside a telemetry table (that table, once renamed), in
        the telemetry catalog for a metadata table (whose catalog may keep no files)."""
        telemetry = next(source for source in config.source_tables() if source.name == "telemetry")
        if (table.catalog, table.schema) == (telemetry.catalog, telemetry.schema):
            return quote(table.catalog, table.schema, table.table + STAGING_SUFFIX)
        return quote(telemetry.catalog, telemetry.schema, table.table + FILES_SUFFIX)

    def stage(self, table: config.SourceTable) -> Plan:
        """Write the table's rows as files into Trino, then decide: write it (new, or --replace), keep it (same
        content as the files), or refuse (other content)."""
        columns = source_columns(self.sources, table)
        rows = self.sources.execute(f"select count(*) from {warehouse.quoted(table)}").fetchone()[0]
        plan = Plan(table, columns, rows, FilesTable(self.cursor, self.files_name(table), columns))
        try:
            plan.files.create()
            plan.files.fill(self.sources, select_sql(table, columns), rows, table.qualified)
        except BaseException:
            plan.files.drop()
            raise
        if self.replace or not self.exists(table, table.table):
            return plan
        target = quote(table.catalog, table.schema, table.table)
        differences = column_differences(columns, self.trino_columns(table))
        if not differences:
            present, wanted = self.fingerprint(target, columns), self.fingerprint(plan.files.target, columns)
            if present == wanted:
                plan.write = False
                plan.note = (
                    f"{table.qualified}: already holds the warehouse's {rows:,} rows, same content (fingerprint): "
                    "kept (--replace reloads it)"
                )
                return plan
            differences = [self.content_differences(target, plan, present, wanted)]
        plan.refusal = (
            f"Trino table {table.qualified} differs from the embedded warehouse's: {'; '.join(differences)}. "
            f"Pass --replace to overwrite it, or point PULSE_ANALYTICS_{table.name.upper()}_TABLE (or the "
            "catalog/schema) elsewhere."
        )
        return plan

    def content_differences(self, target: str, plan: Plan, present: Fingerprint, wanted: Fingerprint) -> str:
        """How a Trino table's content differs from the warehouse's (same columns, other fingerprints)."""
        if present.rows != wanted.rows:
            return f"it holds {present.rows:,} rows, the warehouse {wanted.rows:,}"
        theirs = self.fingerprint(target, plan.columns, per_column=True)
        ours = self.fingerprint(plan.files.target, plan.columns, per_column=True)
        changed = differing_columns(plan.columns, ours, theirs)
        if changed:
            return f"same {wanted.rows:,} rows, but other values in column(s) {', '.join(changed)}"
        return f"same {wanted.rows:,} rows and the same values per column, but combined into other rows"

    def write(self, plan: Plan) -> None:
        """The staged rows take the table's name: the files table itself (a telemetry table), or a staging table of
        the table's catalog filled from it (a metadata table)."""
        table = plan.table
        staging = quote(table.catalog, table.schema, table.table + STAGING_SUFFIX)
        if plan.files.target != staging:
            started = time.monotonic()
            self.trino(f"DROP TABLE IF EXISTS {staging}")
            self.create(table, staging, plan.columns)
            names = ", ".join(quote(column.trino_name) for column in plan.columns)
            try:
                self.trino(f"INSERT INTO {staging} ({names}) SELECT {names} FROM {plan.files.target}")
                landed = self.trino(f"SELECT count(*) FROM {staging}")[0][0]
                if landed != plan.rows:
                    raise PulseError(
                        f"Trino holds {landed:,} rows of the {plan.rows:,} sent for {table.qualified}; the table was "
                        "left unchanged. Run `pulse load-trino` again."
                    )
            except BaseException:
                self.trino(f"DROP TABLE IF EXISTS {staging}")
                raise
            say(f"{table.qualified}: {plan.rows:,} rows copied in by Trino in {time.monotonic() - started:.1f} s")
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
    loader = Loader(sources, connection.cursor(), replace)
    plans: list[Plan] = []
    started = time.monotonic()
    try:
        step(f"Loading {len(tables)} tables into Trino at {trino_connection.address()} as {config.get('TRINO_USER')}")
        for catalog, schema in dict.fromkeys((table.catalog, table.schema) for table in tables):
            loader.trino(f"CREATE SCHEMA IF NOT EXISTS {quote(catalog, schema)}")
        for table in tables:
            plans.append(loader.stage(table))
        for plan in plans:
            if plan.note:
                print(plan.note)
        refusals = [plan.refusal for plan in plans if plan.refusal]
        if refusals:
            raise PulseError("\nerror: ".join(refusals))  # one line per table, each printed as an error
        written = 0
        for plan in plans:
            if plan.write:
                loader.write(plan)
                written += plan.rows
    finally:
        for plan in plans:
            plan.files.drop()  # after a rename, the name is free: nothing of the loaded table is dropped
        connection.close()
        sources.close()
    elapsed = time.monotonic() - started
    print(
        f"load-trino OK: {written:,} rows written, {len(tables)} tables in place ({elapsed:.1f} s, "
        f"{written / max(elapsed, 1e-3):,.0f} rows/s)"
    )
    return written
