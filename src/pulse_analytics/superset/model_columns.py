"""The columns of every dbt model: what a Superset dataset on that view can show.

Two sources, one answer each:

declared (offline, from the repository; what `pulse check` uses by default)
    Every column the dbt YAML docs list (dbt/models/**/_*.yml list every non-metadata column of every model), plus the
    metadata columns, which no YAML can list because they follow the lab's metadata tables: a model (or a macro it
    calls) that writes `prefixed_columns(ref('device_metadata'), ..., 'dm__')`, or loops over
    `columns_of(ref('device_metadata'))` writing `dm__{{ column.name }}`, gets dm__<column> for every column of the
    device_metadata table, and so does every model reading it with ref(), unless its YAML declares its prefixes
    (config: meta: metadata_prefixes: {pm__: part_metadata}). The metadata tables' columns are those the
    bundle creates them with (warehouse.create_source_tables, run on an in-memory DuckDB): the demo lab's columns.
    A lab whose metadata tables have more columns checks against its built warehouse instead.

built (`pulse check --warehouse`, and `pulse sync --target duckdb` when the warehouse is built)
    The columns of the views in the analytics catalog of PULSE_ANALYTICS_WAREHOUSE_DIR, as DuckDB reports them: exact
    for that warehouse, the lab's own metadata columns included.

Names are lower case on both engines by design (the views select every column under its lower-case name), so the same
name works on DuckDB and on Trino.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import duckdb

from pulse_analytics import config, warehouse
from pulse_analytics.errors import PulseError
from pulse_analytics.superset import rendering

MACRO = re.compile(r"{%-?\s*macro\s+(\w+)\s*\((.*?){%-?\s*endmacro\s*-?%}", re.DOTALL)
PREFIXED = re.compile(r"prefixed_columns\(\s*ref\(\s*'(\w+)'\s*\)\s*,\s*'\w+'\s*,\s*'(\w+)'\s*\)")
COLUMN_LOOP = re.compile(r"for\s+(\w+)\s+in\s+columns_of\(\s*ref\(\s*'(\w+)'\s*\)\s*\)(.*?)endfor", re.DOTALL)
CALL = re.compile(r"\b(\w+)\s*\(")
REF = re.compile(r"\bref\(\s*['\"](\w+)['\"]\s*\)")


def declared_columns(dbt_dir: Path) -> dict[str, list[str]]:
    """Every model's columns from the YAML docs of the dbt project in dbt_dir and the metadata tables' known columns."""
    documented = documented_columns(dbt_dir)
    metadata = metadata_table_columns()
    prefixes = metadata_prefixes(dbt_dir)
    metadata_models = {name for found in prefixes.values() for name in found.values()}
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
        return {table.name: [row[0].lower() for row in connection.execute(
            "select column_name from duckdb_columns() where database_name = ? and schema_name = ? and table_name = ? "
            "order by column_index", [table.catalog, table.schema, table.table]).fetchall()]
            for table in config.source_tables()}  # fmt: skip
    finally:
        connection.close()


def declared_prefixes(dbt_dir: Path) -> dict[str, dict[str, str]]:
    """{model: {prefix: metadata model}} as a model's YAML states it (config: meta: metadata_prefixes:), for a model
    that reads a metadata-carrying model but keeps only some of its columns; it overrides what its SQL suggests."""
    found: dict[str, dict[str, str]] = {}
    for path in sorted((dbt_dir / "models").rglob("_*.yml")):
        document = rendering.parse_yaml(path.read_text(encoding="utf-8")) or {}
        for model in document.get("models") or []:
            meta = (model.get("config") or {}).get("meta") or {}
            if "metadata_prefixes" in meta:
                found[model["name"]] = dict(meta["metadata_prefixes"] or {})
    return found


def metadata_prefixes(dbt_dir: Path) -> dict[str, dict[str, str]]:
    """{model: {prefix: metadata model}}: the metadata columns each model carries, e.g. {"dm__": "device_metadata"}."""
    macros = {name: body for name, body in MACRO.findall(_read_all(dbt_dir / "macros"))}
    models = {path.stem: path.read_text(encoding="utf-8") for path in (dbt_dir / "models").rglob("*.sql")}
    declared = declared_prefixes(dbt_dir)

    def of_macro(name: str, seen: frozenset[str]) -> dict[str, str]:
        body = macros[name]
        found = written_prefixes(body)
        for called in set(CALL.findall(body)) & macros.keys() - seen - {name}:
            found.update(of_macro(called, seen | {name}))
        return found

    def of_model(name: str, seen: frozenset[str]) -> dict[str, str]:
        if name in declared:
            return dict(declared[name])
        sql = models.get(name, "")
        found = written_prefixes(sql)
        for called in set(CALL.findall(sql)) & macros.keys():
            found.update(of_macro(called, frozenset()))
        for referenced in set(REF.findall(sql)) - seen - {name}:
            found.update(of_model(referenced, seen | {name}))
        return found

    return {model: of_model(model, frozenset()) for model in models}


def written_prefixes(sql: str) -> dict[str, str]:
    """{prefix: metadata model} for the metadata columns a macro or model writes itself: calls of
    prefixed_columns(ref('<model>'), alias, '<prefix>'), and loops over columns_of(ref('<model>')) that write
    <prefix>{{ column.name ... }}."""
    found = {prefix: model for model, prefix in PREFIXED.findall(sql)}
    for variable, model, body in COLUMN_LOOP.findall(sql):
        for prefix in re.findall(rf"(\w+__)\{{\{{\s*{variable}\.name\b", body):
            found[prefix] = model
    return found


def _read_all(folder: Path) -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted(folder.rglob("*.sql")))


def built_columns(warehouse_dir: Path | None = None) -> dict[str, list[str]]:
    """{view: [column, ...]} of the views dbt built in the analytics catalog of the warehouse folder."""
    connection = warehouse.connect_analytics(read_only=True, warehouse_dir=warehouse_dir)
    try:
        rows = connection.execute(
            "select table_name, column_name from duckdb_columns() where database_name = ? and schema_name = ? "
            "order by table_name, column_index", [config.get("TARGET_CATALOG"), config.get("TARGET_SCHEMA")],
        ).fetchall()  # fmt: skip
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
