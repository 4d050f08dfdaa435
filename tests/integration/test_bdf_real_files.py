"""The two real SINTEF recordings of examples/bdf: their quirks are handled, they import, and after the demo's
dbt build they appear in the part marts beside the synthetic cells with sensible cycles and capacities."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pulse_analytics import bdf, cli
from tests.conftest import REPO_ROOT, Warehouse, pulse_env, run_pulse

BDF_FOLDER = REPO_ROOT / "examples" / "bdf"
NEWARE = "SINTEF__SLPBA842124HV__2024-10-23__Rate_25degC__Neware.bdf.csv"
LANDT = "SINTEF__LiGrR2032__2024-04-30__25degC__Landt.bdf.csv"


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bdf.Report]]:
    """Both files imported into an empty warehouse by the library, with their reports."""
    warehouse = tmp_path_factory.mktemp("bdf-real")
    reports, errors = bdf.import_files([BDF_FOLDER / NEWARE, BDF_FOLDER / LANDT], bdf.Options(), warehouse)
    assert not errors, errors
    return warehouse, {report.path.name: report for report in reports}


def query(warehouse: Path, sql: str, parameters: list | None = None) -> list[tuple]:
    connection = duckdb.connect()
    try:
        connection.execute(f"ATTACH '{warehouse / 'telemetry.duckdb'}' AS telemetry (READ_ONLY)")
        return connection.execute(sql, parameters or []).fetchall()
    finally:
        connection.close()


def test_neware_time_bug_is_repaired_and_reported(imported):
    warehouse, reports = imported
    report = reports[NEWARE]
    glitch = next(line for line in report.repairs if line.startswith("time-glitch:"))
    assert "goes backwards at 19 single rows (first: line 724)" in glitch
    test_id = report.identity.test_id
    shortest, backwards = query(
        warehouse,
        """
        SELECT min("duration__s"), count(*) FILTER (WHERE "timestamp" < previous)
        FROM (SELECT "duration__s", "timestamp", lag("timestamp") OVER (ORDER BY record_number) AS previous
              FROM telemetry.pulse.telemetry WHERE test_id = ?)
    """,
        [test_id],
    )[0]
    assert shortest >= 0 and backwards == 0
    assert report.rows_read == report.records == 13_086


def test_neware_constant_cycle_count_gives_way_to_the_five_rate_cycles(imported):
    warehouse, reports = imported
    report = reports[NEWARE]
    assert report.cycles == 5 and report.steps == 20
    assert any(line.startswith("cycle-constant:") for line in report.repairs)
    cycles = query(
        warehouse,
        'SELECT cycle_number, "charge_capacity__Ah", "discharge_capacity__Ah", '
        "max_discharge_current__A FROM telemetry.pulse.statistics_cycle WHERE test_id = ? ORDER BY 1",
        [report.identity.test_id],
    )
    # A 6.5 Ah pouch cell discharged at about 0.1C, 1C, 2C, 5C and 9C: every discharge delivers 7.1 to 7.4 Ah.
    assert [round(current) for *_, current in cycles] == [-1, -7, -13, -33, -59]
    assert all(7.1 < discharged < 7.4 for _, _, discharged, _ in cycles)
    assert all(7.1 < charged < 7.4 for _, charged, _, _ in cycles[1:])  # cycle 1 starts from a part-charged cell


def test_landt_sub_milliampere_steps_and_derived_cycles(imported):
    warehouse, reports = imported
    report = reports[LANDT]
    assert (report.records, report.steps, report.cycles) == (25_162, 4, 2)
    assert query(
        warehouse,
        "SELECT step_type, cycle_number FROM telemetry.pulse.statistics_step WHERE test_id = ? ORDER BY step_number",
        [report.identity.test_id],
    ) == [("Rest", 1), ("Discharge", 1), ("Charge", 1), ("Discharge", 2)]


def test_landt_step_capacities_sum_to_the_cyclers_own_counters(imported):
    warehouse, reports = imported
    imported_totals = query(
        warehouse,
        'SELECT sum("charge_capacity__Ah"), sum("discharge_capacity__Ah") '
        "FROM telemetry.pulse.statistics_step WHERE test_id = ?",
        [reports[LANDT].identity.test_id],
    )[0]
    # Independently from the file: the counters restart at each step, so the total is the sum of each run's maximum.
    counted = (
        duckdb.connect()
        .execute(f"""
        WITH numbered AS (SELECT row_number() OVER () AS row, * FROM read_csv('{BDF_FOLDER / LANDT}')),
        runs AS (SELECT *, sum(CASE WHEN step_index IS DISTINCT FROM previous THEN 1 ELSE 0 END)
                           OVER (ORDER BY row) AS run
                 FROM (SELECT *, lag(step_index) OVER (ORDER BY row) AS previous FROM numbered))
        SELECT sum(charged), sum(discharged)
        FROM (SELECT max(charging_capacity_ah) AS charged, max(discharging_capacity_ah) AS discharged
              FROM runs GROUP BY run)
    """)
        .fetchone()
    )
    assert counted == pytest.approx((0.0032, 0.0076))
    assert imported_totals == pytest.approx(counted)


def test_demo_imports_the_folder_and_the_cells_appear_in_the_marts(warehouse_copy: Path, monkeypatch, capsys):
    """The demo's BDF step (PULSE_ANALYTICS_BDF_DIR) on a copy of the built demo warehouse, then the real dbt build."""
    monkeypatch.setenv("PULSE_ANALYTICS_WAREHOUSE_DIR", str(warehouse_copy))
    monkeypatch.setenv("PULSE_ANALYTICS_BDF_DIR", str(BDF_FOLDER))
    assert cli.import_demo_bdf() == []
    out = capsys.readouterr().out
    assert f"imported {NEWARE}" in out and f"imported {LANDT}" in out
    run_pulse("build", env=pulse_env(warehouse_copy))
    built = Warehouse("duckdb", warehouse_copy)
    marts = """
        SELECT part_id, part_cycle_number, cycle_kind, test_purpose, round(reference_capacity__ah, 4),
               round(capacity_retention, 3), life_curve_exclusion
        FROM {view} WHERE part_id IN ('SLPBA842124HV', 'LiGrR2032') ORDER BY part_id, part_cycle_number
    """
    cycles = built.query(marts.format(view=Warehouse.view("part_statistics_cycle")))
    # Landt (a pOCV test of a coin cell): its first cycle charges half what it discharges (the cell starts charged),
    # the second only discharges: no full cycle, a characterisation test, no reference, nothing on the life curves.
    # Neware: the first of five rate cycles starts part-charged (4.04 Ah in, 7.28 Ah out); the reference is the second.
    ocv, rate = ("partial", "characterisation"), "cycling"
    assert cycles == [
        ("LiGrR2032", 1, *ocv, None, None, "characterisation test"),
        ("LiGrR2032", 2, *ocv, None, None, "characterisation test"),
        ("SLPBA842124HV", 1, "partial", rate, 7.2539, 1.004, "partial cycle"),
        ("SLPBA842124HV", 2, "full", rate, 7.2539, 1.0, None),
        ("SLPBA842124HV", 3, "full", rate, 7.2539, 0.998, None),
        ("SLPBA842124HV", 4, "full", rate, 7.2539, 0.994, None),
        ("SLPBA842124HV", 5, "full", rate, 7.2539, 0.992, None),
    ]
    records = f"""SELECT part_id, count(*) FROM {Warehouse.view("part_telemetry")}
                  WHERE part_id IN ('SLPBA842124HV', 'LiGrR2032') GROUP BY 1 ORDER BY 1"""
    assert built.query(records) == [("LiGrR2032", 25_162), ("SLPBA842124HV", 13_086)]
    assert built.count(Warehouse.view("part_statistics_cycle"), "part_id LIKE 'cell-%'") > 0  # beside the demo's

    assert_analyses_of_the_rate_test(built)

    assert cli.import_demo_bdf() == []  # the demo run again: the files are imported again, nothing is duplicated
    assert built.query(records) == [("LiGrR2032", 25_162), ("SLPBA842124HV", 13_086)]  # the views read live


