"""`pulse export-bdf`: a test written back as a Battery Data Format file, CSV or Parquet; importing that file gives the
same test (import -> export -> import, on the real reference recordings and on a hand-made file with cycler
labels)."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pytest

from pulse_analytics import bdf
from tests.conftest import REPO_ROOT, pulse_env, run_pulse
from tests.unit.bdf_support import rows, table, write_bdf

REFERENCE = sorted((REPO_ROOT / "examples" / "bdf").glob("*.bdf.csv"))
# Every telemetry column but the two an import sets itself: metadata (the source file's name) and update_ts.
COMPARED = [
    "device_id",
    "test_id",
    "cycle_number",
    "step_number",
    "step_type",
    "step_id",
    "record_number",
    '"timestamp"',
    '"voltage__V"',
    '"current__A"',
    '"power__W"',
    '"duration__s"',
    '"voltage_delta__V"',
    '"current_delta__A"',
    '"power_delta__W"',
    '"capacity_charged__Ah"',
    '"capacity_discharged__Ah"',
    '"differential_capacity_charged__Ah_V"',
    '"differential_capacity_discharged__Ah_V"',
    '"step_duration__s"',
    '"step_capacity_charged__Ah"',
    '"step_capacity_discharged__Ah"',
    '"step_energy_charged__Wh"',
    '"step_energy_discharged__Wh"',
    # auxiliary without the program counters, which the file carries as the test's own cycle and step numbers
    "map_from_entries(list_filter(map_entries(auxiliary), entry -> NOT list_contains("
    "['cycle_count', 'step_count', 'step_index', 'step_record_index'], entry.key)))",
]
LABELLED = table(
    "test_time_second,voltage_volt,current_ampere,step_type,temperature_t1_celsius,strain_um",
    (0, 3.0, 0, "REST", 25.0, 1.0),
    (60, 3.0, 0, "REST", 25.1, 1.1),
    (120, 3.4, 1.5, "CC_CHG", 26.0, 1.5),
    (180, 4.2, 1.5, "CC_CHG", 27.0, 1.9),
    (240, 4.2, 0.4, "CV_CHG", 27.5, 2.0),
    (300, 4.2, 0.1, "CV_CHG", 27.0, 2.0),
    (360, 4.1, 0, "OCV", 26.0, 2.0),
    (420, 3.6, -1.5, "CC_DCH", 27.0, 1.6),
    (480, 3.0, -1.5, "CC_DCH", 28.0, 1.2),
)


def telemetry_rows(warehouse: Path, table_name: str = "telemetry", columns: list[str] = COMPARED) -> list[tuple]:
    order = "device_id, test_id, record_number" if table_name == "telemetry" else "device_id, test_id, 3, 4"
    return rows(warehouse, f"SELECT {', '.join(columns)} FROM telemetry.pulse.{table_name} ORDER BY {order}")


def same(first: list[tuple], second: list[tuple]) -> bool:
    """Equal row by row; floats to 1e-9 (relative, or absolute near zero): cumulative counters are summed and
    differenced again, and times pass through timestamps of microsecond resolution."""
    assert len(first) == len(second)
    for left_row, right_row in zip(first, second, strict=True):
        for left, right in zip(left_row, right_row, strict=True):
            if isinstance(left, float) and isinstance(right, float):
                assert math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9), (left_row, right_row)
            elif isinstance(left, dict):
                assert left.keys() == right.keys() and all(
                    math.isclose(left[key], right[key], rel_tol=1e-12) for key in left
                ), (left_row, right_row)
            else:
                assert left == right, (left_row, right_row)
    return True


@pytest.fixture(scope="module", params=["csv", "parquet"])
def round_trip(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The reference files and a labelled file imported into one warehouse, each test exported with `pulse
    export-bdf --format csv|parquet`, and the exported files imported into a second warehouse."""
    kind = request.param
    root = tmp_path_factory.mktemp(f"bdf-export-{kind}")
    labelled = write_bdf(root / "in", LABELLED, name="LAB__cell-L1__2025-02-01__cccv__Maccor.bdf.csv")
    first, second, files = root / "first", root / "second", root / "exported"
    reports, errors = bdf.import_files([*REFERENCE, labelled], bdf.Options(part_id=None), first)
    assert not errors, errors
    for report in reports:
        run_pulse("export-bdf", report.identity.test_id, "--output", str(files), "--format", kind, env=pulse_env(first))
    reports, errors = bdf.import_files(sorted(files.glob(f"*.bdf.{kind}")), bdf.Options(), second)
    assert not errors and len(reports) == 3, errors
    return first, second, files


