"""The columns of every dbt model: what a Superset dataset on that view can show.

Two sources, one answer each:

declared (offline, from the project's dbt/; what `pulse check` uses by default)
    Every column the dbt YAML docs list (dbt/models/**/_*.yml list every non-metadata column of every model), plus the
    metadata columns, which no YAML can list because they follow the lab's metadata tables. A model that carries them
    declares so in its YAML: `config: meta: metadata_prefixes: {dm__: device_metadata}` gives it dm__<column> for
    every column of the device_metadata table (tests/integration/test_check_warehouse.py checks the declarations
    against the built views). The metadata tables' columns are those the bundle creates them with
    (warehouse.create_source_tables, run on an in-memory DuckDB): the demo lab's columns. A lab whose metadata tables
    have more columns checks against its built warehouse instead.

built (`pulse check --warehouse`, and `pulse sync --target duckdb` when the warehouse is built)
    The columns of the views in the analytics catalog of PULSE_ANALYTICS_WAREHOUSE_DIR, as DuckDB reports them: exact
    for that warehouse, the lab's own metadata columns included.

Names are lower case on both engines by design (the views select every column under its lower-case name), so the same
name works on DuckDB and on Trino.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import duckdb

from pulse_analytics import config, warehouse
from pulse_analytics.errors import PulseError
from pulse_analytics.superset import rendering


def declared_columns(dbt_dir: Path) -> dict[str, list[str]]:
    """Every model's columns from the YAML docs of the dbt project in dbt_dir and the metadata tables' known columns."""
    documented = documented_columns(dbt_dir)
    metadata = metadata_table_columns()
    prefixes = metadata_prefixes(dbt_dir)
    metadata_models = {name for found in prefixes.values() for name in found.values()}
    for model, found in prefixes.items():
        unknown = sorted(set(found.values()) - metadata.keys())
        if unknown:
            raise PulseError(
                f"dbt model {model} declares metadata_prefixes {found} (config: meta:), but "
                f"{', '.join(unknown)} is not a source view; choose from {', '.join(sorted(metadata))}"
            )
    models: dict[str, list[str]] = {}
    for model, columns in documented.items():
        if model in metadata_models:  # the metadata views themselves: every column of their table
            columns = columns + metadata[model]
        for prefix, metadata_model in sorted(prefixes.get(model, {}).items()):
            columns = columns + [prefix + column for column in metadata.get(metadata_model, [])]
        models[model] = list(dict.fromkeys(columns))
    return models


def documented_columns(dbt_dir: Path) -> dict[str, list[str]]:
    """{model: [column, ...]} as the YAML docs of dbt/models list them."""
    models: dict[str, list[str]] = {}
    for path in sorted((dbt_dir / "models").rglob("_*.yml")):
        document = rendering.parse_yaml(path.read_text(encoding="utf-8")) or {}
        for model in document.get("models") or []:
            models[model["name"]] = [str(column["name"]) for column in model.get("columns") or []]
    return models


@cache
def metadata_table_columns() -> dict[str, list[str]]:
    """{source model: [column, ...]} of the source tables as the bundle creates them, names lower case."""
    connection = duckdb.connect()
    try:
        for catalog in warehouse.source_catalogs():
            connection.execute(f"ATTACH ':memory:' AS \"{catalog}\"")
        warehouse.create_source_tables(connection)
        return {
            table.name: [
                row[0].lower()
                for row in connection.execute(
                    "select column_name from duckdb_columns() "
                    "where database_name = ? and schema_name = ? and table_name = ? order by column_index",
                    [table.catalog, table.schema, table.table],
                ).fetchall()
            ]
            for table in config.source_tables()
        }
    finally:
        connection.close()


def metadata_prefixes(dbt_dir: Path) -> dict[str, dict[str, str]]:
    """{model: {prefix: metadata model}}: the metadata columns each model carries, as its YAML declares them
    (config: meta: metadata_prefixes: {dm__: device_metadata}; dbt's older top-level meta: is read too)."""
    found: dict[str, dict[str, str]] = {}
    for path in sorted((dbt_dir / "models").rglob("_*.yml")):
        document = rendering.parse_yaml(path.read_text(encoding="utf-8")) or {}
        for model in document.get("models") or []:
            meta = {**(model.get("meta") or {}), **((model.get("config") or {}).get("meta") or {})}
            declared = meta.get("metadata_prefixes") or {}
            if not isinstance(declared, dict) or not all(
                isinstance(prefix, str) and prefix.endswith("__") and isinstance(source, str)
                for prefix, source in declared.items()
            ):
                raise PulseError(
                    f"{path}: model {model.get('name')} declares metadata_prefixes {declared!r}; write "
                    "a mapping of prefix to metadata model, e.g. {dm__: device_metadata}"
                )
            if declared:
                found[str(model["name"])] = dict(declared)
    return found


def built_columns(warehouse_dir: Path | None = None) -> dict[str, list[str]]:
    """{view: [column, ...]} of the views dbt built in the analytics catalog of the warehouse folder."""
    connection = warehouse.connect_analytics(read_only=True, warehouse_dir=warehouse_dir)
    try:
        rows = connection.execute(
            "select table_name, column_name from duckdb_columns() where database_name = ? and schema_name = ? "
            "order by table_name, column_index",
            [config.get("TARGET_CATALOG"), config.get("TARGET_SCHEMA")],
        ).fetchall()
    except duckdb.Error as error:
        folder = warehouse_dir or config.warehouse_dir()
        raise PulseError(f"cannot read the views of {folder}: {error}") from error
    finally:
        connection.close()
    models: dict[str, list[str]] = {}
    for table, column in rows:
        models.setdefault(table, []).append(column)
    return models


def warehouse_is_built(warehouse_dir: Path | None = None) -> bool:
    """True when the analytics catalog file exists beside the source catalogs."""
    folder = warehouse_dir or config.warehouse_dir()
    catalogs = [config.get("TARGET_CATALOG"), *warehouse.source_catalogs()]
    return all(warehouse.catalog_path(catalog, folder).exists() for catalog in catalogs)
