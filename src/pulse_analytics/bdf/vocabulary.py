"""The Battery Data Format's vocabulary as the importer reads it: each quantity's machine-readable name and label (its
unit fixed by the format), the names of earlier BDF versions, the quantities the importer uses itself, and the
`auxiliary` key every other one is kept under (docs/bdf.md, "Columns")."""

from __future__ import annotations

# BDF quantities: machine-readable name -> preferred label, as the BDF vocabulary (ontology 1.3.0) defines them.
# Units are fixed by the format. docs/bdf.md maps each to what it becomes, column by column.
QUANTITIES = {
    "test_time_second": "Test Time / s",
    "voltage_volt": "Voltage / V",
    "current_ampere": "Current / A",
    "unix_time_second": "Unix Time / s",
    "record_index": "Record Index / 1",
    "cycle_count": "Cycle Count / 1",
    "step_count": "Step Count / 1",
    "step_id": "Step ID",
    "step_record_index": "Step Record Index / 1",
    "step_type": "Step Type",
    "step_time_second": "Step Time / s",
    **{
        f"{scope}{kind}_{quantity}": f"{label_scope}{label_kind} {label} / {unit}"
        for scope, label_scope in (("", ""), ("step_", "Step "), ("cycle_", "Cycle "))
        for kind, label_kind in (
            ("charging", "Charging"),
            ("discharging", "Discharging"),
            ("net", "Net"),
            ("cumulative", "Cumulative"),
        )
        for quantity, label, unit in (("capacity_ah", "Capacity", "Ah"), ("energy_wh", "Energy", "Wh"))
    },
    **{
        f"schedule_{kind}_{quantity}": f"Schedule {label_kind} {label} / {unit}"
        for kind, label_kind in (("charging", "Charging"), ("discharging", "Discharging"))
        for quantity, label, unit in (("capacity_ah", "Capacity", "Ah"), ("energy_wh", "Energy", "Wh"))
    },
    "power_watt": "Power / W",
    "internal_resistance_ohm": "Internal Resistance / ohm",
    "dc_internal_resistance_ohm": "DC Internal Resistance / ohm",
    "ac_internal_resistance_ohm": "AC Internal Resistance / ohm",
    "ambient_temperature_celsius": "Ambient Temperature / degC",
    "surface_temperature_celsius": "Surface Temperature / degC",
    **{f"temperature_t{n}_celsius": f"Temperature T{n} / degC" for n in range(1, 6)},
    "ambient_pressure_pa": "Ambient Pressure / Pa",
    "applied_pressure_pa": "Applied Pressure / Pa",
    "surface_pressure_pa": "Surface Pressure / Pa",
}
# Names of earlier BDF versions, still read where their meaning is unambiguous: label -> machine name.
LEGACY_LABELS = {
    "Step Index / 1": "step_index",  # program step or record within a step: decided per file (step_boundary)
    "Step Capacity / Ah": "step_capacity_ah",
    "Step Energy / Wh": "step_energy_wh",
    **{f"Surface Temperature T{n} / degC": f"temperature_t{n}_celsius" for n in range(1, 6)},
}
LEGACY_NAMES = {"step_index", "step_capacity_ah", "step_energy_wh"}
# Machine names of the first BDF draft that carry another unit: name -> (BDF name, factor to multiply by).
UNIT_VARIANTS = {
    "test_time_millisecond": ("test_time_second", 1e-3),
    "date_time_millisecond": ("unix_time_second", 1e-3),
    "unix_time_millisecond": ("unix_time_second", 1e-3),
    "step_time_millisecond": ("step_time_second", 1e-3),
    "cycle_dimensionless": ("cycle_count", 1.0),
    "step_dimensionless": ("step_count", 1.0),
}
REQUIRED = ("test_time_second", "voltage_volt", "current_ampere")
INTEGERS = ("cycle_count", "step_count", "step_index", "step_record_index")
TEXT = ("step_id", "step_type")  # identifiers and labels: kept as text
COUNTERS = {  # cumulative cycler counters -> the per-record telemetry column they feed
    "charging_capacity_ah": "capacity_charged",
    "discharging_capacity_ah": "capacity_discharged",
    "charging_energy_wh": "energy_charged",
    "discharging_energy_wh": "energy_discharged",
}
# Quantities the importer uses itself; every other numeric column goes into `auxiliary`, under these keys (the
# bundle's quantity__unit style; the first surface sensor is the cell temperature, like the demo's) or its header.
USED = (*REQUIRED, "unix_time_second", "power_watt", *COUNTERS)
AUXILIARY_KEYS = {
    "temperature_t1_celsius": "temperature__C",
    **{f"temperature_t{n}_celsius": f"temperature_t{n}__C" for n in range(2, 6)},
    "ambient_temperature_celsius": "ambient_temperature__C",
    "surface_temperature_celsius": "surface_temperature__C",
    "internal_resistance_ohm": "internal_resistance__Ohm",
    "dc_internal_resistance_ohm": "dc_internal_resistance__Ohm",
    "ac_internal_resistance_ohm": "ac_internal_resistance__Ohm",
    "ambient_pressure_pa": "ambient_pressure__Pa",
    "applied_pressure_pa": "applied_pressure__Pa",
    "surface_pressure_pa": "surface_pressure__Pa",
    "step_time_second": "step_time__s",
    "step_capacity_ah": "step_capacity__Ah",
    "step_energy_wh": "step_energy__Wh",
    **{
        f"{scope}{kind}_{quantity}": f"{scope}{kind}_{quantity.split('_')[0]}__{unit}"
        for scope in ("", "step_", "cycle_", "schedule_")
        for kind in ("charging", "discharging", "net", "cumulative")
        for quantity, unit in (("capacity_ah", "Ah"), ("energy_wh", "Wh"))
    },
}
# Other spellings of units in labels (lower case) -> the BDF spelling.
UNIT_SPELLINGS = {"°c": "degc", "celsius": "degc", "deg c": "degc", "ω": "ohm"}
