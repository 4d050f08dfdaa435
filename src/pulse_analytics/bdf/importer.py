"""One file, many files, a folder: each file read, checked, repaired, derived and written in turn (the pipeline of
the package docstring), with its report; several files each imported on their own."""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import duckdb

from pulse_analytics import config, warehouse
from pulse_analytics.bdf.checks import check_text
from pulse_analytics.bdf.files import Identity, Options, bdf_files, read_sidecar, resolve_identity
from pulse_analytics.bdf.formats import BDF_PARQUET, format_of, listed
from pulse_analytics.bdf.metadata import metadata_rows, write_metadata
from pulse_analytics.bdf.reading import Columns, check_format, map_columns, read_header, read_text
from pulse_analytics.bdf.report import BdfError, Report
from pulse_analytics.bdf.rows import check_time_span, drop_duplicates, repair_time, stage_numbers, start_time
from pulse_analytics.bdf.staging import staging_connection
from pulse_analytics.bdf.steps import derive_steps, number_cycles
from pulse_analytics.bdf.telemetry import telemetry_sql, write_telemetry
from pulse_analytics.progress import Progress


def stage(
    connection: duckdb.DuckDBPyConnection, path: Path, report: Report, progress: Progress
) -> tuple[Columns, list[str]]:
    """Read, check and repair the file into bdf_rows / bdf_time. Returns the columns and the auxiliary names."""
    check_format(path)
    layout = read_header(connection, path)
    columns = map_columns(path, layout.headers)
    report.rows_read = read_text(connection, path, layout)
    progress.advance(f"read {report.rows_read:,} rows, {len(layout.headers)} columns")
    check_text(connection, path, columns, report)
    auxiliary = stage_numbers(connection, columns)
    progress.advance("checked every value")
    drop_duplicates(connection, report)
    repair_time(connection, path, report)
    progress.advance("repaired duplicates and time")
    return columns, auxiliary


STAGING_TABLES = (
    "bdf_file",
    "bdf_numbers",
    "bdf_repeated",
    "bdf_numbered_copies",
    "bdf_rows",
    "bdf_time",
    "bdf_records",
    "bdf_steps",
    "bdf_step_cycles",
)


def import_any(connection: duckdb.DuckDBPyConnection, path: Path, options: Options) -> Report:
    """A BDF file as it is; a file in a cycler's own format read by its reader and imported as BDF Parquet, its
    report and errors naming the user's file (formats.FORMATS)."""
    from pulse_analytics.bdf import vendor  # the readers load only when such a file is imported

    if not vendor.reads(path):
        return in_rows(path, lambda: import_file(connection, path, options))
    with tempfile.TemporaryDirectory(prefix="pulse-vendor-") as folder, vendor.as_bdf(path, Path(folder)) as converted:
        source = {"file": path.name, **converted.recording.metadata}
        try:
            report = in_rows(converted.path, lambda: import_file(connection, converted.path, options, source))
        except BdfError as error:
            raise BdfError(
                str(error).replace(
                    str(converted.path),
                    f"{path} (as read by {converted.recording.reader}, whose row N is the file's record N)",
                )
            ) from error
    report.path = path
    report.derivations[:0] = [
        f"read: {format_of(path).name} file read by {converted.recording.reader}, columns mapped to BDF (docs/bdf.md)",
        *converted.recording.notes,
    ]
    return report


def in_rows(path: Path, run: Callable[[], Report]) -> Report:
    """A Parquet file has rows, not lines: its report and errors say `row N` where a CSV file's say `line N`."""
    if format_of(path) is not BDF_PARQUET:
        return run()
    try:
        report = run()
    except BdfError as error:
        raise BdfError(LINE.sub("row", str(error))) from error
    report.repairs, report.flags, report.derivations = (
        [LINE.sub("row", line) for line in lines] for lines in (report.repairs, report.flags, report.derivations)
    )
    return report


LINE = re.compile(r"\bline(?= \d)")


def import_file(
    connection: duckdb.DuckDBPyConnection, path: Path, options: Options, source: dict[str, str] | None = None
) -> Report:
    """Import one BDF file: all checks first, then telemetry + statistics (one transaction), then metadata links.
    `source`: what every record's metadata says of the file (default: its name)."""
    try:
        return import_staged(connection, path, options, source or {"file": path.name})
    finally:
        connection.execute("DROP VIEW IF EXISTS bdf_text")
        for table in STAGING_TABLES:
            connection.execute(f"DROP TABLE IF EXISTS {table}")


def import_staged(
    connection: duckdb.DuckDBPyConnection, path: Path, options: Options, origin: dict[str, str]
) -> Report:
    started = time.monotonic()
    sidecar = read_sidecar(path)
    identity = resolve_identity(path, options, sidecar)
    report = Report(path, identity)
    progress = Progress(f"import {path.name}", total=6)
    columns, auxiliary = stage(connection, path, report, progress)
    start = start_time(connection, path, identity, columns, report)
    check_time_span(connection, path, start)
    derive_steps(connection, columns, report)
    number_cycles(connection, columns, report)
    metadata = metadata_rows(connection, identity, sidecar)
    select = telemetry_sql(columns, auxiliary, report)
    report.records, report.steps, report.cycles = connection.execute(
        "SELECT (SELECT count(*) FROM bdf_records), count(*), count(DISTINCT cycle_number) FROM bdf_steps"
    ).fetchone()
    progress.advance("derived steps, cycles and timestamps")
    source = json.dumps({"source": "bdf", **origin, **(sidecar.get("metadata") or {})}, default=str)
    write_telemetry(connection, identity, select, {"start": start, "metadata": source})
    flag_capacity_beyond_nominal(connection, identity, metadata, report)
    progress.advance("wrote telemetry and statistics")
    try:
        with warehouse.transaction(connection):
            write_metadata(connection, identity, metadata)
    except duckdb.Error as error:
        raise BdfError(
            f"{path}: telemetry was imported but the metadata links could not be written ({error}); "
            f"run the same import again to complete it"
        ) from error
    progress.advance("wrote metadata links")
    report.seconds = time.monotonic() - started
    return report


