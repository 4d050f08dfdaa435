"""Metadata rows from the sidecar, each value checked against its column's type before anything is written, and the
test's metadata links (device_test_part, device_test_recipe)."""

from __future__ import annotations

from typing import Any

import duckdb

from pulse_analytics import config, warehouse
from pulse_analytics.bdf.files import SIDECAR_TABLES, Identity, Sidecar
from pulse_analytics.bdf.report import BdfError


def metadata_rows(
    connection: duckdb.DuckDBPyConnection, identity: Identity, sidecar: Sidecar
) -> dict[str, tuple[str, list[str], list[Any]]]:
    """Sidecar sections as rows of the metadata tables: table -> (key column, columns, values), each value checked
    against the column's type now, before anything is written."""
    tables = {table.name: table for table in config.source_tables()}
    rows = {}
    for section, name in SIDECAR_TABLES.items():
        values = sidecar.get(section)
        if values is None:
            continue
        key = tables[name].key[0]
        owner = {"device": identity.device_id, "part": identity.part_id, "recipe": identity.recipe_id}[section]
        if owner is None:
            raise BdfError(f"{sidecar.path}: section '{section}' given, but the test has no {key}; add {key}")
        described = f"SELECT column_name, column_type FROM (DESCRIBE {warehouse.quoted(tables[name])})"
        types = dict(connection.execute(described).fetchall())
        if key in values and str(values[key]) != owner:
            raise BdfError(
                f"{sidecar.path}: {section}.{key} is {values[key]!r} but the test's {key} is {owner!r}; "
                f"leave {key} out of the section or make them agree"
            )
        unknown = sorted(set(values) - set(types) - {key})
        if unknown:
            raise BdfError(
                f"{sidecar.path}: {section}: unknown column(s) {', '.join(unknown)}; {name} has "
                f"{', '.join(column for column in types if column != key)}"
            )
        for column, value in values.items():
            try:
                connection.execute(f"SELECT CAST(? AS {types[column]})", [value])
            except duckdb.Error as error:
                raise BdfError(
                    f"{sidecar.path}: {section}.{column}: {value!r} is not a {types[column]} "
                    f"({str(error).splitlines()[0]})"
                ) from error
        names = [key, *(column for column in values if column != key)]
        rows[name] = (key, names, [owner, *(values[column] for column in names[1:])])
    return rows


def write_metadata(
    connection: duckdb.DuckDBPyConnection, identity: Identity, rows: dict[str, tuple[str, list[str], list[Any]]]
) -> None:
    """The test's links (device_test_part, device_test_recipe) and the sidecar's metadata rows, replacing old ones."""
    tables = {table.name: warehouse.quoted(table) for table in config.source_tables()}
    test = [identity.device_id, identity.test_id]
    for name, linked in (("device_test_part", identity.part_id), ("device_test_recipe", identity.recipe_id)):
        connection.execute(f"DELETE FROM {tables[name]} WHERE device_id = ? AND test_id = ?", test)
        if linked is not None:
            column = "part_id" if name == "device_test_part" else "recipe_id"
            connection.execute(
                f"INSERT INTO {tables[name]} (device_id, test_id, {column}) VALUES (?, ?, ?)", [*test, linked]
            )
    for name, (key, names, values) in rows.items():
        connection.execute(f"DELETE FROM {tables[name]} WHERE {key} = ?", [values[0]])
        quoted_names = ", ".join(f'"{column}"' for column in names)
        marks = ", ".join("?" * len(names))
        connection.execute(f"INSERT INTO {tables[name]} ({quoted_names}) VALUES ({marks})", values)