def test_the_reimported_telemetry_equals_the_first_import(round_trip):
    first, second, _ = round_trip
    before, after = telemetry_rows(first), telemetry_rows(second)
    assert len(before) == 25_162 + 13_086 + 9
    assert same(before, after)


def test_the_reimported_statistics_equal_the_first_import(round_trip):
    first, second, _ = round_trip
    for statistics in ("statistics_step", "statistics_cycle"):
        columns = ["* EXCLUDE (metadata, update_ts, auxiliary)", COMPARED[-1]]
        assert same(telemetry_rows(first, statistics, columns), telemetry_rows(second, statistics, columns))


def test_the_file_follows_the_standard_and_keeps_the_cyclers_labels(round_trip):
    _, _, files = round_trip
    (exported,) = files.glob("LAB__cell-L1__2025-02-01__cccv__Maccor.bdf.*")
    header = [row[0] for row in duckdb.sql(f"DESCRIBE FROM '{exported}'").fetchall()]
    assert header[:4] == ["test_time_second", "unix_time_second", "voltage_volt", "current_ampere"]
    assert {
        "cycle_count",
        "step_count",
        "step_type",
        "charging_capacity_ah",
        "temperature_t1_celsius",
        "strain_um",
    } <= set(header)
    labels = duckdb.sql(f"SELECT list(DISTINCT step_type ORDER BY step_type) FROM '{exported}'").fetchone()
    assert labels[0] == ["CC_CHG", "CC_DCH", "CV_CHG", "OCV", "REST"]
    sidecar = exported.with_name("LAB__cell-L1__2025-02-01__cccv__Maccor.yaml").read_text()
    assert "device_id: LAB-Maccor" in sidecar and "part_id: cell-L1" in sidecar


def test_export_of_an_unknown_test_names_the_tests_there_are(round_trip):
    first, _, _ = round_trip
    result = run_pulse("export-bdf", "no-such-test", env=pulse_env(first), check=False)
    assert result.returncode == 1
    assert "no test 'no-such-test' in the telemetry catalog; tests there include LAB-Maccor/" in result.stderr


def test_a_parquet_file_has_bdf_types_and_a_wrong_file_name_is_refused(tmp_path):
    warehouse = tmp_path / "warehouse"
    labelled = write_bdf(tmp_path / "in", LABELLED, name="LAB__cell-L1__2025-02-01__cccv__Maccor.bdf.csv")
    assert not bdf.import_files([labelled], bdf.Options(), warehouse)[1]
    test = "LAB__cell-L1__2025-02-01__cccv__Maccor"
    exported = tmp_path / "out" / "cell.bdf.parquet"
    run_pulse("export-bdf", test, "-o", str(exported), env=pulse_env(warehouse))  # Parquet, as the name ends
    types = dict(duckdb.sql(f"SELECT name, type FROM parquet_schema('{exported}')").fetchall())
    assert types["voltage_volt"] == types["charging_capacity_ah"] == "DOUBLE" and types["step_type"] == "BYTE_ARRAY"
    assert (tmp_path / "out" / "cell.yaml").exists()
    wrong = tmp_path / "x.bdf.csv"
    result = run_pulse(
        "export-bdf", test, "-o", str(wrong), "--format", "parquet", env=pulse_env(warehouse), check=False
    )
    assert result.returncode == 1 and not wrong.exists()
    assert f"{wrong}: a parquet file is named *.bdf.parquet; name it so, or give a folder" in result.stderr
