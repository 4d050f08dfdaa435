"""Neware .nda / .ndax files as NewareNDA (BSD-3-Clause) reads them, mapped to BDF columns (docs/bdf.md, "Neware").

NewareNDA gives per record: the step time `Time`, a wall-clock `Timestamp`, current in mA and capacity/energy counters
in mAh/mWh that restart at each step. Its `Timestamp` is naive for the older layouts (the cycler's wall clock, no
zone: taken as UTC) and timezone-aware where the file stores instants (NDA version 130, NDAX files with a
data_runInfo.ndc): those are stored in UTC whatever zone NewareNDA converted them to, and the cycler's own UTC offset
is kept where the file says it (an NDAX file's TestInfo.xml StartTime, the cycler's local time of the first record).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from importlib.metadata import version
from pathlib import Path

import pandas

from pulse_analytics.bdf.vendor import ReaderFailed, Recording, call

QUARTER_HOUR = timedelta(minutes=15)
LARGEST_OFFSET = timedelta(hours=14)  # UTC-12:00 to UTC+14:00 are the zones in use


def read(path: Path) -> Recording:
    import NewareNDA

    frame = call(NewareNDA.read, str(path), log_level="WARNING")
    recording = Recording(pandas.DataFrame(), f"NewareNDA {version('NewareNDA')}")
    if frame.empty:
        return recording
    stamps, recording.metadata, recording.notes = utc_clock(path, frame["Timestamp"])
    recording.frame = columns(frame, stamps)
    return recording


def utc_clock(path: Path, stamps: pandas.Series) -> tuple[pandas.Series, dict[str, str], list[str]]:
    """The records' times as naive UTC, the cycler's UTC offset where the file says it, and the report's line."""
    if stamps.dt.tz is None:
        return stamps, {}, ["timestamps: NewareNDA's Timestamp has no zone: the cycler's clock, taken as UTC"]
    utc = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    offset = cycler_offset(path, utc.iloc[0])
    if offset is None:
        note = "the file does not say the cycler's UTC offset"
        return utc, {}, [f"timestamps: NewareNDA's Timestamp is timezone-aware: stored in UTC; {note}"]
    note = f"the cycler's clock ran at UTC{offset} (TestInfo.xml StartTime), kept in each record's metadata"
    return utc, {"utc_offset": offset}, [f"timestamps: NewareNDA's Timestamp is timezone-aware: stored in UTC; {note}"]


def cycler_offset(path: Path, first: pandas.Timestamp) -> str | None:
    """`+01:00` from an NDAX file's StartTime (the cycler's local time at the first record, whole seconds) and the
    first record's UTC time, when they differ by a whole quarter hour (within a minute) of at most 14 hours."""
    import NewareNDA

    if path.suffix.lower() != ".ndax":
        return None
    try:
        started = call(NewareNDA.read_metadata, str(path))["TestInfo"]["TestInfo"]["StartTime"]
        local = datetime.strptime(started, "%Y-%m-%d %H:%M:%S")
    except (ReaderFailed, KeyError, TypeError, ValueError):
        return None
    difference = local - first.to_pydatetime()
    offset = round(difference / QUARTER_HOUR) * QUARTER_HOUR
    if abs(difference - offset) > timedelta(minutes=1) or abs(offset) > LARGEST_OFFSET:
        return None
    minutes = int(offset.total_seconds()) // 60
    return f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def columns(frame: pandas.DataFrame, stamps: pandas.Series) -> pandas.DataFrame:
    """NewareNDA's columns as BDF's. Test time = the step's start (its first timestamp, but never before the previous
    step's end) + the step time; unix time = the timestamp."""
    step = frame["Step"]
    step_time = frame["Time"].astype("float64")
    clock = (stamps - stamps.iloc[0]).dt.total_seconds()
    starts = pandas.DataFrame(
        {"clock": clock.groupby(step, sort=False).first(), "length": step_time.groupby(step, sort=False).last()}
    )
    offsets, end = [], 0.0
    for clock_start, length in zip(starts["clock"], starts["length"], strict=True):
        offsets.append(max(clock_start, end))
        end = offsets[-1] + length
    start_of_step = step.map(dict(zip(starts.index, offsets, strict=True)))
    mapped = {
        "test_time_second": start_of_step + step_time - step_time.groupby(step, sort=False).transform("first"),
        "unix_time_second": (stamps - pandas.Timestamp(0)).dt.total_seconds(),
        "voltage_volt": frame["Voltage"].astype("float64"),
        "current_ampere": frame["Current(mA)"].astype("float64") / 1000,
        "cycle_count": frame["Cycle"].astype("int64"),
        "step_count": step.astype("int64"),
        "step_id": frame["Step_Index"].astype("int64"),
        "step_type": frame["Status"].astype(str),
        "charging_capacity_ah": frame["Charge_Capacity(mAh)"].astype("float64") / 1000,
        "discharging_capacity_ah": frame["Discharge_Capacity(mAh)"].astype("float64") / 1000,
        "charging_energy_wh": frame["Charge_Energy(mWh)"].astype("float64") / 1000,
        "discharging_energy_wh": frame["Discharge_Energy(mWh)"].astype("float64") / 1000,
    }
    for name in (str(column) for column in frame.columns if column not in NEWARE_COLUMNS):  # auxiliary channels
        key = f"temperature_t{name[1:]}_celsius" if name[:1] == "T" and name[1:].isdigit() else name
        mapped[key] = frame[name].astype("float64")
    return pandas.DataFrame(mapped)


# NewareNDA's record columns; any other column is an auxiliary channel (T1: a temperature, V1: a voltage, ...).
NEWARE_COLUMNS = (
    "Index",
    "Cycle",
    "Step",
    "Step_Index",
    "Status",
    "Time",
    "Voltage",
    "Current(mA)",
    "Charge_Capacity(mAh)",
    "Discharge_Capacity(mAh)",
    "Charge_Energy(mWh)",
    "Discharge_Energy(mWh)",
    "Timestamp",
)
