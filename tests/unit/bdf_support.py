"""Helpers for the BDF importer tests: write small hand-made BDF files, import them into a temporary warehouse and
read back what was written (real DuckDB files, no mocks)."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent
from typing import Any

import duckdb

from pulse_analytics import bdf

DEFAULT_NAME = "LAB__cell-A1__2025-01-15__cc__Maccor.bdf.csv"  # the BDF naming pattern: provider, cell, date, ...


def write_bdf(folder: Path, text: str, name: str = DEFAULT_NAME) -> Path:
    """A BDF file from an indented multi-line string (leading and trailing blank lines removed)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(dedent(text).strip() + "\n")
    return path


def table(header: str, *records: tuple) -> str:
    """BDF text from a header line and rows of values (None: an empty cell)."""
    return "\n".join([header, *(",".join("" if value is None else str(value) for value in row) for row in records)])


def import_ok(warehouse: Path, path: Path, **options: Any) -> bdf.Report:
    """Import one file; fail the test with the importer's message if it is rejected."""
    reports, errors = bdf.import_files([path], bdf.Options(**options), warehouse)
    assert not errors, errors
    return reports[0]


def import_error(warehouse: Path, path: Path, **options: Any) -> str:
    """Import one file that must be rejected; return the message."""
    reports, errors = bdf.import_files([path], bdf.Options(**options), warehouse)
    assert not reports, f"{path.name} was imported but should have been rejected"
    assert len(errors) == 1
    return errors[0]


def rows(warehouse: Path, sql: str, parameters: list[Any] | None = None) -> list[tuple]:
    """Run a query on the warehouse's telemetry and metadata catalogs (attached read-only, as `telemetry` and
    `metadata`)."""
    connection = duckdb.connect()
    try:
        for catalog in ("telemetry", "metadata"):
            path = warehouse / f"{catalog}.duckdb"
            if path.exists():
                connection.execute(f"ATTACH '{path}' AS {catalog} (READ_ONLY)")
        return connection.execute(sql, parameters or []).fetchall()
    finally:
        connection.close()


def telemetry(warehouse: Path, columns: str, test_id: str = "LAB__cell-A1__2025-01-15__cc__Maccor") -> list[tuple]:
    """Columns of a test's telemetry rows in record order."""
    return rows(
        warehouse,
        f"SELECT {columns} FROM telemetry.pulse.telemetry WHERE test_id = ? ORDER BY record_number",
        [test_id],
    )


def steps(warehouse: Path, columns: str, test_id: str = "LAB__cell-A1__2025-01-15__cc__Maccor") -> list[tuple]:
    """Columns of a test's statistics_step rows in step order."""
    return rows(
        warehouse,
        f"SELECT {columns} FROM telemetry.pulse.statistics_step WHERE test_id = ? ORDER BY step_number",
        [test_id],
    )


def repair(report: bdf.Report, rule: str) -> str:
    """The report line of one repair rule (fails when the rule did not fire)."""
    matching = [line for line in report.repairs if line.startswith(f"{rule}:")]
    assert matching, f"no {rule} repair reported; repairs: {report.repairs}"
    return matching[0]
