"""Cyclers' own file formats: read by a maintained reader library, written as a BDF file, imported as one.

The reading is the library's; this module only maps its columns to the Battery Data Format (docs/bdf.md, "Cyclers'
own formats"), so that every check, repair and derivation of the BDF importer applies unchanged. A format is listed
in READERS only when a real file of it is tested (tests/integration/test_vendor_files.py, examples/vendor/).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

import pandas

from pulse_analytics.bdf.files import NATIVE_FORMATS, sidecar_path
from pulse_analytics.bdf.report import BdfError


def neware(path: Path) -> tuple[pandas.DataFrame, str]:
    """A Neware .nda / .ndax file through NewareNDA (BSD-3-Clause). NewareNDA gives per step: the step time `Time`,
    a wall-clock `Timestamp` (whole seconds), current in mA and capacity/energy counters in mAh/mWh that restart at
    each step. Test time = the step's start (its first timestamp, but never before the previous step's end) + the
    step time; unix time = the timestamp (the cycler's clock, taken as UTC)."""
    import NewareNDA

    frame = NewareNDA.read(str(path))
    if frame.empty:
        raise BdfError(f"{path}: NewareNDA read no records from the file")
    step = frame["Step"]
    step_time = frame["Time"].astype("float64")
    clock = (frame["Timestamp"] - frame["Timestamp"].iloc[0]).dt.total_seconds()
    starts = pandas.DataFrame(
        {"clock": clock.groupby(step, sort=False).first(), "length": step_time.groupby(step, sort=False).last()}
    )
    offsets, end = [], 0.0
    for clock_start, length in zip(starts["clock"], starts["length"], strict=True):
        offsets.append(max(clock_start, end))
        end = offsets[-1] + length
    start_of_step = step.map(dict(zip(starts.index, offsets, strict=True)))
    columns = {
        "test_time_second": start_of_step + step_time - step_time.groupby(step, sort=False).transform("first"),
        "unix_time_second": (frame["Timestamp"] - pandas.Timestamp(0)).dt.total_seconds(),
        "voltage_volt": frame["Voltage"].astype("float64"),
        "current_ampere": frame["Current(mA)"].astype("float64") / 1000,
        "cycle_count": frame["Cycle"],
        "step_count": step,
        "step_id": frame["Step_Index"],
        "step_type": frame["Status"].astype(str),
        "charging_capacity_ah": frame["Charge_Capacity(mAh)"].astype("float64") / 1000,
        "discharging_capacity_ah": frame["Discharge_Capacity(mAh)"].astype("float64") / 1000,
        "charging_energy_wh": frame["Charge_Energy(mWh)"].astype("float64") / 1000,
        "discharging_energy_wh": frame["Discharge_Energy(mWh)"].astype("float64") / 1000,
    }
    for column in frame.columns:  # auxiliary temperatures, where the file has them
        if str(column).startswith("T") and str(column)[1:].isdigit():
            columns[f"temperature_t{column[1:]}_celsius"] = frame[column].astype("float64")
    return pandas.DataFrame(columns), f"NewareNDA {version('NewareNDA')}"


# suffix (files.NATIVE_FORMATS) -> reader returning the BDF columns and the reader's name
READERS: dict[str, Callable[[Path], tuple[pandas.DataFrame, str]]] = {".nda": neware, ".ndax": neware}


def reads(path: Path) -> bool:
    return path.suffix.lower() in READERS


def stem(path: Path) -> str:
    return path.name[: -len(path.suffix)]


@contextmanager
def as_bdf(path: Path, folder: Path) -> Iterator[tuple[Path, str]]:
    """The file converted to `<folder>/<stem>.bdf.csv` (with its sidecar, if it has one, beside it), and a line for
    the report saying what read it. The converted file is removed afterwards."""
    kind, reader = NATIVE_FORMATS[path.suffix.lower()], READERS[path.suffix.lower()]
    try:
        frame, reader_name = reader(path)
    except BdfError:
        raise
    except Exception as error:  # the library's own error: name the file, the format and the library
        raise BdfError(
            f"{path}: could not be read as a {kind} file ({type(error).__name__}: {error}); check "
            f"that the file is complete, or export it as CSV from the cycler's software"
        ) from error
    converted = folder / f"{stem(path)}.bdf.csv"
    frame.to_csv(converted, index=False)
    sidecar = sidecar_path(path.with_name(stem(path) + ".bdf.csv"))
    if sidecar.exists():
        shutil.copyfile(sidecar, sidecar_path(converted))
    try:
        yield converted, f"read: {kind} file read by {reader_name}, columns mapped to BDF (docs/bdf.md)"
    finally:
        converted.unlink(missing_ok=True)
        sidecar_path(converted).unlink(missing_ok=True)
