"""The demo generator: the pulse-telemetry schema exactly, deterministic, consistent with its statistics."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pulse_analytics import generate
from pulse_analytics.errors import PulseError

# pulse-telemetry 0.1.1's telemetry schema (Spark types: String, Integer, Long, Timestamp, Double, Map).
PULSE_TELEMETRY_COLUMNS = [
    ("device_id", "VARCHAR"),
    ("test_id", "VARCHAR"),
    ("cycle_number", "INTEGER"),
    ("step_number", "BIGINT"),
    ("step_type", "VARCHAR"),
    ("step_id", "INTEGER"),
    ("record_number", "BIGINT"),
    ("timestamp", "TIMESTAMP"),
    ("voltage__V", "DOUBLE"),
    ("current__A", "DOUBLE"),
    ("power__W", "DOUBLE"),
    ("duration__s", "DOUBLE"),
    ("voltage_delta__V", "DOUBLE"),
    ("current_delta__A", "DOUBLE"),
    ("power_delta__W", "DOUBLE"),
    ("capacity_charged__Ah", "DOUBLE"),
    ("capacity_discharged__Ah", "DOUBLE"),
    ("differential_capacity_charged__Ah_V", "DOUBLE"),
    ("differential_capacity_discharged__Ah_V", "DOUBLE"),
    ("step_duration__s", "DOUBLE"),
    ("step_capacity_charged__Ah", "DOUBLE"),
    ("step_capacity_discharged__Ah", "DOUBLE"),
    ("step_energy_charged__Wh", "DOUBLE"),
    ("step_energy_discharged__Wh", "DOUBLE"),
    ("auxiliary", "MAP(VARCHAR, DOUBLE)"),
    ("metadata", "VARCHAR"),
    ("update_ts", "TIMESTAMP"),
]


def seeded(directory: Path, monkeypatch: pytest.MonkeyPatch, rows: int, seed: int) -> duckdb.DuckDBPyConnection:
    monkeypatch.setenv("PULSE_ANALYTICS_WAREHOUSE_DIR", str(directory))
    generate.seed(rows=rows, seed_value=seed)
    return duckdb.connect(str(directory / "telemetry.duckdb"), read_only=True)


def fingerprint(connection: duckdb.DuckDBPyConnection) -> tuple:
    return connection.execute(
        # rounded: parallel float sums differ in their last bits from run to run
        'select count(*), round(sum("voltage__V"), 6), round(sum("current__A" * record_number), 6), max("timestamp"), '
        "round(sum(auxiliary['temperature__C']), 6) from pulse.telemetry"
    ).fetchone()


def test_schema_is_pulse_telemetry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    connection = seeded(tmp_path, monkeypatch, 2_000, 1)
    columns = connection.execute(
        "select column_name, data_type from duckdb_columns() where table_name = 'telemetry' order by column_index"
    ).fetchall()
    assert columns == PULSE_TELEMETRY_COLUMNS


def test_same_seed_same_data_other_seed_other_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = fingerprint(seeded(tmp_path / "a", monkeypatch, 5_000, 3))
    again = fingerprint(seeded(tmp_path / "b", monkeypatch, 5_000, 3))
    other = fingerprint(seeded(tmp_path / "c", monkeypatch, 5_000, 4))
    assert first == again
    assert first != other


def test_reseeding_replaces_the_demo_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seeded(tmp_path, monkeypatch, 3_000, 1).close()
    connection = seeded(tmp_path, monkeypatch, 3_000, 1)
    assert connection.execute("select count(*) from pulse.telemetry").fetchone()[0] == pytest.approx(3_000, rel=0.3)
    duplicates = connection.execute(
        "select count(*) from (select device_id, test_id, record_number "
        "from pulse.telemetry group by all having count(*) > 1)"
    ).fetchone()[0]
    assert duplicates == 0


def test_row_target_and_statistics_agree_with_telemetry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    connection = seeded(tmp_path, monkeypatch, 50_000, 2)
    assert connection.execute("select count(*) from pulse.telemetry").fetchone()[0] == pytest.approx(50_000, rel=0.1)
    mismatches = connection.execute("""
        select count(*) from pulse.statistics_step s
        join (select device_id, test_id, step_number, sum("capacity_charged__Ah") as charged,
                     sum("capacity_discharged__Ah") as discharged, count(*) as n
              from pulse.telemetry group by all) t using (device_id, test_id, step_number)
        where abs(s."charge_capacity__Ah" - t.charged) > 1e-9 or abs(s."discharge_capacity__Ah" - t.discharged) > 1e-9
           or s.num_records <> t.n
    """).fetchone()[0]
    assert mismatches == 0
    ratio = '"discharge_capacity__Ah" / "charge_capacity__Ah"'
    half_charged_start = [(test.test_id, 1) for test in generate.TESTS if test.start_soc > 0]
    keys = ", ".join(f"('{test_id}', {cycle})" for test_id, cycle in half_charged_start)
    ce = connection.execute(
        f"select min({ratio}), max({ratio}) from pulse.statistics_cycle where (test_id, cycle_number) not in ({keys})"
    ).fetchone()
    assert 0.99 < ce[0] <= ce[1] < 1.0
    first_cycle = connection.execute(
        f"select {ratio} from pulse.statistics_cycle where (test_id, cycle_number) in ({keys})"
    ).fetchall()
    assert [row[0] for row in first_cycle] == [pytest.approx(2.0, abs=0.01)]  # half charged in, a full discharge out
    temperatures = connection.execute(
        "select min(auxiliary['temperature__C']), max(auxiliary['temperature__C']) from pulse.telemetry"
    ).fetchone()
    assert 20 < temperatures[0] < temperatures[1] < 60


def test_too_few_rows_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PulseError, match="--rows 10 is too small"):
        seeded(tmp_path, monkeypatch, 10, 1)
