"""BioLogic .mpr files as pulse's own reader (bdf/mpr.py) reads them, mapped to BDF columns (docs/bdf.md, "BioLogic").

EC-Lab's columns: `time/s` since the acquisition started (the LOG module's date, the PC's local time, no zone: taken
as UTC), `Ewe/V`, `I/mA` (or `<I>/mA`; a GCPL file has neither: its current is each record's charge `dq/mA.h` over
the time since the record before, which is how EC-Lab's own `P/W` of such a file reads), the sequence `Ns`, the
`mode` (1 galvanostatic, 2 potentiostatic, 3 rest), `half cycle`, `cycle number` where the technique writes it, and
per-record charge increments (`dq/mA.h`, `dQ/mA.h` or `dQ/C`; else the running `(Q-Qo)`), from which the charge and
discharge counters are summed. Every other column (`Ns`, `half cycle`, `Q charge/discharge/mA.h`, ...) is kept in
auxiliary under EC-Lab's name; the flags (`mode` but as the step type, `ox/red`, `error`, ...) are left out.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy
import pandas

from pulse_analytics.bdf import mpr
from pulse_analytics.bdf.report import BdfError
from pulse_analytics.bdf.vendor import Recording

UNIX_ZERO = datetime(1970, 1, 1)
MODES = {1: "CC", 2: "CV", 3: "Rest"}  # EC-Lab's mode: galvanostatic, potentiostatic, open circuit
# per-record charge increments, or running charge (differenced), in Ah per unit
INCREMENTS = {"dq/mA.h": 1e-3, "dQ/mA.h": 1e-3, "dQ/C": 1 / 3600}
RUNNING = {"(Q-Qo)/mA.h": 1e-3, "(Q-Qo)/C": 1 / 3600}
USED = {
    "time/s",
    "Ewe/V",
    "<Ewe>/V",
    "I/mA",
    "<I>/mA",
    "mode",
    "cycle number",
    "P/W",
    "Energy charge/W.h",
    "Energy discharge/W.h",
    "Temperature/°C",
    *INCREMENTS,
    *RUNNING,
    *(name for name, _ in mpr.FLAGS.values()),
}


def read(path: Path) -> Recording:
    recording = Recording(pandas.DataFrame(), "pulse's MPR reader")
    read_file = mpr.read(path)
    table = pandas.DataFrame({name: values.astype("float64") for name, values in read_file.columns.items()})
    if table.empty:
        return recording
    voltage = first_of(table, "Ewe/V", "<Ewe>/V")
    if voltage is None or "time/s" not in table:
        raise BdfError(f"{path}: the file has no time and voltage (time/s, Ewe/V); its columns: {', '.join(table)}")
    if read_file.started is None:
        raise BdfError(f"{path}: the file's LOG module gives no start of the acquisition; give --start-time")
    charge = charge_increments(table)
    current, recording.notes = current_of(path, table, charge)
    frame = pandas.DataFrame(
        {
            "test_time_second": table["time/s"],
            "unix_time_second": (read_file.started - UNIX_ZERO).total_seconds() + table["time/s"],
            "voltage_volt": voltage,
            "current_ampere": current,
        }
    )
    add_steps(frame, table)
    if charge is not None:
        frame["charging_capacity_ah"] = charge.clip(lower=0).cumsum()
        frame["discharging_capacity_ah"] = (-charge).clip(lower=0).cumsum()
    for name, bdf in (("Energy charge/W.h", "charging_energy_wh"), ("Energy discharge/W.h", "discharging_energy_wh")):
        if name in table:
            frame[bdf] = table[name]
    for name, bdf in (("P/W", "power_watt"), ("Temperature/°C", "temperature_t1_celsius")):
        if name in table:
            frame[bdf] = table[name]
    for name in table.columns.difference(sorted(USED), sort=False):
        frame[name] = table[name]
    recording.notes.append("timestamps: the MPR file's start of the acquisition has no zone: the PC's clock, as UTC")
    recording.frame = frame
    return recording


def first_of(table: pandas.DataFrame, *names: str) -> pandas.Series | None:
    return next((table[name] for name in names if name in table), None)


def charge_increments(table: pandas.DataFrame) -> pandas.Series | None:
    """Each record's charge in Ah (positive on charge): the file's increments, else its running charge differenced."""
    for name, factor in INCREMENTS.items():
        if name in table:
            return table[name] * factor
    for name, factor in RUNNING.items():
        if name in table:
            return (table[name] * factor).diff().fillna(0.0)
    return None


def current_of(path: Path, table: pandas.DataFrame, charge: pandas.Series | None) -> tuple[pandas.Series, list[str]]:
    measured = first_of(table, "I/mA", "<I>/mA")
    if measured is not None:
        return measured / 1000, []
    if charge is None and "mode" in table and (table["mode"] == 3).all():
        return pandas.Series(0.0, index=table.index), [
            "current_ampere: 0, the cell on open circuit (mode 3) throughout"
        ]
    if charge is None:
        raise BdfError(f"{path}: the file has no current (I/mA, <I>/mA) and no charge to derive it from")
    interval = table["time/s"].diff()
    current = (charge * 3600 / interval.where(interval > 0)).fillna(0.0)
    return current, ["current_ampere: the file has no I/mA (a GCPL file): each record's charge over its interval"]


def add_steps(frame: pandas.DataFrame, table: pandas.DataFrame) -> None:
    """step_id (Ns), step_type (the mode) and step_count (a new step where Ns, the half cycle or the mode changes);
    cycle_count where the file has a cycle number."""
    keys = [name for name in ("Ns", "half cycle", "mode") if name in table]
    if keys:
        changed = (table[keys] != table[keys].shift()).any(axis=1)
        frame["step_count"] = changed.cumsum()
    if "Ns" in table:
        frame["step_id"] = table["Ns"].astype("int64")
    if "mode" in table:
        frame["step_type"] = [MODES.get(int(mode), f"mode {int(mode)}") for mode in numpy.asarray(table["mode"])]
    if "cycle number" in table:
        frame["cycle_count"] = table["cycle number"].astype("int64")
