"""The embedded warehouse: one DuckDB file per Trino catalog, in one folder.

`telemetry.duckdb` and `metadata.duckdb` hold the source tables; `analytics.duckdb` holds only the views dbt builds.
A connection to the analytics file sees the other two through ATTACH (read-only), under their catalog names, exactly
as Trino would show them. DuckDB does not remember attachments, so every connection attaches again: `connect()` here,
dbt's profile, and Superset's connect hook all do the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pulse_analytics import config
from pulse_analytics.errors import PulseError

# The pulse-telemetry 0.1.1 schemas, column for column (Spark types mapped to DuckDB/Trino types).
IDENTIFIERS = """
    device_id VARCHAR NOT NULL,
    test_id VARCHAR NOT NULL,
    cycle_number INTEGER NOT NULL,
"""
STEP_IDENTIFIERS = """
    step_number BIGINT NOT NULL,
    step_type VARCHAR,
    step_id INTEGER,
"""
TELEMETRY_COLUMNS = (
    IDENTIFIERS
    + STEP_IDENTIFIERS
    + """
    record_number BIGINT NOT NULL,
    "timestamp" TIMESTAMP NOT NULL,
    "voltage__V" DOUBLE NOT NULL,
    "current__A" DOUBLE NOT NULL,
    "power__W" DOUBLE NOT NULL,
    "duration__s" DOUBLE NOT NULL,
    "voltage_delta__V" DOUBLE,
    "current_delta__A" DOUBLE,
    "power_delta__W" DOUBLE,
    "capacity_charged__Ah" DOUBLE NOT NULL,
    "capacity_discharged__Ah" DOUBLE NOT NULL,
    "differential_capacity_charged__Ah_V" DOUBLE,
    "differential_capacity_discharged__Ah_V" DOUBLE,
    "step_duration__s" DOUBLE NOT NULL,
    "step_capacity_charged__Ah" DOUBLE NOT NULL,
    "step_capacity_discharged__Ah" DOUBLE NOT NULL,
    "step_energy_charged__Wh" DOUBLE NOT NULL,
    "step_energy_discharged__Wh" DOUBLE NOT NULL,
    auxiliary MAP(VARCHAR, DOUBLE),
    metadata VARCHAR,
    update_ts TIMESTAMP NOT NULL
"""
)
STATISTICS_COLUMNS = """
    start_time TIMESTAMP NOT NULL,
    end_time TIMESTAMP NOT NULL,
    "duration__s" DOUBLE NOT NULL,
    "start_voltage__V" DOUBLE NOT NULL,
    "end_voltage__V" DOUBLE NOT NULL,
    "min_voltage__V" DOUBLE NOT NULL,
    "max_voltage__V" DOUBLE NOT NULL,
    "time_averaged_voltage__V" DOUBLE NOT NULL,
    "start_current__A" DOUBLE NOT NULL,
    "end_current__A" DOUBLE NOT NULL,
    "min_charge_current__A" DOUBLE,
    "min_discharge_current__A" DOUBLE,
    "max_charge_current__A" DOUBLE,
    "max_discharge_current__A" DOUBLE,
    "time_averaged_current__A" DOUBLE NOT NULL,
    "start_power__W" DOUBLE NOT NULL,
    "end_power__W" DOUBLE NOT NULL,
    "min_charge_power__W" DOUBLE,
    "min_discharge_power__W" DOUBLE,
    "max_charge_power__W" DOUBLE,
    "max_discharge_power__W" DOUBLE,
    "time_averaged_power__W" DOUBLE NOT NULL,
    "charge_capacity__Ah" DOUBLE NOT NULL,
    "discharge_capacity__Ah" DOUBLE NOT NULL,
    "charge_energy__Wh" DOUBLE NOT NULL,
    "discharge_energy__Wh" DOUBLE NOT NULL,
    "max_voltage_delta__V" DOUBLE NOT NULL,
    "max_current_delta__A" DOUBLE NOT NULL,
    "max_power_delta__W" DOUBLE NOT NULL,
    "max_duration__s" DOUBLE NOT NULL,
    num_records BIGINT NOT NULL,
    auxiliary MAP(VARCHAR, DOUBLE),
    metadata VARCHAR,
    update_ts TIMESTAMP NOT NULL
