"""`pulse import` of BioLogic .mpr files: pulse's own MPR reader agrees with EC-Lab's text export of the same
recordings, column by column; the real recordings of examples/vendor/biologic import with the file's records and
steps, and capacities within 0.5 % of EC-Lab's own counter (`Q charge/discharge/mA.h`)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import numpy
import pandas
import pytest

from pulse_analytics import bdf
from pulse_analytics.bdf import mpr
from tests.conftest import REPO_ROOT, pulse_env, run_pulse
from tests.unit.bdf_support import rows

BIOLOGIC = REPO_ROOT / "examples" / "vendor" / "biologic"
EXPORTED = ("ca", "cp", "lsv", "ocv")  # with EC-Lab's text export beside them
CYCLING = ("jdb11-1_c3_gcpl_5cycles_2V-3p8V_C-24_data_C09.mpr", "00_test_04_MB_C01.mpr", "biol.mpr")


def ec_lab_export(name: str) -> tuple[pandas.DataFrame, datetime]:
    """EC-Lab's .mpt export: its columns and the acquisition's start."""
    text = (BIOLOGIC / f"{name}.mpt").read_text(encoding="latin-1")
    header_lines = int(re.search(r"Nb header lines : (\d+)", text).group(1))
    started = re.search(r"Acquisition started on : (\S+ \S+)", text).group(1)
    frame = pandas.read_csv(BIOLOGIC / f"{name}.mpt", sep="\t", skiprows=header_lines - 1, encoding="latin-1")
    return frame.loc[:, [column for column in frame.columns if not column.startswith("Unnamed")]], datetime.strptime(
        started, "%m/%d/%Y %H:%M:%S"
    )


@pytest.mark.parametrize("name", EXPORTED)
def test_the_reader_agrees_with_ec_labs_own_export(name):
    exported, started = ec_lab_export(name)
    read = mpr.read(BIOLOGIC / f"{name}.mpr")
    assert read.started == started
    assert set(read.columns) <= set(exported.columns)  # every column read is one EC-Lab exports, by its name
    for column, values in read.columns.items():
        assert len(values) == len(exported)
        if (name, column) == ("cp", "<Ewe>/V"):  # EC-Lab's export has the file's value on rows 1-4, then 0.0
            numpy.testing.assert_allclose(values[:4], exported[column][:4], rtol=1e-7)
            assert (exported[column][4:] == 0).all() and (values[4:] < -3.4).all()
        elif values.dtype.kind == "f":  # EC-Lab prints 8 significant digits of a float, 16 of a double
            digits = 1e-15 if values.dtype.itemsize == 8 else 1e-7
            numpy.testing.assert_allclose(values, exported[column], rtol=digits, atol=1e-30, err_msg=column)
        else:
            assert list(values) == list(exported[column]), column


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bdf.Report]]:
    warehouse = tmp_path_factory.mktemp("biologic")
    reports, errors = bdf.import_files([BIOLOGIC / name for name in CYCLING], bdf.Options(), warehouse)
    assert not errors, errors
    return warehouse, {report.path.name: report for report in reports}


def the_files_steps(name: str) -> pandas.DataFrame:
    """The file's steps as the reader gives them: runs of Ns, half cycle and mode, with their record counts."""
    read = pandas.DataFrame(mpr.read(BIOLOGIC / name).columns)
    keys = read[["Ns", "half cycle", "mode"]]
    return read.assign(step=(keys != keys.shift()).any(axis=1).cumsum()).groupby("step").size()


@pytest.mark.parametrize("name", CYCLING)
def test_records_and_steps_are_the_files(imported, name):
    warehouse, reports = imported
    expected = the_files_steps(name)
    found = rows(
        warehouse,
        "SELECT step_number, num_records FROM telemetry.pulse.statistics_step WHERE test_id = ? ORDER BY 1",
        [name.removesuffix(".mpr")],
    )
    assert reports[name].records == expected.sum() and not reports[name].repairs
    assert [count for _, count in found] == list(expected)


@pytest.mark.parametrize("name", CYCLING)
def test_capacities_are_ec_labs_own_counter_to_half_a_percent(imported, name):
    """EC-Lab's `Q charge/discharge/mA.h` runs from 0 through each half cycle: its last value is the half cycle's
    net charge, which the imported steps of that half cycle add up to."""
    warehouse, _ = imported
    found = rows(
        warehouse,
        """
        WITH step_half AS (
            SELECT step_number, min(auxiliary['half cycle']) AS half,
                   arg_max(auxiliary['Q charge/discharge/mA.h'], record_number) / 1000 AS counter
            FROM telemetry.pulse.telemetry WHERE test_id = $test GROUP BY step_number
        )
        SELECT half, sum("charge_capacity__Ah" - "discharge_capacity__Ah"), arg_max(counter, step_number)
        FROM telemetry.pulse.statistics_step JOIN step_half USING (step_number)
        WHERE test_id = $test GROUP BY half ORDER BY half
    """,
        {"test": name.removesuffix(".mpr")},
    )
    assert found
    for half, ours, counter in found:
        assert ours == pytest.approx(counter, rel=0.005, abs=1e-9), half


def test_a_gcpl_file_without_current_gets_it_from_its_charge(imported):
    """The GCPL file has no I/mA: the current is each record's charge over its interval, which is also how the
    file's own P/W reads (P = Ewe x I)."""
    warehouse, reports = imported
    name = CYCLING[0]
    assert "current_ampere: the file has no I/mA (a GCPL file): each record's charge over its interval" in (
        reports[name].derivations
    )
    (worst,) = rows(
        warehouse,
        """
        SELECT max(abs("current__A" * "voltage__V" - "power__W")) FROM telemetry.pulse.telemetry
        WHERE test_id = ? AND record_number > 1
    """,
        [name.removesuffix(".mpr")],
    )[0]
    assert worst < 1e-9  # watts; the cell is charged at about 0.09 mA, 0.2 to 0.3 mW


def test_timestamps_start_at_the_acquisitions_start(imported):
    warehouse, _ = imported
    first = rows(
        warehouse,
        "SELECT min(\"timestamp\") FROM telemetry.pulse.telemetry WHERE test_id = '00_test_04_MB_C01'",
    )[0][0]
    read = mpr.read(BIOLOGIC / "00_test_04_MB_C01.mpr")
    expected = read.started + timedelta(seconds=float(read.columns["time/s"][0]))
    assert abs((first - expected).total_seconds()) < 1e-3


def test_the_command_line_imports_an_mpr_file_and_refuses_a_damaged_one(tmp_path):
    result = run_pulse("import", str(BIOLOGIC / "ocv.mpr"), env=pulse_env(tmp_path / "warehouse"))
    assert "read: BioLogic MPR file read by pulse's MPR reader" in result.stdout
    assert "current_ampere: 0, the cell on open circuit (mode 3) throughout" in result.stdout
    damaged = tmp_path / "cut.mpr"
    damaged.write_bytes((BIOLOGIC / "cp.mpr").read_bytes()[:9000])
    result = run_pulse("import", str(damaged), env=pulse_env(tmp_path / "warehouse"), check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {damaged}: the file is cut short or damaged (module 'VMP data' at byte")
    other = tmp_path / "not.mpr"
    other.write_bytes(b"EC-Lab ASCII FILE\n" * 10)
    result = run_pulse("import", str(other), env=pulse_env(tmp_path / "warehouse"), check=False)
    assert f"error: {other}: not a BioLogic MPR file (it does not start with 'BIO-LOGIC MODULAR FILE')" in result.stderr
