"""BDF importer: identifiers and sidecars, metadata links, idempotence, failures that leave the catalog as it was,
the command line, folder import and bounded memory."""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import pytest

from pulse_analytics import bdf, cli, statistics
from pulse_analytics.bdf import importer, staging
from pulse_analytics.bdf.files import DEFAULT_DEVICE
from tests.unit.bdf_support import DEFAULT_NAME, import_error, import_ok, rows, steps, write_bdf

TEST_ID = DEFAULT_NAME.removesuffix(".bdf.csv")
CYCLES = """
    test_time_second,voltage_volt,current_ampere,step_index
    0,3.50,0,1
    10,3.60,1.0,2
    20,3.70,1.0,2
    30,3.60,-1.0,3
    40,3.50,-1.0,3
    50,3.60,1.0,2
    60,3.50,-1.0,3
"""


@pytest.fixture
def warehouse(tmp_path):
    return tmp_path / "warehouse"


def counts(warehouse, test_id: str = TEST_ID) -> tuple[int, int, int]:
    """Telemetry, step and cycle rows of a test."""
    return tuple(
        rows(warehouse, f"SELECT count(*) FROM telemetry.pulse.{table} WHERE test_id = ?", [test_id])[0][0]
        for table in ("telemetry", "statistics_step", "statistics_cycle")
    )


def snapshot(warehouse) -> dict[str, list[tuple]]:
    """Every row of every source table, to compare the catalog before and after a failed import."""
    tables = {
        "telemetry": ["telemetry", "statistics_step", "statistics_cycle"],
        "metadata": ["device_metadata", "recipe_metadata", "device_test_recipe", "part_metadata", "device_test_part"],
    }
    return {
        f"{catalog}.{name}": sorted(rows(warehouse, f"SELECT * FROM {catalog}.pulse.{name}"), key=repr)
        for catalog, names in tables.items()
        for name in names
    }


def test_identifiers_default_from_the_bdf_file_name(tmp_path, warehouse):
    report = import_ok(warehouse, write_bdf(tmp_path, CYCLES))
    who = report.identity
    assert (who.device_id, who.test_id, who.part_id, who.recipe_id) == ("LAB-Maccor", TEST_ID, "cell-A1", None)
    assert rows(warehouse, "SELECT * FROM metadata.pulse.device_test_part") == [("LAB-Maccor", TEST_ID, "cell-A1")]
    assert rows(warehouse, "SELECT * FROM metadata.pulse.device_test_recipe") == []


def test_a_file_name_without_the_pattern_gets_plain_defaults(tmp_path, warehouse):
    report = import_ok(warehouse, write_bdf(tmp_path, CYCLES, "run 12.csv"), start_time=datetime(2025, 3, 1))
    who = report.identity
    assert (who.device_id, who.test_id, who.part_id) == (DEFAULT_DEVICE, "run 12", "run 12")


def test_options_override_the_defaults_and_write_the_links(tmp_path, warehouse):
    import_ok(
        warehouse, write_bdf(tmp_path, CYCLES), device_id="ch-7", test_id="T-100", part_id="cell-9", recipe_id="cc-1c"
    )
    assert rows(warehouse, "SELECT * FROM metadata.pulse.device_test_part") == [("ch-7", "T-100", "cell-9")]
    assert rows(warehouse, "SELECT * FROM metadata.pulse.device_test_recipe") == [("ch-7", "T-100", "cc-1c")]
    assert counts(warehouse, "T-100") == (7, 5, 2)


