"""`pulse import` of Neware files: the real recordings of examples/vendor/neware, read by NewareNDA and imported as
BDF, keep the cycler's steps, cycles, labels, counters and clock (naive or timezone-aware)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import NewareNDA
import pandas
import pytest

from pulse_analytics import bdf
from tests.conftest import REPO_ROOT, pulse_env, run_pulse
from tests.unit.bdf_support import rows

NEWARE = REPO_ROOT / "examples" / "vendor" / "neware"
AWARE = "20260302_IFE_BTS85_2_9_8_1.ndax"  # NewareNDA returns timezone-aware timestamps for it
NAMES = ("test.nda", "test.ndax", AWARE)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bdf.Report]]:
    warehouse = tmp_path_factory.mktemp("vendor")
    reports = {}
    for name in NAMES:
        found, errors = bdf.import_files([NEWARE / name], bdf.Options(test_id=name), warehouse)
        assert not errors, errors
        reports[name] = found[0]
    return warehouse, reports


def steps_of(warehouse: Path, test_id: str) -> list[tuple]:
    return rows(
        warehouse,
        """
        SELECT step_number, cycle_number, step_type, json_extract_string(metadata, '$.step_type'), num_records,
               "charge_capacity__Ah", "discharge_capacity__Ah"
        FROM telemetry.pulse.statistics_step WHERE test_id = ? ORDER BY step_number
    """,
        [test_id],
    )


@pytest.mark.parametrize("name", NAMES)
def test_steps_cycles_labels_and_counters_are_the_cyclers(imported, name):
    warehouse, reports = imported
    frame = NewareNDA.read(str(NEWARE / name))
    by_step = frame.groupby("Step").agg(
        cycle=("Cycle", "first"),
        label=("Status", "first"),
        records=("Index", "count"),
        charged=("Charge_Capacity(mAh)", "max"),
        discharged=("Discharge_Capacity(mAh)", "max"),
    )
    found = steps_of(warehouse, name)
    assert len(found) == len(by_step) and reports[name].records == len(frame)
    kinds = {"Rest": "Rest", "Control": "Rest", "CC_Chg": "Charge", "CCCV_Chg": "Charge", "CV_Chg": "Charge"}
    kinds |= {"CC_DChg": "Discharge", "CCCV_DChg": "Discharge"}
    for (step, cycle, kind, label, records, charged, discharged), expected in zip(
        found, by_step.itertuples(), strict=True
    ):
        assert (step, cycle, label, records) == (expected.Index, expected.cycle, expected.label, expected.records)
        assert kind == kinds[expected.label]
        assert charged == pytest.approx(expected.charged / 1000, rel=1e-6, abs=1e-12)  # mAh -> Ah, per step
        assert discharged == pytest.approx(expected.discharged / 1000, rel=1e-6, abs=1e-12)
    assert (
        reports[name]
        .derivations[0]
        .startswith(f"read: Neware {name.rpartition('.')[2].upper()} file read by NewareNDA")
    )


def test_the_cyclers_clock_gives_the_timestamps(imported):
    warehouse, _ = imported
    first, last = rows(
        warehouse,
        """
        SELECT min("timestamp"), max("timestamp") FROM telemetry.pulse.telemetry WHERE test_id = 'test.nda'
    """,
    )[0]
    assert first == datetime(2020, 3, 25, 11, 16, 50)
    # the file's last record is stamped 11:28:52; test time comes from the step times, to the tenth of a second
    assert abs((last - datetime(2020, 3, 25, 11, 28, 52)).total_seconds()) < 1.5
    assert rows(
        warehouse,
        "SELECT DISTINCT json_extract_string(metadata, '$.file') FROM telemetry.pulse.telemetry "
        "WHERE test_id = 'test.nda'",
    ) == [("test.nda",)]


def test_the_command_line_imports_a_neware_file_and_names_it(tmp_path):
    result = run_pulse("import", str(NEWARE / "test.ndax"), env=pulse_env(tmp_path / "warehouse"))
    assert "imported test.ndax: test test on device bdf-import" in result.stdout
    assert "read: Neware NDAX file read by NewareNDA" in result.stdout


def test_a_damaged_neware_file_is_refused_naming_file_and_format(tmp_path):
    damaged = tmp_path / "cut.nda"
    damaged.write_bytes((NEWARE / "test.nda").read_bytes()[:600])
    result = run_pulse("import", str(damaged), env=pulse_env(tmp_path / "warehouse"), check=False)
    assert result.returncode == 1
    assert f"{damaged}: " in result.stderr and "Neware NDA" in result.stderr
    assert "Traceback" not in result.stderr


def test_timezone_aware_timestamps_are_stored_in_utc_with_the_cyclers_offset(tmp_path):
    """NewareNDA converts this file's instants to the reading machine's zone; pulse stores the same UTC times on any
    machine, and keeps the cycler's offset (UTC+01:00, from the file's TestInfo.xml) in each record's metadata."""
    frame = NewareNDA.read(str(NEWARE / AWARE))
    assert frame["Timestamp"].dt.tz is not None  # the case this test is about
    stored = []
    for zone in ("America/New_York", "Asia/Tokyo"):
        warehouse = tmp_path / zone.replace("/", "-")
        result = run_pulse("import", str(NEWARE / AWARE), env={**pulse_env(warehouse), "TZ": zone})
        assert "the cycler's clock ran at UTC+01:00 (TestInfo.xml StartTime)" in result.stdout
        stored.append(
            rows(
                warehouse,
                """
                SELECT min("timestamp"), max("timestamp"), list(DISTINCT json_extract_string(metadata, '$.utc_offset'))
                FROM telemetry.pulse.telemetry
            """,
            )[0]
        )
    assert stored[0] == stored[1]
    first, last, offsets = stored[0]
    assert first == datetime(2026, 2, 27, 10, 17, 33, 977000)  # the file's StartTime 11:17:33 is local, UTC+01:00
    utc = frame["Timestamp"].dt.tz_convert("UTC").dt.tz_localize(None)
    assert first == utc.iloc[0].to_pydatetime()
    # test time runs on the step times (the channel's timer): the last step starts at its first timestamp and lasts
    # its step time; the cycler PC's clock, set back now and then, is 12 s behind by the last record
    last_step = frame["Step"] == frame["Step"].iloc[-1]
    span = frame["Time"][last_step].iloc[-1] - frame["Time"][last_step].iloc[0]
    expected = utc[last_step].iloc[0] + pandas.Timedelta(seconds=float(span))
    assert abs((last - expected.to_pydatetime()).total_seconds()) < 1e-3
    assert round((last - utc.iloc[-1].to_pydatetime()).total_seconds()) == 12
    assert offsets == ["+01:00"]


def test_a_file_newarenda_cannot_read_is_refused_with_its_reason_told_as_newarendas(tmp_path):
    cut = tmp_path / "cut.nda"
    cut.write_bytes((NEWARE / "test.nda").read_bytes()[:600])
    result = run_pulse("import", str(cut), env=pulse_env(tmp_path / "warehouse"), check=False)
    assert result.returncode == 1 and result.stdout == ""
    # NewareNDA logs its reason and raises it; it is printed once, in pulse's refusal, as NewareNDA's
    assert result.stderr.splitlines()[0] == (
        f"error: {cut}: NewareNDA cannot read this Neware NDA file: File does not contain any valid records; check "
        f"that the file is complete and not damaged, or export it from the cycler's software as CSV"
    )
    assert result.stderr.count("valid records") == 1 and "Traceback" not in result.stderr
