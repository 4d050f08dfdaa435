"""Arbin .res files (MITS Pro's Microsoft Access database) as access-parser (Apache-2.0, pure Python) reads them,
mapped to BDF columns (docs/bdf.md, "Arbin").

The records are the rows of Channel_Normal_Table, in Data_Point order: test and step time in s, `DateTime` (the
cycler PC's local time as an OLE date, no zone: taken as UTC), current in A (positive on charge), voltage in V,
`Step_Index` (the program's step), `Cycle_Index`, and charge/discharge capacity (Ah) and energy (Wh) counters that
restart at each cycle. Auxiliary channels (Auxiliary_Table, one row per record and channel) are joined by Data_Point:
temperatures as `temperature_t<n>_celsius`, the others under their type and number.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pandas

from pulse_analytics.bdf.report import BdfError
from pulse_analytics.bdf.vendor import Recording, call

OLE_EPOCH_DAYS = 25569  # 1970-01-01 as an OLE automation date (days since 1899-12-30)
# Arbin's auxiliary data types (Aux_Global_Data_Table.Data_Type) -> BDF column of channel n (from 1)
AUXILIARY = {0: "auxiliary_voltage_{n}_volt", 1: "temperature_t{n}_celsius"}
# Channel_Normal_Table column -> BDF column
COLUMNS = {
    "Data_Point": "record_index",
    "Test_Time": "test_time_second",
    "Step_Time": "step_time_second",
    "Voltage": "voltage_volt",
    "Current": "current_ampere",
    "Cycle_Index": "cycle_count",
    "Step_Index": "step_id",
    "Charge_Capacity": "charging_capacity_ah",
    "Discharge_Capacity": "discharging_capacity_ah",
    "Charge_Energy": "charging_energy_wh",
    "Discharge_Energy": "discharging_energy_wh",
    "Internal_Resistance": "internal_resistance_ohm",
    "dV/dt": "dv_dt_volt_per_second",
    "AC_Impedance": "ac_impedance_ohm",
    "ACI_Phase_Angle": "ac_impedance_phase_degree",
}


def read(path: Path) -> Recording:
    from access_parser import AccessParser

    database = call(AccessParser, str(path))
    records = table(database, "Channel_Normal_Table")
    recording = Recording(pandas.DataFrame(), f"access-parser {version('access-parser')}")
    if records.empty:
        return recording
    tests = sorted(records["Test_ID"].unique())
    if len(tests) > 1:
        raise BdfError(f"{path}: the file holds {len(tests)} tests (Test_ID {tests}); pulse imports one test a file")
    records = records.sort_values("Data_Point", kind="stable").reset_index(drop=True)
    frame = pandas.DataFrame({bdf: records[arbin] for arbin, bdf in COLUMNS.items() if arbin in records})
    frame.insert(1, "unix_time_second", (records["DateTime"] - OLE_EPOCH_DAYS) * 86400.0)
    auxiliary = auxiliary_channels(table(database, "Auxiliary_Table"))
    recording.frame = frame.join(auxiliary, on="record_index") if not auxiliary.empty else frame
    recording.notes.append("timestamps: Arbin's DateTime has no zone: the cycler PC's clock, taken as UTC")
    return recording


def table(database: object, name: str) -> pandas.DataFrame:
    """A table of the database (access-parser gives an empty table's columns as empty strings)."""
    columns = call(database.parse_table, name)
    return pandas.DataFrame({key: list(values) for key, values in columns.items()})


def auxiliary_channels(table: pandas.DataFrame) -> pandas.DataFrame:
    """One column per auxiliary channel (data type and index), indexed by Data_Point."""
    if table.empty:
        return pandas.DataFrame()
    table = table.assign(
        column=[
            AUXILIARY.get(kind, "auxiliary_type{kind}_{n}").format(kind=kind, n=index + 1)
            for kind, index in zip(table["Data_Type"], table["Auxiliary_Index"], strict=True)
        ]
    )
    return table.pivot_table(index="Data_Point", columns="column", values="X", aggfunc="first")