def test_sidecar_gives_identifiers_start_time_and_metadata_rows(tmp_path, warehouse):
    path = write_bdf(tmp_path, CYCLES)
    (tmp_path / f"{TEST_ID}.yaml").write_text("""
device_id: maccor-02-ch03
part_id: cell-B7
recipe_id: rate-v1
start_time: 2025-01-15T09:30:00+01:00
part: {manufacturer: Kokam, chemistry: NMC, form_factor: pouch, nominal_capacity__ah: 7.5, team: pouch}
device: {manufacturer: Maccor, channel: 3, calibration_date: 2024-12-01}
recipe: {recipe_name: Rate test, charge_c_rate: 0.5}
metadata: {operator: ada}
""")
    report = import_ok(warehouse, path, device_id="from-option")
    who = report.identity
    assert (who.device_id, who.part_id, who.recipe_id) == ("from-option", "cell-B7", "rate-v1")
    assert rows(warehouse, "SELECT * FROM metadata.pulse.part_metadata") == [
        ("cell-B7", "Kokam", "NMC", "pouch", 7.5, None, "pouch")
    ]
    devices = rows(
        warehouse,
        "SELECT device_id, manufacturer, model, channel, calibration_date FROM metadata.pulse.device_metadata",
    )
    assert devices == [("from-option", "Maccor", None, 3, date(2024, 12, 1))]
    assert rows(
        warehouse, "SELECT recipe_id, recipe_name, charge_c_rate, discharge_c_rate FROM metadata.pulse.recipe_metadata"
    ) == [("rate-v1", "Rate test", 0.5, None)]
    first = rows(warehouse, 'SELECT "timestamp", metadata FROM telemetry.pulse.telemetry ORDER BY record_number')[0]
    assert first[0] == datetime(2025, 1, 15, 8, 30)
    assert first[1] == f'{{"source": "bdf", "file": "{DEFAULT_NAME}", "operator": "ada"}}'


@pytest.mark.parametrize(
    ("sidecar", "message"),
    [
        ("part_no: 3\n", "unknown key(s) part_no; known keys:"),
        ("part: {chemistry: NMC, capacity: 2}\n", "part: unknown column(s) capacity; part_metadata has manufacturer"),
        ("part: {nominal_capacity__ah: two}\n", "part.nominal_capacity__ah: 'two' is not a DOUBLE"),
        ("part: [1, 2]\n", "'part' must be a mapping"),
        ("part: {part_id: other}\n", "part.part_id is 'other' but the test's part_id is 'cell-A1'"),
        ("recipe: {recipe_name: x}\n", "section 'recipe' given, but the test has no recipe_id"),
        ("start_time: soon\n", "start time 'soon' is not an ISO 8601 time"),
        ("device_id: [\n", "not valid YAML"),
    ],
)
def test_a_bad_sidecar_is_rejected_naming_it(tmp_path, warehouse, sidecar, message):
    path = write_bdf(tmp_path, CYCLES)
    (tmp_path / f"{TEST_ID}.yaml").write_text(sidecar)
    error = import_error(warehouse, path)
    assert f"{tmp_path / TEST_ID}.yaml" in error and message in error
    assert not (warehouse / "telemetry.duckdb").exists() or counts(warehouse) == (0, 0, 0)


def test_importing_the_same_file_twice_does_not_duplicate_rows(tmp_path, warehouse):
    path = write_bdf(tmp_path, CYCLES)
    import_ok(warehouse, path, recipe_id="cc-1c")
    first = snapshot(warehouse)
    import_ok(warehouse, path, recipe_id="cc-1c")
    again = snapshot(warehouse)
    assert counts(warehouse) == (7, 5, 2)
    drop_update_ts = {
        name: [tuple(value for value in row if not isinstance(value, datetime)) for row in table]
        for name, table in first.items()
    }
    assert drop_update_ts == {
        name: [tuple(value for value in row if not isinstance(value, datetime)) for row in table]
        for name, table in again.items()
    }


def test_reimport_replaces_the_links_of_the_test(tmp_path, warehouse):
    path = write_bdf(tmp_path, CYCLES)
    import_ok(warehouse, path, recipe_id="cc-1c", part_id="cell-1")
    import_ok(warehouse, path, part_id="cell-2")
    assert rows(warehouse, "SELECT part_id FROM metadata.pulse.device_test_part") == [("cell-2",)]
    assert rows(warehouse, "SELECT * FROM metadata.pulse.device_test_recipe") == []


