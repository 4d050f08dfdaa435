"""`pulse import FILE... --target trino`: the imported tests added to Trino's telemetry and metadata tables, the rest
of each table left as it is (no reload).

The files are imported as always (every rule of docs/bdf.md), into a scratch DuckDB warehouse of their own; its rows
then go to Trino as Parquet files (trino_files.py) and are compared there, unit by unit, with what the tables hold: a
test (device_id, test_id) in the telemetry tables and the links, a device, recipe or part in the metadata tables.
  - a unit the table does not hold is appended (INSERT ... SELECT, one commit per table);
  - a unit it holds with the same rows is left alone (`compared`: the time of writing aside, and the statistics'
    sums, which follow the telemetry rows): importing the same file again changes nothing;
  - a unit it holds with other rows is refused, naming it: nothing is written.
Every table is checked before any is written; if a write fails, the units appended to the tables before it are
deleted again, so a failed import leaves the catalogs as they were.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from pulse_analytics import config, trino_connection, warehouse
from pulse_analytics.errors import PulseError
from pulse_analytics.progress import step
from pulse_analytics.trino_connection import quote
from pulse_analytics.trino_files import Column, FilesTable, say
from pulse_analytics.trino_load import open_sources, select_sql, source_columns

APPEND_SUFFIX = "__pulse_append"  # the imported rows of a table as files, in the telemetry catalog
TEST = ("device_id", "test_id")
WRITTEN = "update_ts"  # when a row was written: two imports of the same file differ there
DERIVED = ("statistics_step", "statistics_cycle")


def unit_of(table: config.SourceTable) -> tuple[str, ...]:
    """What an import adds to a table as a whole: a test, or one device, recipe or part."""
    return TEST if set(TEST) <= set(table.key) else table.key


@dataclass
class Append:
    """One table: the imported rows staged as files in Trino, and which of their units go in."""

    table: config.SourceTable
    columns: list[Column]
    files: FilesTable
    units: dict[tuple[str, ...], tuple[int, Any]]  # unit -> (rows, checksum) of the imported rows
    target_types: dict[str, str]  # the Trino table's column types, which the appended values are cast to
    new: list[tuple[str, ...]] = field(default_factory=list)
    kept: list[tuple[str, ...]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(self.units[unit][0] for unit in self.new)


def compared(table: config.SourceTable, columns: Sequence[Column]) -> list[Column]:
    """The columns whose values make a unit's content: update_ts (the time a row was written) aside; of the
    statistics, only what is counted or named (their doubles are sums of the telemetry rows, which DuckDB adds in an
    order that changes from run to run; the telemetry rows themselves are compared exactly)."""
    kept = [column for column in columns if column.trino_name != WRITTEN]
    if table.name in DERIVED:
        kept = [column for column in kept if column.trino_type not in ("double", "real")]
    return kept


def unit_sql(target: str, unit: Sequence[str], columns: Sequence[Column], keys: Sequence[tuple[str, ...]]) -> str:
    """Per unit of `keys` held by `target`: the unit (as text), its row count and the checksum of its rows (each
    column cast to the imported rows' type)."""
    unit_text = [f"CAST({quote(name)} AS varchar)" for name in unit]
    values = ", ".join(f"CAST({quote(column.trino_name)} AS {column.trino_type})" for column in columns)
    wanted = ", ".join("(" + ", ".join(literal(part) for part in key) + ")" for key in keys)
    return (
        f"SELECT {', '.join(unit_text)}, count(*), checksum(row({values})) FROM {target} "
        f"WHERE ({', '.join(unit_text)}) IN ({wanted}) GROUP BY {', '.join(str(i + 1) for i in range(len(unit)))}"
    )


def literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def describe(table: config.SourceTable, unit: tuple[str, ...]) -> str:
    names = unit_of(table)
    if names == TEST:
        return f"test {unit[1]} of device {unit[0]}"
    return f"{names[0]} {unit[0]}"


@dataclass
class Appender:
    sources: duckdb.DuckDBPyConnection
    cursor: Any

    def trino(self, sql: str) -> list[tuple]:
        return trino_connection.run(self.cursor, sql)

    def stage(self, table: config.SourceTable) -> Append | None:
        """The table's imported rows as files in Trino, sorted into new, kept and refused units; None when the import
        wrote nothing into this table."""
        columns = source_columns(self.sources, table)
        rows = self.sources.execute(f"select count(*) from {warehouse.quoted(table)}").fetchone()[0]
        if rows == 0:
            return None
        target_types = self.target_types(table, columns)
        telemetry = next(source for source in config.source_tables() if source.name == "telemetry")
        files = FilesTable(
            self.cursor, quote(telemetry.catalog, telemetry.schema, table.table + APPEND_SUFFIX), columns
        )
        shared = [column for column in columns if column.trino_name in target_types]
        try:
            files.create()
            files.fill(self.sources, select_sql(table, columns), rows, f"{table.qualified} (imported)")
            found = self.trino(unit_sql(files.target, unit_of(table), compared(table, shared), self.keys(table)))
            units = {tuple(row[:-2]): (row[-2], row[-1]) for row in found}
            append = Append(table, shared, files, units, target_types)
            self.sort(append)
        except BaseException:
            files.drop()
            raise
        return append

    def target_types(self, table: config.SourceTable, columns: Sequence[Column]) -> dict[str, str]:
        """The Trino table's column types; an imported column it lacks may only hold nulls (it is left out)."""
        found = dict(
            self.trino(
                f"SELECT column_name, data_type FROM {quote(table.catalog)}.information_schema.columns "
                f"WHERE table_schema = {literal(table.schema)} AND table_name = {literal(table.table)}"
            )
        )
        if not found:
            raise PulseError(
                f"Trino has no table {table.qualified} ({table.name}) to add the imported tests to: load the lab's "
                "tables first (`pulse load-trino`), or point PULSE_ANALYTICS_TRINO_* / the catalog and schema "
                "variables at the Trino that has them."
            )
        for column in columns:
            if column.trino_name in found:
                continue
            values = self.sources.execute(f'SELECT count("{column.name}") FROM {warehouse.quoted(table)}').fetchone()[0]
            if values:
                raise PulseError(
                    f"Trino table {table.qualified} has no column {column.trino_name}, and the import gives "
                    f"{values:,} row(s) a value there: add the column to the table, or leave the value out of the "
                    "sidecar."
                )
        return found

    def keys(self, table: config.SourceTable) -> list[tuple[str, ...]]:
        unit = ", ".join(f'CAST("{name}" AS VARCHAR)' for name in unit_of(table))
        found = self.sources.execute(f"SELECT DISTINCT {unit} FROM {warehouse.quoted(table)}").fetchall()
        return [tuple(row) for row in found]

    def sort(self, append: Append) -> None:
        table = append.table
        target = quote(table.catalog, table.schema, table.table)
        present = {
            tuple(row[:-2]): (row[-2], row[-1])
            for row in self.trino(unit_sql(target, unit_of(table), compared(table, append.columns), list(append.units)))
        }
        for unit, (rows, checksum) in sorted(append.units.items()):
            if unit not in present:
                append.new.append(unit)
            elif present[unit] == (rows, checksum):
                append.kept.append(unit)
            else:
                append.refused.append(
                    f"{table.qualified} holds {describe(table, unit)} with other content ({present[unit][0]:,} rows "
                    f"there, {rows:,} imported)"
                )

    def write(self, append: Append) -> None:
        """Append the new units' rows in one commit."""
        table = append.table
        target = quote(table.catalog, table.schema, table.table)
        names = ", ".join(quote(column.trino_name) for column in append.columns)
        values = ", ".join(
            f"CAST({quote(column.trino_name)} AS {append.target_types[column.trino_name]})" for column in append.columns
        )
        unit = ", ".join(f"CAST({quote(name)} AS varchar)" for name in unit_of(table))
        wanted = ", ".join("(" + ", ".join(literal(part) for part in key) + ")" for key in append.new)
        started = time.monotonic()
        self.trino(
            f"INSERT INTO {target} ({names}) SELECT {values} FROM {append.files.target} WHERE ({unit}) IN ({wanted})"
        )
        say(f"{table.qualified}: {append.rows:,} rows appended in {time.monotonic() - started:.1f} s")

    def undo(self, append: Append) -> str:
        """Delete the units `write` appended (they were not there before); what went wrong, if anything."""
        table = append.table
        unit = ", ".join(f"CAST({quote(name)} AS varchar)" for name in unit_of(table))
        wanted = ", ".join("(" + ", ".join(literal(part) for part in key) + ")" for key in append.new)
        try:
            self.trino(f"DELETE FROM {quote(table.catalog, table.schema, table.table)} WHERE ({unit}) IN ({wanted})")
        except PulseError as error:
            return f"{table.qualified}: delete the rows WHERE ({unit}) IN ({wanted}) by hand ({error})"
        say(f"{table.qualified}: the {append.rows:,} rows appended were removed again")
        return ""


def append_warehouse(warehouse_dir: Path) -> int:
    """Append the tests of the scratch warehouse in `warehouse_dir` to Trino's tables; returns the rows written."""
    trino_connection.check_settings()
    tables = config.source_tables()
    sources = open_sources(warehouse_dir)
    connection = trino_connection.connect()
    appender = Appender(sources, connection.cursor())
    appends: list[Append] = []
    written: list[Append] = []
    try:
        step(f"Adding the imported tests to Trino at {trino_connection.address()} as {config.get('TRINO_USER')}")
        for table in tables:
            if (append := appender.stage(table)) is not None:
                appends.append(append)
        refusals = [refusal for append in appends for refusal in append.refused]
        if refusals:
            raise PulseError(
                "nothing was added to Trino: "
                + "; ".join(refusals)
                + ". Give the file another test id (--test-id), or remove the test from Trino first."
            )
        for append in appends:
            if append.kept:
                units = ", ".join(describe(append.table, unit) for unit in append.kept)
                print(f"{append.table.qualified}: already holds {units} with the same content: kept")
        try:
            for append in appends:
                if append.new:
                    appender.write(append)
                    written.append(append)
        except BaseException as failure:
            undone = [problem for append in reversed(written) if (problem := appender.undo(append))]
            if undone:
                raise PulseError(
                    f"{failure}\nThe rows appended before the failure could not all be removed again: "
                    + "; ".join(undone)
                ) from failure
            raise
    finally:
        for append in appends:
            append.files.drop()
        connection.close()
        sources.close()
    rows = sum(append.rows for append in written)
    print(f"import OK: {rows:,} rows added to Trino's tables (the views show them now)")
    return rows
