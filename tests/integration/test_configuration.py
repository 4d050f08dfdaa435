"""Sources move by configuration alone; metadata columns flow into the marts without a model edit."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.conftest import Warehouse, pulse_env, run_pulse


def test_source_table_renamed_by_configuration(warehouse_copy: Path) -> None:
    connection = duckdb.connect(str(warehouse_copy / "metadata.duckdb"))
    connection.execute("alter table pulse.part_metadata rename to cells")
    connection.close()
    failed = run_pulse("build", env=pulse_env(warehouse_copy), check=False)
    assert failed.returncode != 0
    assert "metadata.pulse.part_metadata (part_metadata) does not exist" in failed.stdout + failed.stderr
    run_pulse("build", env=pulse_env(warehouse_copy, PART_METADATA_TABLE="cells"))
    rows = Warehouse("duckdb", warehouse_copy).query(
        "select count(distinct pm__part_id) from analytics.pulse.part_statistics_cycle"
    )
    assert rows == [(9,)]  # ten cells, one without metadata


def test_new_metadata_column_appears_after_next_build(warehouse_copy: Path) -> None:
    connection = duckdb.connect(str(warehouse_copy / "metadata.duckdb"))
    connection.execute("alter table pulse.device_metadata add column firmware varchar")
    connection.execute("update pulse.device_metadata set firmware = 'v9.1' where device_id = 'maccor-01-ch01'")
    connection.close()
    run_pulse("build", env=pulse_env(warehouse_copy))
    warehouse = Warehouse("duckdb", warehouse_copy)
    for mart in ("test_telemetry", "test_statistics_cycle", "part_statistics_step"):
        assert "dm__firmware" in warehouse.columns(f"analytics.pulse.{mart}")
    rows = warehouse.query(
        "select distinct dm__firmware from analytics.pulse.test_statistics_cycle where device_id = 'maccor-01-ch01'"
    )
    assert rows == [("v9.1",)]