def test_a_rejected_file_leaves_the_catalog_as_it_was(tmp_path, warehouse):
    import_ok(warehouse, write_bdf(tmp_path / "good", CYCLES), recipe_id="cc-1c")
    before = snapshot(warehouse)
    broken = write_bdf(tmp_path / "bad", CYCLES.replace("40,3.50,-1.0,3", "40,3.5O,-1.0,3"))
    assert "line 6, column 'voltage_volt'" in import_error(warehouse, broken, recipe_id="other")
    assert snapshot(warehouse) == before


def test_a_failure_while_writing_rolls_back_telemetry_and_statistics(tmp_path, warehouse, monkeypatch):
    path = write_bdf(tmp_path, CYCLES)
    import_ok(warehouse, path)
    before = snapshot(warehouse)
    changed = write_bdf(tmp_path / "changed", CYCLES.replace("60,3.50,-1.0,3", "60,3.50,-1.0,3\n70,3.4,0,4"))

    def fail_while_summarising(connection, tests):
        raise duckdb.IOException("disk full (simulated)")

    monkeypatch.setattr(statistics, "summarise", fail_while_summarising)
    assert "disk full (simulated)" in import_error(warehouse, changed)
    assert snapshot(warehouse) == before


def test_metadata_links_that_fail_after_the_telemetry_are_completed_by_running_again(tmp_path, warehouse, monkeypatch):
    path = write_bdf(tmp_path, CYCLES)
    original = importer.write_metadata

    def fail(connection, identity, metadata_rows):
        raise duckdb.IOException("metadata file locked (simulated)")

    monkeypatch.setattr(importer, "write_metadata", fail)
    error = import_error(warehouse, path)
    assert "telemetry was imported but the metadata links could not be written" in error
    assert "run the same import again" in error
    assert rows(warehouse, "SELECT * FROM metadata.pulse.device_test_part") == []
    monkeypatch.setattr(importer, "write_metadata", original)
    import_ok(warehouse, path)
    assert rows(warehouse, "SELECT * FROM metadata.pulse.device_test_part") == [("LAB-Maccor", TEST_ID, "cell-A1")]
    assert counts(warehouse) == (7, 5, 2)


def test_statistics_come_from_the_shared_summarising_step(tmp_path, warehouse):
    import_ok(warehouse, write_bdf(tmp_path, CYCLES))
    imported = steps(warehouse, "*")
    connection = duckdb.connect()
    connection.execute(f"ATTACH '{warehouse / 'telemetry.duckdb'}' AS telemetry")
    connection.execute(f"ATTACH '{warehouse / 'metadata.duckdb'}' AS metadata")
    connection.execute("DELETE FROM telemetry.pulse.statistics_step")
    statistics.summarise(connection, [("LAB-Maccor", TEST_ID)])
    connection.close()
    assert [row[:-1] for row in steps(warehouse, "*")] == [row[:-1] for row in imported]  # all but update_ts


@pytest.mark.parametrize("command", ["import", "import-bdf"])
def test_command_line_imports_and_reports(tmp_path, warehouse, monkeypatch, capsys, command):
    monkeypatch.setenv("PULSE_ANALYTICS_WAREHOUSE_DIR", str(warehouse))
    path = write_bdf(tmp_path, CYCLES)
    assert cli.main([command, str(path), "--part-id", "cell-5", "--start-time", "2025-01-15T10:00:00Z"]) == 0
    out = capsys.readouterr().out
    assert f"imported {DEFAULT_NAME}: test {TEST_ID} on device LAB-Maccor, part cell-5" in out
    assert "7 records of 7 rows, 5 steps, 2 cycles" in out and "run `pulse build`" in out
    assert rows(warehouse, 'SELECT min("timestamp") FROM telemetry.pulse.telemetry') == [(datetime(2025, 1, 15, 10),)]


