"""Deterministic demo data for a small battery lab, written in the pulse-telemetry schema.

The lab: 7 cycler channels, 5 recipe versions, 10 cells; 13 tests. Two cells are tested twice on different channels,
one test has no recipe, one test (a channel check) has no part, one channel, one recipe and one cell have incomplete or
missing metadata, and one test starts with its cell half charged (its first cycle is a partial one, as on real cyclers
when a test is restarted). Cells fade with cycling (retention falls at a recipe-dependent rate, with cell-to-cell
spread), coulombic efficiency is a little under 1, and each record carries the cell temperature in `auxiliary`.

Every cycle is: constant-current charge, rest, constant-current discharge, rest. A Python step plan (small: one row per
step) is expanded into telemetry records by SQL in DuckDB, one test at a time, so memory stays bounded whatever the
size. Statistics are then derived from that telemetry by `statistics.summarise`, the same step every writer uses.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import duckdb

from pulse_analytics import config, statistics, warehouse
from pulse_analytics.errors import PulseError
from pulse_analytics.progress import Progress

STEPS_PER_CYCLE = 4
DEFAULT_ROWS = 300_000
DEFAULT_SEED = 42
LAB_START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Recipe:
    recipe_id: str
    name: str
    version: int
    charge_c_rate: float
    discharge_c_rate: float
    temperature: float | None
    rest_s: float
    fade: float  # fraction of capacity lost over the planned life of the cell


@dataclass(frozen=True)
class Part:
    part_id: str
    chemistry: str | None
    form_factor: str
    nominal_ah: float
    team: str  # who may see the cell (access/teams.yaml): the cylindrical cells' team or the pouch cells'


@dataclass(frozen=True)
class Test:
    device_id: str
    test_id: str
    part_id: str | None
    recipe_id: str | None  # None: the test is not mapped to a recipe
    life_share: tuple[float, float]  # which share of the part's planned life this test covers
    start_soc: float = 0.0  # state of charge the cell starts the test at: above 0, the first charge is a partial one


RECIPES = (
    Recipe("cc-1c-25c-v1", "CC 1C/1C 25 degC", 1, 1.0, 1.0, 25.0, 600.0, 0.14),
    Recipe("cc-1c-25c-v2", "CC 1C/1C 25 degC", 2, 1.0, 1.0, 25.0, 300.0, 0.11),
    Recipe("fast-2c-25c-v1", "Fast charge 2C/1C 25 degC", 1, 2.0, 1.0, 25.0, 600.0, 0.27),
    Recipe("hot-1c-45c-v1", "CC 1C/1C 45 degC", 1, 1.0, 1.0, 45.0, 600.0, 0.33),
    Recipe("gentle-05c-v1", "CC 0.5C/0.5C", 1, 0.5, 0.5, None, 900.0, 0.07),  # temperature not recorded
)
UNMAPPED_RECIPE = Recipe("(none)", "", 0, 1.0, 1.0, 25.0, 600.0, 0.15)

PARTS = tuple(
    Part(
        f"cell-{n:03d}",
        None if n == 6 else ("NMC811" if n <= 5 else "LFP"),
        "18650" if n <= 5 else "pouch",
        2.5 if n <= 5 else 5.0,
        "cylindrical" if n <= 5 else "pouch",
    )
    for n in range(1, 11)
)
PART_WITHOUT_METADATA = "cell-010"

DEVICES = (
    "maccor-01-ch01",
    "maccor-01-ch02",
    "maccor-01-ch03",
    "maccor-01-ch04",
    "arbin-02-ch01",
    "arbin-02-ch02",
    "arbin-02-ch03",
)
DEVICE_WITHOUT_METADATA = "arbin-02-ch03"

TESTS = (
    Test("maccor-01-ch01", "T0001", "cell-001", "cc-1c-25c-v1", (0.0, 1.0)),
    Test("maccor-01-ch02", "T0002", "cell-002", "cc-1c-25c-v2", (0.0, 1.0)),
    Test("maccor-01-ch03", "T0003", "cell-003", "fast-2c-25c-v1", (0.0, 1.0)),
    Test("maccor-01-ch04", "T0004", "cell-004", "fast-2c-25c-v1", (0.0, 1.0)),
    Test("arbin-02-ch01", "T0005", "cell-005", "hot-1c-45c-v1", (0.0, 1.0)),
    Test("arbin-02-ch02", "T0006", "cell-006", "cc-1c-25c-v2", (0.0, 1.0)),
    Test("arbin-02-ch03", "T0007", "cell-007", None, (0.0, 1.0)),
    Test("maccor-01-ch01", "T0008", "cell-008", "gentle-05c-v1", (0.0, 1.0)),
    Test("maccor-01-ch02", "T0009", "cell-009", "hot-1c-45c-v1", (0.0, 0.5)),
    Test("arbin-02-ch01", "T0010", "cell-009", "hot-1c-45c-v1", (0.5, 1.0)),
    Test("maccor-01-ch03", "T0011", "cell-010", "cc-1c-25c-v1", (0.0, 0.4)),
    Test("arbin-02-ch02", "T0012", "cell-010", "cc-1c-25c-v1", (0.4, 1.0), start_soc=0.5),
    Test("maccor-01-ch04", "T0013", None, "cc-1c-25c-v1", (0.0, 0.1)),  # a channel check on no part
)


@dataclass(frozen=True)
class Size:
    """How many cycles each full-life test runs and how many records each step has, for a target row count."""

    cycles_per_life: int
    records_per_step: int

    @classmethod
    def for_rows(cls, rows: int) -> Size:
        if rows < 1_000:
            raise PulseError(f"--rows {rows} is too small; the demo lab needs at least 1000 telemetry rows.")
        lives = sum(test.life_share[1] - test.life_share[0] for test in TESTS)
        cycles = min(max(round(rows / (lives * STEPS_PER_CYCLE * 50)), 4), 1000)
        records = max(round(rows / (lives * cycles * STEPS_PER_CYCLE)), 2)
        return cls(cycles, records)


def ocv_sql(soc: str) -> str:
    """Open-circuit voltage (V) of the demo cell at a state of charge (0..1), as SQL."""
    return f"(3.05 + 0.85 * {soc} + 0.25 * pow({soc}, 3) - 0.35 * exp(-15 * {soc}))"


def noise_sql(seed: int, salt: float) -> str:
    """Deterministic pseudo-random noise in [-1, 1] per record, as SQL."""
    x = f"sin(record_number * 12.9898 + {seed % 1000} * 78.233 + {salt}) * 43758.5453"
    return f"(2 * ({x} - floor({x})) - 1)"


# The cell's overpotential under load is current x resistance; when the load stops, all but this share of it goes at
# once (ohmic) and this share relaxes over minutes, so a resistance read at a load's edge sees the cell's resistance.
POLARISATION_SHARE = 0.3


def step_plan(test: Test, size: Size, seed_value: int, start: datetime) -> tuple[list[tuple], datetime]:
    """One row per step of the test: what the telemetry SQL expands into records. Returns the plan and the end time.

    The cell's own properties (capacity, fade, resistance) come from a generator seeded by the part, so a cell tested
    twice continues where its first test left off; cycle-to-cycle scatter comes from one seeded by the test.
    """
    cell = random.Random(f"{seed_value}/{test.part_id or test.test_id}")
    rng = random.Random(f"{seed_value}/{test.device_id}/{test.test_id}")
    recipe = next((r for r in RECIPES if r.recipe_id == test.recipe_id), UNMAPPED_RECIPE)
    part = next((p for p in PARTS if p.part_id == test.part_id), PARTS[0])
    capacity0 = part.nominal_ah * cell.uniform(0.98, 1.03)
    fade = recipe.fade * cell.uniform(0.85, 1.15)
    resistance0 = (0.045 if part.form_factor == "18650" else 0.012) * cell.uniform(0.9, 1.1)
    efficiency_loss = cell.uniform(0.0008, 0.0018)  # the cell's own coulombic inefficiency
    ambient = recipe.temperature if recipe.temperature is not None else 23.0
    first, last = (round(share * size.cycles_per_life) for share in test.life_share)
    plan = []
    clock = start.timestamp()
    step_number, record_offset = 0, 0
    for cycle_number, life_cycle in enumerate(range(first, max(last, first + 1)), start=1):
        progress = life_cycle / size.cycles_per_life
        retention = 1 - fade * (0.35 * math.sqrt(progress) + 0.65 * progress)
        capacity = capacity0 * retention
        efficiency = 1 - efficiency_loss - 0.002 * progress - rng.uniform(-0.00008, 0.00008)
        resistance = resistance0 * (1 + 0.6 * (1 - retention))  # grows as the cell fades
        relaxing = POLARISATION_SHARE * resistance  # the part of the overpotential that relaxes slowly after a load
        charge_a = recipe.charge_c_rate * part.nominal_ah
        discharge_a = -recipe.discharge_c_rate * part.nominal_ah
        charge_from = test.start_soc if cycle_number == 1 else 0.0
        steps = (  # step type, step id, current (A), duration (s), soc from, soc to, polarisation at start (V)
            ("Charge", 1, charge_a, capacity * (1 - charge_from) / efficiency / charge_a * 3600, charge_from, 1.0, 0.0),
            ("Rest", 0, 0.0, recipe.rest_s, 1.0, 1.0, charge_a * relaxing),
            ("Discharge", 2, discharge_a, capacity / -discharge_a * 3600, 1.0, 0.0, 0.0),
            ("Rest", 0, 0.0, recipe.rest_s, 0.0, 0.0, discharge_a * relaxing),
        )
        for step_type, step_id, current, duration, soc_from, soc_to, polarisation in steps:
            step_number += 1
            records = size.records_per_step
            plan.append(
                (
                    test.device_id,
                    test.test_id,
                    cycle_number,
                    step_number,
                    step_type,
                    step_id,
                    current,
                    duration / records,
                    records,
                    record_offset,
                    clock,
                    soc_from,
                    soc_to,
                    polarisation,
                    resistance,
                    ambient,
                    part.nominal_ah,
                )
            )
            record_offset += records
            clock += duration
    return plan, datetime.fromtimestamp(clock, tz=UTC)


PLAN_COLUMNS = """device_id VARCHAR, test_id VARCHAR, cycle_number INTEGER, step_number BIGINT, step_type VARCHAR,
    step_id INTEGER, current DOUBLE, dt DOUBLE, n_records INTEGER, record_offset BIGINT, start_epoch DOUBLE,
    soc_from DOUBLE, soc_to DOUBLE, polarisation DOUBLE, resistance DOUBLE, ambient DOUBLE, nominal_ah DOUBLE"""


def telemetry_sql(seed: int, metadata_json: str | None) -> str:
    """SELECT expanding the step plan (temp table `plan`) into telemetry records of one test."""
    soc = "(soc_from + (soc_to - soc_from) * k / n_records)"
    metadata = "NULL" if metadata_json is None else f"'{metadata_json}'"
    return f"""
    with records as (
        select plan.*, r.k, record_offset + r.k as record_number, r.k * dt as step_t
        from plan, range(1, plan.n_records + 1) r(k)
    ), measured as (
        select *,
            greatest(2.5, least(4.25, {ocv_sql(soc)} + current * resistance
                + polarisation * exp(-step_t / 120.0) + 0.0008 * {noise_sql(seed, 1.0)})) as voltage,
            ambient + 0.8 * abs(current) / nominal_ah * (1 - exp(-step_t / 900.0))
                + 0.05 * {noise_sql(seed, 2.0)} as temperature
        from records
    ), electrical as (
        select *,
            voltage * current as power,
            case when current > 0 then current * dt / 3600 else 0.0 end as charged,
            case when current < 0 then -current * dt / 3600 else 0.0 end as discharged,
            voltage - lag(voltage) over (order by record_number) as voltage_delta
        from measured
    )
    select
        device_id, test_id, cycle_number, step_number, step_type, step_id, record_number,
        make_timestamp(cast(round((start_epoch + step_t) * 1e6) as bigint)) as "timestamp",
        voltage as "voltage__V",
        current as "current__A",
        power as "power__W",
        dt as "duration__s",
        voltage_delta as "voltage_delta__V",
        current - lag(current) over (order by record_number) as "current_delta__A",
        power - lag(power) over (order by record_number) as "power_delta__W",
        charged as "capacity_charged__Ah",
        discharged as "capacity_discharged__Ah",
        case when charged > 0 and voltage_delta <> 0 then charged / voltage_delta end
            as "differential_capacity_charged__Ah_V",
        case when discharged > 0 and voltage_delta <> 0 then discharged / voltage_delta end
            as "differential_capacity_discharged__Ah_V",
        step_t as "step_duration__s",
        k * charged as "step_capacity_charged__Ah",
        k * discharged as "step_capacity_discharged__Ah",
        sum(case when power > 0 then power * dt / 3600 else 0.0 end) over step_so_far as "step_energy_charged__Wh",
        sum(case when power < 0 then -power * dt / 3600 else 0.0 end) over step_so_far as "step_energy_discharged__Wh",
        map(['temperature__C'], [round(temperature, 3)]) as auxiliary,
        {metadata} as metadata,
        make_timestamp(cast(round((start_epoch + step_t + 300) * 1e6) as bigint)) as update_ts
    from electrical
    window step_so_far as (partition by step_number order by k rows between unbounded preceding and current row)
    """


def write_metadata(connection: duckdb.DuckDBPyConnection, tables: dict[str, str]) -> None:
    """Replace the demo lab's rows in the five metadata tables (rows of other ids are kept)."""
    rng = random.Random(7)
    devices = [
        (
            d,
            d.split("-")[0].title(),
            "Series 4000" if d.startswith("maccor") else "LBT21084",
            int(d[-2:]),
            None if d == "arbin-02-ch02" else "Lab A, bay " + d[-1],
            None if d == "arbin-02-ch02" else date(2026, 1, rng.randint(5, 28)),
        )
        for d in DEVICES
        if d != DEVICE_WITHOUT_METADATA
    ]
    recipes = [
        (r.recipe_id, r.name, r.version, r.charge_c_rate, r.discharge_c_rate, r.temperature, 4.2, 2.5, r.rest_s)
        for r in RECIPES
    ]
    parts = [
        (
            p.part_id,
            "Acme Cells" if p.chemistry != "LFP" else "Volta Pouch Co.",
            p.chemistry,
            p.form_factor,
            p.nominal_ah,
            f"B{(int(p.part_id[-3:]) - 1) // 4 + 1:02d}",
            p.team,
        )
        for p in PARTS
        if p.part_id != PART_WITHOUT_METADATA
    ]
    test_recipes = [(t.device_id, t.test_id, t.recipe_id) for t in TESTS if t.recipe_id]
    test_parts = [(t.device_id, t.test_id, t.part_id) for t in TESTS if t.part_id]
    rows = {
        "device_metadata": ("device_id", DEVICES, devices),
        "recipe_metadata": ("recipe_id", [r.recipe_id for r in RECIPES], recipes),
        "part_metadata": ("part_id", [p.part_id for p in PARTS], parts),
        "device_test_recipe": ("test_id", [t.test_id for t in TESTS], test_recipes),
        "device_test_part": ("test_id", [t.test_id for t in TESTS], test_parts),
    }
    for name, (key, ids, values) in rows.items():
        connection.execute(f"DELETE FROM {tables[name]} WHERE {key} IN (SELECT unnest(?))", [list(ids)])
        if values:
            marks = ", ".join("?" * len(values[0]))
            connection.executemany(f"INSERT INTO {tables[name]} VALUES ({marks})", values)