"""
STATISTICS_STEP_COLUMNS = IDENTIFIERS + STEP_IDENTIFIERS + STATISTICS_COLUMNS
STATISTICS_CYCLE_COLUMNS = IDENTIFIERS + STATISTICS_COLUMNS


def catalog_path(catalog: str, warehouse_dir: Path | None = None) -> Path:
    """The DuckDB file standing in for a Trino catalog: its file stem is the catalog name."""
    return (warehouse_dir or config.warehouse_dir()) / f"{catalog}.duckdb"


def source_catalogs() -> list[str]:
    """The catalogs dbt reads (telemetry and metadata may be one catalog)."""
    return list(dict.fromkeys([config.get("TELEMETRY_CATALOG"), config.get("METADATA_CATALOG")]))


def attach_statements(warehouse_dir: Path | None = None) -> list[str]:
    """ATTACH statements that make the source catalogs visible, read-only, to a connection on the analytics file."""
    statements = []
    for catalog in source_catalogs():
        path = catalog_path(catalog, warehouse_dir)
        statements.append(f"ATTACH IF NOT EXISTS '{path}' AS \"{catalog}\" (READ_ONLY)")
    return statements


# What a reader of the warehouse may do once its catalogs are attached: read them, and nothing else on the host. No
# file is read or written (COPY, read_csv, read_text, glob, EXPORT), nothing new is attached, no extension is installed
# or loaded, and the settings are locked so a query cannot turn this back on. Attachments made before stay readable.
LOCKDOWN_STATEMENTS = ("SET enable_external_access = false", "SET lock_configuration = true")


def reader_statements(warehouse_dir: Path | None = None) -> list[str]:
    """What a reader (Superset) runs on a new connection to the analytics file: attach the sources, then lock down."""
    return [*attach_statements(warehouse_dir), *LOCKDOWN_STATEMENTS]


def require_warehouse(warehouse_dir: Path | None = None) -> None:
    """Fail with what to do next when the source catalogs have not been written yet."""
    for catalog in source_catalogs():
        path = catalog_path(catalog, warehouse_dir)
        if not path.exists():
            raise PulseError(
                f"{path} does not exist (catalog '{catalog}'). Run `pulse seed` first, "
                f"or set PULSE_ANALYTICS_WAREHOUSE_DIR to the folder holding it."
            )


def connect_analytics(
    read_only: bool = True, warehouse_dir: Path | None = None, analytics_file: Path | None = None
) -> duckdb.DuckDBPyConnection:
    """A connection on the analytics catalog (or on another file of it, such as a build's staging copy), with the
    source catalogs attached read-only."""
    require_warehouse(warehouse_dir)
    path = analytics_file or catalog_path(config.get("TARGET_CATALOG"), warehouse_dir)
    if read_only and not path.exists():
        raise PulseError(f"{path} does not exist. Run `pulse build` first.")
    connection = duckdb.connect(str(path), read_only=read_only)
    for statement in attach_statements(warehouse_dir):
        connection.execute(statement)
    return connection


def write_attach_script(warehouse_dir: Path | None = None) -> Path:
    """Write `attach.sql` beside the files, so `duckdb -init warehouse/attach.sql warehouse/analytics.duckdb` works."""
    folder = warehouse_dir or config.warehouse_dir()
    script = folder / "attach.sql"
    lines = [f"{statement};" for statement in attach_statements(folder)]
    lines.append(f'USE "{config.get("TARGET_CATALOG")}"."{config.get("TARGET_SCHEMA")}";')
    script.write_text("\n".join(lines) + "\n")
    return script


def create_source_tables(connection: duckdb.DuckDBPyConnection) -> None:
    """Create (empty, if absent) the eight source tables in the attached telemetry and metadata catalogs."""
    tables = {table.name: table for table in config.source_tables()}
    for catalog, schema in {(t.catalog, t.schema) for t in tables.values()}:
        connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{catalog}"."{schema}"')
    ddl = {
        "telemetry": TELEMETRY_COLUMNS,
        "statistics_step": STATISTICS_STEP_COLUMNS,
        "statistics_cycle": STATISTICS_CYCLE_COLUMNS,
        "device_metadata": "device_id VARCHAR NOT NULL, manufacturer VARCHAR, model VARCHAR, channel INTEGER, "
        "location VARCHAR, calibration_date DATE",
        "recipe_metadata": "recipe_id VARCHAR NOT NULL, recipe_name VARCHAR, recipe_version INTEGER, "
        "charge_c_rate DOUBLE, discharge_c_rate DOUBLE, temperature__c DOUBLE, upper_voltage__v DOUBLE, "
        "lower_voltage__v DOUBLE, rest_duration__s DOUBLE",
        "device_test_recipe": "device_id VARCHAR NOT NULL, test_id VARCHAR NOT NULL, recipe_id VARCHAR NOT NULL",
        "part_metadata": "part_id VARCHAR NOT NULL, manufacturer VARCHAR, chemistry VARCHAR, form_factor VARCHAR, "
        "nominal_capacity__ah DOUBLE, batch VARCHAR, team VARCHAR",
        "device_test_part": "device_id VARCHAR NOT NULL, test_id VARCHAR NOT NULL, part_id VARCHAR NOT NULL",
    }
    for name, columns in ddl.items():
        connection.execute(f"CREATE TABLE IF NOT EXISTS {quoted(tables[name])} ({columns})")
    # a part_metadata made before teams (access/teams.yaml) gets the column, empty: every row is kept as it was
    connection.execute(f"ALTER TABLE {quoted(tables['part_metadata'])} ADD COLUMN IF NOT EXISTS team VARCHAR")


def quoted(table: config.SourceTable) -> str:
    return f'"{table.catalog}"."{table.schema}"."{table.table}"'


def connect_sources(warehouse_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with the source catalogs attached read-write (for writers: seed, import)."""
    folder = warehouse_dir or config.warehouse_dir()
    folder.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect()
    for catalog in source_catalogs():
        connection.execute(f"ATTACH '{catalog_path(catalog, folder)}' AS \"{catalog}\"")
    return connection


@contextmanager
def transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Commit what the block wrote, or roll all of it back if it fails."""
    connection.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
