"""Tables handed to Trino as Parquet files: DuckDB writes the rows straight into the folder of an Iceberg table of the
telemetry catalog, and Iceberg's add_files procedure makes them the table's data files in one commit (nothing is
copied; Trino reads the files as they are). `pulse load-trino` and `pulse import --target trino` both move rows so.

Where the files go is the table's own location in the catalog's storage, as Trino names it: `local:///...` in the
native stack (the Iceberg catalogs' `local.location` folder, on this machine: PULSE_ANALYTICS_TRINO_LOCAL_ROOT, which
`pulse trino start` prints) or `s3://bucket/...` in compose and a lab's object store (uploaded with the
PULSE_ANALYTICS_S3_* settings). A table dropped in Trino takes its folder, files included, with it.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from pulse_analytics import config, trino_connection
from pulse_analytics.errors import PulseError
from pulse_analytics.trino_connection import quote

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
FILES_FOLDER = "data/pulse-files"  # inside the table's location, beside the files Trino itself writes in data/
PROGRESS_EVERY_S = 2.0


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


def split_map_type(type_: str) -> tuple[str, str]:
    """Key and value types of `map(k, v)` (Trino) or `MAP(K, V)` (DuckDB), nested types kept whole."""
    inner = type_[len("map(") : -1]
    depth = 0
    for index, char in enumerate(inner):
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            return inner[:index].strip(), inner[index + 1 :].strip()
    raise ValueError(f"not a map type: {type_}")


def columns_of(connection: duckdb.DuckDBPyConnection, relation: str, where: str) -> list[Column]:
    """The columns of a DuckDB relation (`select * from relation`), with their Trino types."""
    described = connection.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    return [Column(name, trino_type(type_, f"{where}.{name}"), null == "YES") for name, type_, null, *_ in described]


def create_table_sql(target: str, columns: Sequence[Column], properties: str = "") -> str:
    definitions = ",\n    ".join(
        f"{quote(column.trino_name)} {column.trino_type}{'' if column.nullable else ' NOT NULL'}" for column in columns
    )
    return f"CREATE TABLE {target} (\n    {definitions}\n){properties}"


def fingerprint_sql(target: str, columns: Sequence[Column], per_column: bool = False) -> str:
    """One row: the row count and an order-free checksum of the rows (Trino's checksum of each row, every column cast
    to the warehouse's type, so that a catalog that widened a type, PostgreSQL's smallint for a tinyint, compares
    equal); then, with per_column, one checksum per column."""
    values = [f"CAST({quote(column.trino_name)} AS {column.trino_type})" for column in columns]
    selected = ["count(*)", f"checksum(row({', '.join(values)}))"]
    if per_column:
        selected += [f"checksum({value})" for value in values]
    return f"SELECT {', '.join(selected)} FROM {target}"


@dataclass(frozen=True)
class Fingerprint:
    rows: int
    rows_checksum: bytes | None
    column_checksums: tuple[bytes | None, ...] = ()

    @classmethod
    def of(cls, row: tuple) -> Fingerprint:
        return cls(row[0], row[1], tuple(row[2:]))


def differing_columns(columns: Sequence[Column], ours: Fingerprint, theirs: Fingerprint) -> list[str]:
    return [
        column.trino_name
        for column, left, right in zip(columns, ours.column_checksums, theirs.column_checksums, strict=True)
        if left != right
    ]


# --- Where a table's files go -------------------------------------------------------------------------------------


def local_root() -> Path:
    value = config.get("TRINO_LOCAL_ROOT")
    if not value:
        raise PulseError(
            "Trino keeps this catalog's files on its own machine (a local:// location), and "
            "PULSE_ANALYTICS_TRINO_LOCAL_ROOT does not say where that folder is here. Set it to the folder of the "
            "catalog's local.location (`pulse trino start` prints it for the native stack), or run this command "
            "where that folder is."
        )
    return Path(value)


def s3_filesystem() -> Any:
    from pyarrow import fs

    missing = [name for name in ("S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY") if not config.get(name)]
    if missing:
        raise PulseError(
            "Trino keeps this catalog's files in object storage (an s3:// location): set "
            + ", ".join(config.PREFIX + name for name in missing)
            + " to the store's endpoint and keys (the ones the catalog uses; compose: S3_* in .env)."
        )
    endpoint = config.get("S3_ENDPOINT")
    scheme, _, host = endpoint.rpartition("://")
    return fs.S3FileSystem(
        access_key=config.get("S3_ACCESS_KEY"),
        secret_key=config.get("S3_SECRET_KEY"),
        region=config.get("S3_REGION"),
        endpoint_override=host,
        scheme=scheme or "https",
        force_virtual_addressing=False,
    )


def write_parquet(connection: duckdb.DuckDBPyConnection, select_sql: str, rows: int, location: str, what: str) -> None:
    """Write the rows of `select_sql` as Parquet files into `location`/FILES_FOLDER (a Trino location), showing
    rows and rows/s every few seconds."""
    if location.startswith("local:///"):
        folder = local_root() / location.removeprefix("local:///") / FILES_FOLDER
        copy_with_progress(connection, select_sql, folder, rows, what)
    elif location.startswith("s3://"):
        with tempfile.TemporaryDirectory(prefix="pulse-files-") as scratch:
            copy_with_progress(connection, select_sql, Path(scratch) / "files", rows, what)
            upload(Path(scratch) / "files", f"{location.removeprefix('s3://').rstrip('/')}/{FILES_FOLDER}")
    else:
        raise PulseError(
            f"Trino keeps {what} at {location}, a kind of storage load-trino cannot write (it writes local:// and "
            "s3:// locations): load into a catalog on local or S3-compatible storage."
        )


def copy_with_progress(
    connection: duckdb.DuckDBPyConnection, select_sql: str, folder: Path, rows: int, what: str
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with reporting_progress(connection, rows, what, started):
        connection.execute(
            f"COPY ({select_sql}) TO '{folder}' (FORMAT parquet, COMPRESSION zstd, FILE_SIZE_BYTES '256MB', "
            "FILENAME_PATTERN 'part-{uuid}', OVERWRITE_OR_IGNORE true)"
        )
    elapsed = max(time.monotonic() - started, 1e-3)
    say(f"{what}: {rows:,} rows written as Parquet in {elapsed:.1f} s ({rows / elapsed:,.0f} rows/s)")


@contextlib.contextmanager
def reporting_progress(connection: duckdb.DuckDBPyConnection, rows: int, what: str, started: float) -> Iterator[None]:
    """While DuckDB writes, every PROGRESS_EVERY_S: rows done (from DuckDB's own progress) and rows/s."""
    done = threading.Event()

    def report() -> None:
        while not done.wait(PROGRESS_EVERY_S):
            percent = connection.query_progress()
            if percent > 0:
                written = int(rows * min(percent, 100) / 100)
                rate = written / max(time.monotonic() - started, 1e-3)
                say(f"{what}: {written:,}/{rows:,} rows ({percent:.0f} %, {rate:,.0f} rows/s)")

    connection.execute("SET enable_progress_bar = true; SET enable_progress_bar_print = false")
    reporter = threading.Thread(target=report, daemon=True)
    reporter.start()
    try:
        yield
    finally:
        done.set()
        reporter.join()


def upload(folder: Path, destination: str) -> None:
    from pyarrow import fs

    fs.copy_files(str(folder), destination, destination_filesystem=s3_filesystem())


def say(message: str) -> None:
    print(f"[load-trino] {message}", file=sys.stderr, flush=True)


# --- Iceberg tables made of files ---------------------------------------------------------------------------------


@dataclass
class FilesTable:
    """An Iceberg table of the telemetry catalog whose data files load-trino wrote: created empty, then filled with
    `fill` in one commit."""

    cursor: Any
    target: str  # quoted catalog.schema.table
    columns: Sequence[Column]

    def trino(self, sql: str) -> list[tuple]:
        return trino_connection.run(self.cursor, sql)

    def create(self) -> None:
        self.trino(f"DROP TABLE IF EXISTS {self.target}")
        self.trino(create_table_sql(self.target, self.columns, " WITH (format = 'PARQUET')"))

    def location(self) -> str:
        created = self.trino(f"SHOW CREATE TABLE {self.target}")[0][0]
        for line in created.splitlines():
            line = line.strip()
            if line.startswith("location = '"):
                return line.removeprefix("location = '").rstrip(",").rstrip("'")
        raise PulseError(f"Trino did not say where {self.target} keeps its files (SHOW CREATE TABLE has no location).")

    def fill(self, connection: duckdb.DuckDBPyConnection, select_sql: str, rows: int, what: str) -> None:
        """Write the rows as Parquet into the table's folder and add them to the table; the table then holds
        exactly `rows` rows, or this fails (and the caller drops the table)."""
        location = self.location()
        write_parquet(connection, select_sql, rows, location, what)
        started = time.monotonic()
        try:
            self.trino(
                f"ALTER TABLE {self.target} EXECUTE add_files(location => '{location}/{FILES_FOLDER}', "
                "format => 'PARQUET')"
            )
        except PulseError as refusal:
            if "add_files procedure is disabled" in str(refusal) or "Procedure not registered" in str(refusal):
                raise PulseError(
                    f"{refusal}. load-trino hands Trino Parquet files with the Iceberg add_files procedure: the "
                    "catalog needs iceberg.add-files-procedure.enabled=true (trino_catalogs/catalog/"
                    "telemetry.properties has it)."
                ) from refusal
            raise
        landed = self.trino(f"SELECT count(*) FROM {self.target}")[0][0]
        if landed != rows:
            raise PulseError(
                f"Trino holds {landed:,} rows of the {rows:,} written for {what}; nothing was replaced. "
                "Run the command again."
            )
        say(f"{what}: the files handed to Trino (add_files) in {time.monotonic() - started:.1f} s")

    def drop(self) -> None:
        with contextlib.suppress(Exception):  # a first error is the one to report
            self.trino(f"DROP TABLE IF EXISTS {self.target}")
