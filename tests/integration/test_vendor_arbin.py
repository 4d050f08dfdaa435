"""`pulse import` of Arbin .res files: the real recordings of examples/vendor/arbin, read by access-parser and imported
as BDF, keep the cycler's records, steps, cycles, counters, clock and auxiliary temperatures."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pandas
import pytest
from access_parser import AccessParser

from pulse_analytics import bdf
from tests.conftest import REPO_ROOT, pulse_env, run_pulse
from tests.unit.bdf_support import rows

ARBIN = REPO_ROOT / "examples" / "vendor" / "arbin"
NAMES = ("arbin_example.res", "20160805_test001_45_cc_01.res", "aux_one_x_dx.res")


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bdf.Report]]:
    warehouse = tmp_path_factory.mktemp("arbin")
    reports, errors = bdf.import_files([ARBIN / name for name in NAMES], bdf.Options(), warehouse)
    assert not errors, errors
    return warehouse, {report.path.name: report for report in reports}


def records(name: str) -> pandas.DataFrame:
    """The file's records as access-parser reads them, in Data_Point order."""
    table = AccessParser(str(ARBIN / name)).parse_table("Channel_Normal_Table")
    return pandas.DataFrame(dict(table)).sort_values("Data_Point").reset_index(drop=True)


def the_files_steps(frame: pandas.DataFrame) -> pandas.DataFrame:
    """The file's steps (runs of Cycle_Index and Step_Index) and what its own counters say each moved: a counter
    restarts at each cycle, so a step moves its last value less the one before it (0 at a restart)."""
    run = (frame["Step_Index"] != frame["Step_Index"].shift()) | (frame["Cycle_Index"] != frame["Cycle_Index"].shift())
    frame = frame.assign(step=run.cumsum())
    last = frame.groupby("step").agg(
        cycle=("Cycle_Index", "first"),
        records=("Data_Point", "count"),
        charged=("Charge_Capacity", "last"),
        discharged=("Discharge_Capacity", "last"),
    )
    for counter in ("charged", "discharged"):
        before = last[counter].shift(fill_value=0.0).where(last["cycle"] == last["cycle"].shift(), 0.0)
        last[counter] = last[counter] - before
    return last


@pytest.mark.parametrize("name", NAMES)
def test_records_steps_and_cycles_are_the_files_and_capacities_its_counters(imported, name):
    warehouse, reports = imported
    frame = records(name)
    expected = the_files_steps(frame)
    found = rows(
        warehouse,
        """
        SELECT step_number, cycle_number, num_records, "charge_capacity__Ah", "discharge_capacity__Ah"
        FROM telemetry.pulse.statistics_step WHERE test_id = ? ORDER BY step_number
    """,
        [name.removesuffix(".res")],
    )
    assert reports[name].records == len(frame) and reports[name].steps == len(expected)
    assert reports[name].cycles == frame["Cycle_Index"].nunique()
    first = frame["Charge_Capacity"].iloc[0]  # the file's first record is the counters' baseline
    for (step, cycle, count, charged, discharged), file_step in zip(found, expected.itertuples(), strict=True):
        assert (step, cycle, count) == (file_step.Index, file_step.cycle, file_step.records)
        expected_charge = file_step.charged - (first if step == 1 else 0.0)
        assert charged == pytest.approx(expected_charge, rel=0.005, abs=1e-12)
        assert discharged == pytest.approx(file_step.discharged, rel=0.005, abs=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_each_cycles_capacity_is_the_cyclers_counter(imported, name):
    """Arbin's counters add up over a cycle: its largest value is the cycle's capacity; within 0.5 %."""
    warehouse, _ = imported
    by_cycle = records(name).groupby("Cycle_Index")[["Charge_Capacity", "Discharge_Capacity"]].max()
    found = rows(
        warehouse,
        """
        SELECT cycle_number, "charge_capacity__Ah", "discharge_capacity__Ah"
        FROM telemetry.pulse.statistics_cycle WHERE test_id = ? ORDER BY cycle_number
    """,
        [name.removesuffix(".res")],
    )
    assert [row[0] for row in found] == list(by_cycle.index)
    for (_, charged, discharged), counters in zip(found, by_cycle.itertuples(), strict=True):
        assert charged == pytest.approx(counters.Charge_Capacity, rel=0.005, abs=1e-9)
        assert discharged == pytest.approx(counters.Discharge_Capacity, rel=0.005, abs=1e-9)


def test_the_cyclers_clock_and_auxiliary_temperature(imported):
    warehouse, _ = imported
    frame = records("aux_one_x_dx.res")
    start = datetime(1899, 12, 30) + timedelta(days=float(frame["DateTime"].iloc[0]))
    first, temperatures = rows(
        warehouse,
        """
        SELECT min("timestamp"), list(auxiliary['temperature__C'] ORDER BY record_number)
        FROM telemetry.pulse.telemetry WHERE test_id = 'aux_one_x_dx'
    """,
    )[0]
    assert abs((first - start).total_seconds()) < 1e-3  # the cycler PC's clock, taken as UTC
    aux = pandas.DataFrame(dict(AccessParser(str(ARBIN / "aux_one_x_dx.res")).parse_table("Auxiliary_Table")))
    assert temperatures == pytest.approx(list(aux.sort_values("Data_Point")["X"]), rel=1e-6)


def test_the_command_line_imports_an_arbin_file_and_refuses_a_damaged_one(tmp_path):
    result = run_pulse("import", str(ARBIN / "arbin_example.res"), env=pulse_env(tmp_path / "warehouse"))
    assert "imported arbin_example.res: test arbin_example" in result.stdout
    assert "read: Arbin RES file read by access-parser 0.0.6" in result.stdout
    damaged = tmp_path / "cut.res"
    damaged.write_bytes((ARBIN / "arbin_example.res").read_bytes()[:5000])
    result = run_pulse("import", str(damaged), env=pulse_env(tmp_path / "warehouse"), check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {damaged}: access-parser cannot read this Arbin RES file: ")


@pytest.mark.parametrize("name", ["arbin_example.res", "20160805_test001_45_cc_01.res"])
def test_charge_and_discharge_times_are_the_cyclers_own_summary(imported, name):
    """Arbin's Channel_Statistic_Table: at each cycle's last record, the time the cycle spent charging and
    discharging. The imported records of each cycle, by the sign of their current, add up to them."""
    warehouse, _ = imported
    database = AccessParser(str(ARBIN / name))
    summary = pandas.DataFrame(dict(database.parse_table("Channel_Statistic_Table")))
    found = dict(
        (cycle, (charging, discharging))
        for cycle, charging, discharging in rows(
            warehouse,
            """
            SELECT cycle_number, sum(seconds) FILTER ("current__A" > 0), sum(seconds) FILTER ("current__A" < 0)
            FROM (SELECT cycle_number, "current__A",
                         epoch("timestamp") - lag(epoch("timestamp")) OVER (ORDER BY record_number) AS seconds
                  FROM telemetry.pulse.telemetry WHERE test_id = ?)
            GROUP BY cycle_number
        """,
            [name.removesuffix(".res")],
        )
    )
    cycles = records(name).set_index("Data_Point")["Cycle_Index"]
    assert len(summary) >= 4
    for point, charging, discharging in summary[["Data_Point", "Charge_Time", "Discharge_Time"]].itertuples(
        index=False
    ):
        ours = found[cycles[point]]
        assert ours[0] == pytest.approx(charging, rel=1e-5) and ours[1] == pytest.approx(discharging, rel=1e-5)