NOMINAL_FACTOR = 5  # a step moving more charge than this many times the cell's nominal capacity is flagged


def flag_capacity_beyond_nominal(
    connection: duckdb.DuckDBPyConnection,
    identity: Identity,
    metadata: dict[str, tuple[str, list[str], list[Any]]],
    report: Report,
) -> None:
    """Flag the steps that charge or discharge more than NOMINAL_FACTOR times the part's nominal capacity (from the
    sidecar's part section, else the part's existing part_metadata row); without a nominal capacity, nothing."""
    nominal = nominal_capacity(connection, identity, metadata)
    if not nominal:
        return
    tables = {table.name: warehouse.quoted(table) for table in config.source_tables()}
    found = connection.execute(
        f"""
        SELECT step_number, "charge_capacity__Ah", "discharge_capacity__Ah",
               (SELECT min(line) FROM bdf_records WHERE bdf_records.step_number = steps.step_number) AS first_line
        FROM {tables["statistics_step"]} AS steps
        WHERE device_id = ? AND test_id = ?
          AND greatest("charge_capacity__Ah", "discharge_capacity__Ah") > ? * ?
        ORDER BY step_number
    """,
        [identity.device_id, identity.test_id, NOMINAL_FACTOR, nominal],
    ).fetchall()
    if not found:
        return
    step, charged, discharged, line = found[0]
    moved = max(charged or 0.0, discharged or 0.0)
    report.flags.append(
        f"capacity-beyond-nominal: {len(found):,} steps move more than {NOMINAL_FACTOR} times the "
        f"part's nominal capacity of {nominal:g} Ah (first: step {step} from line {line}, "
        f"{moved:.4g} Ah, {moved / nominal:.0f} times): imported as written; check column "
        f"'current_ampere' (milliamperes written as amperes?), the capacity counters and the "
        f"part's nominal_capacity__ah"
    )


def nominal_capacity(
    connection: duckdb.DuckDBPyConnection, identity: Identity, metadata: dict[str, tuple[str, list[str], list[Any]]]
) -> float | None:
    if "part_metadata" in metadata:
        _, names, values = metadata["part_metadata"]
        value = dict(zip(names, values, strict=True)).get("nominal_capacity__ah")
        return float(value) if value is not None else None
    if identity.part_id is None:
        return None
    part = warehouse.quoted(next(table for table in config.source_tables() if table.name == "part_metadata"))
    try:
        return connection.execute(
            f"SELECT max(nominal_capacity__ah) FROM {part} WHERE part_id = ?", [identity.part_id]
        ).fetchone()[0]
    except duckdb.BinderException:  # a lab's own part_metadata without the column
        return None


def check_distinct_tests(paths: list[Path], options: Options) -> None:
    """Refuse, before importing anything, files that would overwrite each other (same device and test).

    Files whose identity cannot be resolved (missing file, bad sidecar) are left to fail on their own.
    """
    seen: dict[tuple[str, str], Path] = {}
    for path in paths:
        try:
            identity = resolve_identity(path, options, read_sidecar(path))
        except BdfError:
            continue
        key = (identity.device_id, identity.test_id)
        if key in seen:
            raise BdfError(
                f"{seen[key]} and {path} would both be test {key[1]} on device {key[0]}; give each file "
                f"its own test id (one file per --test-id, or a test_id in each sidecar)"
            )
        seen[key] = path


def import_files(
    paths: Iterable[Path], options: Options = Options(), warehouse_dir: Path | None = None
) -> tuple[list[Report], list[str]]:
    """Import each file on its own: a file that fails leaves the catalog as it was and the others still import.

    Prints each file's report (stdout) or error (stderr). Returns the reports and the error messages.
    """
    paths = list(paths)
    check_distinct_tests(paths, options)
    reports, errors = [], []
    with staging_connection(warehouse_dir) as connection:
        for path in paths:
            try:
                if not path.is_file():
                    raise BdfError(f"{path}: no such file")
                report = import_any(connection, path, options)
            except (BdfError, duckdb.Error) as error:
                message = str(error) if isinstance(error, BdfError) else f"{path}: {error}"
                errors.append(message)
                print(f"error: {message}", file=sys.stderr, flush=True)
                continue
            reports.append(report)
            print(report.summary(), flush=True)
    return reports, errors


def import_folder(folder: Path, warehouse_dir: Path | None = None) -> tuple[list[Report], list[str]]:
    """Import every file of a folder pulse reads (the demo's PULSE_ANALYTICS_BDF_DIR), each with its sidecar."""
    if not folder.is_dir():
        raise BdfError(f"{folder} is not a folder (PULSE_ANALYTICS_BDF_DIR); point it at the folder of BDF files")
    files = bdf_files(folder)
    if not files:
        print(f"no files pulse imports in {folder} ({listed()}): nothing to import")
        return [], []
    return import_files(files, Options(), warehouse_dir)
