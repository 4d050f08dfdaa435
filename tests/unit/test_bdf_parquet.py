"""BDF Parquet files: every rule of the CSV path applies (column names and labels, units, plausibility, derivations,
repairs, sidecar). The Parquet files are written by DuckDB from CSV files, with the column types its CSV reader
detects (DOUBLE, BIGINT, VARCHAR), as a Parquet writer stores them; a Parquet file's report and errors say `row N`
for its row N, where the CSV file's say `line N + 1`."""

from __future__ import annotations

import math
import re
from pathlib import Path

import duckdb
import pytest

from pulse_analytics import bdf
from tests.conftest import REPO_ROOT
from tests.unit.bdf_support import import_error, import_ok, rows, table, write_bdf

REFERENCE = sorted((REPO_ROOT / "examples" / "bdf").glob("*.bdf.csv"))
COLUMNS = "* EXCLUDE (metadata, update_ts)"


@pytest.fixture
def warehouse(tmp_path):
    return tmp_path / "warehouse"


def as_parquet(csv: Path, types: str = "") -> Path:
    """The CSV file written as `<name>.bdf.parquet` beside it (types: DuckDB's column types for read_csv)."""
    target = csv.with_name(csv.name.replace(".bdf.csv", ".bdf.parquet"))
    options = f", types = {types}" if types else ""
    duckdb.sql(f"COPY (FROM read_csv('{csv}'{options})) TO '{target}' (FORMAT parquet)")
    return target


def in_rows(line: str) -> str:
    """A CSV report line as the Parquet file's: `line N` -> `row N-1`."""
    return re.sub(r"\bline (\d+)", lambda match: f"row {int(match.group(1)) - 1}", line)


def close(left: object, right: object) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        # As tests/e2e/test_engines_agree.py: DuckDB sums in parallel, in an order that changes from run to run.
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9)
    return left == right


def everything(warehouse: Path) -> dict[str, list[tuple]]:
    return {
        name: rows(warehouse, f"SELECT {COLUMNS} FROM telemetry.pulse.{name} ORDER BY ALL")
        for name in ("telemetry", "statistics_step", "statistics_cycle")
    }


@pytest.mark.parametrize("reference", REFERENCE, ids=lambda path: path.name.split("__")[-1])
def test_a_reference_recording_as_parquet_imports_as_the_same_test(tmp_path, reference):
    copy = tmp_path / reference.name
    copy.write_bytes(reference.read_bytes())
    parquet = as_parquet(copy)
    from_csv = import_ok(tmp_path / "csv", copy)
    from_parquet = import_ok(tmp_path / "parquet", parquet)
    csv_rows, parquet_rows = everything(tmp_path / "csv"), everything(tmp_path / "parquet")
    assert csv_rows["telemetry"] == parquet_rows["telemetry"]  # every value, exactly
    for name in ("statistics_step", "statistics_cycle"):  # sums: equal to the last bits DuckDB's order leaves
        assert len(csv_rows[name]) == len(parquet_rows[name])
        for left, right in zip(csv_rows[name], parquet_rows[name], strict=True):
            assert all(close(a, b) for a, b in zip(left, right, strict=True)), (left, right)
    assert (from_parquet.records, from_parquet.steps, from_parquet.cycles) == (
        from_csv.records,
        from_csv.steps,
        from_csv.cycles,
    )
    assert from_parquet.repairs == [in_rows(line) for line in from_csv.repairs]
    assert from_parquet.derivations == [in_rows(line) for line in from_csv.derivations]
    assert from_parquet.identity == from_csv.identity  # the same identifiers from the same file name


def test_labels_name_columns_and_units_are_the_formats(tmp_path, warehouse):
    labelled = write_bdf(
        tmp_path, table("Test Time / s,Voltage / V,Current / A", (0, 3.5, 0), (10, 3.6, 1.0), (20, 3.7, 1.0))
    )
    report = import_ok(warehouse, as_parquet(labelled))
    assert (report.records, report.steps) == (3, 2)
    milli = write_bdf(tmp_path / "mA", table("test_time_second,voltage_volt,Current / mA", (0, 3.5, 0), (10, 3.6, 1)))
    message = import_error(warehouse, as_parquet(milli))
    assert "column 'Current / mA': the Battery Data Format fixes Current / A (`current_ampere`)" in message


def test_values_no_cycler_measures_are_refused_naming_row_and_column(tmp_path, warehouse):
    huge = write_bdf(
        tmp_path, table("test_time_second,voltage_volt,current_ampere", (0, 3.5, 0), (10, 3.6, 1.0), (20, 3.7, 1e308))
    )
    message = import_error(warehouse, as_parquet(huge))
    assert f"{huge.with_name(huge.name.replace('.csv', '.parquet'))}: row 3, column 'current_ampere': value" in message
    assert "is beyond what a cycler measures" in message
    text = write_bdf(
        tmp_path / "text", table("test_time_second,voltage_volt,current_ampere", (0, 3.5, 0), (10, "3.7O", 1.0))
    )
    message = import_error(warehouse, as_parquet(text, "{'voltage_volt': 'VARCHAR'}"))
    assert "row 2, column 'voltage_volt': value '3.7O' is not a number" in message
    assert rows(warehouse, "SELECT count(*) FROM telemetry.pulse.telemetry") == [(0,)]


def test_the_sidecar_beside_a_parquet_file_gives_identifiers_and_metadata(tmp_path, warehouse):
    csv = write_bdf(tmp_path, table("test_time_second,voltage_volt,current_ampere", (0, 3.5, 0), (10, 3.6, 1.0)))
    parquet = as_parquet(csv)
    csv.unlink()
    (tmp_path / "LAB__cell-A1__2025-01-15__cc__Maccor.yaml").write_text(
        "part_id: cell-77\nstart_time: 2025-01-15T08:00:00+01:00\npart: {chemistry: LFP}\n"
    )
    report = import_ok(warehouse, parquet)
    assert report.identity.part_id == "cell-77" and report.identity.test_id == "LAB__cell-A1__2025-01-15__cc__Maccor"
    assert rows(warehouse, "SELECT part_id, chemistry FROM metadata.pulse.part_metadata") == [("cell-77", "LFP")]
    assert rows(warehouse, 'SELECT min("timestamp") FROM telemetry.pulse.telemetry')[0][0].hour == 7


def test_a_file_named_parquet_that_is_not_one_is_refused_naming_it(tmp_path, warehouse):
    fake = tmp_path / "cell.bdf.parquet"
    fake.write_text("test_time_second,voltage_volt,current_ampere\n0,3.5,0\n")
    message = import_error(warehouse, fake)
    assert message.startswith(f"{fake}: not a readable Parquet file")


def test_a_folder_import_takes_parquet_files(tmp_path, warehouse):
    folder = tmp_path / "lab"
    csv = write_bdf(folder, table("test_time_second,voltage_volt,current_ampere", (0, 3.5, 0), (9, 3.6, 1)))
    as_parquet(csv)
    csv.unlink()
    reports, errors = bdf.import_folder(folder, warehouse)
    assert not errors
    assert [report.path.name for report in reports] == ["LAB__cell-A1__2025-01-15__cc__Maccor.bdf.parquet"]