def assert_analyses_of_the_rate_test(built: Warehouse) -> None:
    """The Neware rate test (a 7.3 Ah pouch cell; discharges at 0.1C, 1C, 2C, 5C and 8C, charges at 0.3C): its curves,
    dQ/dV, resistance and temperature say what a battery engineer expects of such a cell."""
    where = "part_id = 'SLPBA842124HV'"
    ends = built.query(f"""
        SELECT curves.part_cycle_number, max(curves.capacity__ah), min(curves.voltage__v),
               max(cycles.discharge_capacity__ah)
        FROM {Warehouse.view("cycle_voltage_curves")} AS curves
        JOIN {Warehouse.view("part_statistics_cycle")} AS cycles
            ON curves.part_id = cycles.part_id AND curves.part_cycle_number = cycles.part_cycle_number
        WHERE curves.{where} AND curves.direction = 'discharge' GROUP BY 1 ORDER BY 1""")
    assert [row[0] for row in ends] == [1, 2, 3, 4, 5]
    for cycle, curve_end, _, discharged in ends:  # the last slice's mean sits within a slice of the cycle's capacity
        assert discharged * 0.98 < curve_end <= discharged, cycle
    lowest = [row[2] for row in ends[1:]]
    assert lowest == sorted(lowest, reverse=True)  # a faster discharge sags lower: 1C .. 8C

    peak = built.query(f"""
        SELECT voltage__v FROM {Warehouse.view("cycle_incremental_capacity")}
        WHERE {where} AND part_cycle_number = 2 AND direction = 'charge'
        ORDER BY smoothed_incremental_capacity__ah_v DESC LIMIT 1""")[0][0]
    assert 3.7 < peak < 3.9  # the graphite/NMC staging peak of a slow charge

    resistances = built.query(f"""
        SELECT resistance__ohm, resistance_time__s FROM {Warehouse.view("step_resistances")}
        WHERE {where} AND step_type = 'Discharge'""")
    assert len(resistances) == 5  # each discharge starts from a rest
    assert all(0.004 < ohms < 0.010 and seconds == 10 for ohms, seconds in resistances)  # 5.7-6.6 mOhm

    temperatures = built.query(f"""
        SELECT part_cycle_number, mean_temperature__c, max_temperature__c FROM {Warehouse.view("cycle_temperatures")}
        WHERE {where} ORDER BY 1""")
    assert all(20 < mean < 35 for _, mean, _ in temperatures)
    hottest = [highest for _, _, highest in temperatures]
    assert hottest[1:] == sorted(hottest[1:])  # the faster the discharge, the hotter the cell: 29 .. 50 degC