def seed(rows: int = DEFAULT_ROWS, seed_value: int = DEFAULT_SEED) -> int:
    """Write the demo lab into the warehouse's telemetry and metadata catalogs. Returns the telemetry rows written."""
    size = Size.for_rows(rows)
    started = time.monotonic()
    connection = warehouse.connect_sources()
    warehouse.create_source_tables(connection)
    tables = {table.name: warehouse.quoted(table) for table in config.source_tables()}
    progress = Progress("seed", total=len(TESTS))
    written = 0
    part_end: dict[str, datetime] = {}
    try:
        # DuckDB writes one attached database per transaction: metadata first, then telemetry.
        with warehouse.transaction(connection):
            write_metadata(connection, tables)
        with warehouse.transaction(connection):
            for name in ("telemetry", "statistics_step", "statistics_cycle"):
                connection.execute(
                    f"DELETE FROM {tables[name]} WHERE test_id IN (SELECT unnest(?))", [[t.test_id for t in TESTS]]
                )
            for index, test in enumerate(TESTS):
                start = part_end.get(test.part_id or "", LAB_START + timedelta(hours=7 * index))
                plan, end = step_plan(test, size, seed_value, start)
                if test.part_id:
                    part_end[test.part_id] = end + timedelta(days=2)
                connection.execute(f"CREATE OR REPLACE TEMP TABLE plan ({PLAN_COLUMNS})")
                connection.executemany(f"INSERT INTO plan VALUES ({', '.join('?' * 17)})", plan)
                metadata_json = None if index % 3 else f'{{"operator": "op-{index % 4 + 1}", "firmware": "4.{index}"}}'
                telemetry = telemetry_sql(seed_value, metadata_json)
                connection.execute(f"INSERT INTO {tables['telemetry']} BY NAME {telemetry}")
                statistics.summarise(connection, [(test.device_id, test.test_id)])
                written += sum(step[8] for step in plan)
                progress.advance(f"{test.test_id} on {test.device_id}: {len(plan) // STEPS_PER_CYCLE} cycles")
    finally:
        connection.close()
    seconds = time.monotonic() - started
    print(
        f"seed: wrote {written:,} telemetry rows, {len(TESTS)} tests, {len(PARTS)} parts, {len(DEVICES)} devices "
        f"to {config.warehouse_dir()} in {seconds:.1f} s (seed {seed_value})"
    )
    return written