def test_command_line_reports_each_failure_and_imports_the_rest(tmp_path, warehouse, monkeypatch, capsys):
    monkeypatch.setenv("PULSE_ANALYTICS_WAREHOUSE_DIR", str(warehouse))
    good = write_bdf(tmp_path, CYCLES)
    bad = write_bdf(tmp_path, "test_time_second,voltage_volt\n0,3.5", "LAB__cell-A2__2025-01-15__cc__Maccor.csv")
    assert cli.main(["import-bdf", str(bad), str(good), str(tmp_path / "missing.csv")]) == 1
    err = capsys.readouterr().err
    assert f"error: {bad}: required column(s) current_ampere missing" in err
    assert f"error: {tmp_path / 'missing.csv'}: no such file" in err
    assert "2 of 3 files not imported" in err
    assert counts(warehouse) == (7, 5, 2)


def test_a_file_failing_late_does_not_stop_the_next_one(tmp_path, warehouse):
    undated = write_bdf(tmp_path, CYCLES, "cell-x.csv")  # fails only when its start time is looked for
    dated = write_bdf(tmp_path, CYCLES)
    reports, errors = bdf.import_files([undated, dated], bdf.Options(), warehouse)
    assert [report.path for report in reports] == [dated]
    assert len(errors) == 1 and "no start time" in errors[0]
    assert counts(warehouse) == (7, 5, 2)


def test_command_line_refuses_files_that_would_be_the_same_test(tmp_path, warehouse, monkeypatch, capsys):
    monkeypatch.setenv("PULSE_ANALYTICS_WAREHOUSE_DIR", str(warehouse))
    first = write_bdf(tmp_path / "a", CYCLES)
    second = write_bdf(tmp_path / "b", CYCLES)
    assert cli.main(["import-bdf", str(first), str(second)]) == 1
    assert f"{first} and {second} would both be test {TEST_ID} on device LAB-Maccor" in capsys.readouterr().err
    assert not (warehouse / "telemetry.duckdb").exists()


def test_folder_import_takes_every_bdf_file_with_its_sidecar(tmp_path, warehouse):
    folder = tmp_path / "lab"
    write_bdf(folder, CYCLES)
    write_bdf(folder, CYCLES, "LAB__cell-A2__2025-01-16__cc__Maccor.bdf")
    (folder / "LAB__cell-A2__2025-01-16__cc__Maccor.yaml").write_text("part: {chemistry: LFP}\n")
    (folder / "notes.txt").write_text("not a BDF file")
    reports, errors = bdf.import_folder(folder, warehouse)
    assert not errors
    assert sorted(report.identity.part_id for report in reports) == ["cell-A1", "cell-A2"]
    assert rows(warehouse, "SELECT part_id, chemistry FROM metadata.pulse.part_metadata") == [("cell-A2", "LFP")]
    with pytest.raises(bdf.BdfError, match="is not a folder"):
        bdf.import_folder(tmp_path / "nowhere", warehouse)


def test_a_million_rows_import_under_a_small_memory_limit(tmp_path, warehouse, monkeypatch):
    """Staging spills to disk: a file several times larger than DuckDB's memory limit still imports."""
    path = tmp_path / "big.bdf.csv"
    duckdb.connect().execute(f"""
        COPY (SELECT i * 1.0 AS test_time_second, 3.5 + 0.5 * sin(i / 1000.0) AS voltage_volt,
                     CASE (i // 5000) % 4 WHEN 0 THEN 2.0 WHEN 2 THEN -2.0 ELSE 0 END AS current_ampere,
                     (i // 5000) % 4 + 1 AS step_index, 25 + (i % 7) * 0.1 AS temperature_t1_celsius
              FROM range(1000000) AS r(i)) TO '{path}' (HEADER)
    """)
    monkeypatch.setattr(staging, "MEMORY_LIMIT", "160MB")
    report = import_ok(warehouse, path, start_time=datetime(2025, 1, 1))
    assert (report.records, report.steps, report.cycles) == (1_000_000, 200, 50)
    charged = rows(warehouse, 'SELECT sum("charge_capacity__Ah") FROM telemetry.pulse.statistics_step')[0][0]
    assert charged == pytest.approx((50 * 5000 - 1) * 2.0 / 3600)  # 50 charge steps of 5000 s at 2 A (the first
    # record of the file has no interval before it)
