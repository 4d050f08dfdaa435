"""The warehouse half of `pulse bench`: demo data of one size, `dbt build`, and queries on the views against their
lower bounds, on each target (targets.py says what differs between DuckDB and Trino). The queries are written once,
from the size's DuckDB files; only the types of the lower bounds' casts, their map lookups and the stored copy's schema
differ on Trino.

Lower bounds read the same rows and columns without the views:
  base tables      one part's (or test's) telemetry read from the telemetry table by its tests' device and test ids,
                   the metadata columns the view adds filled in from a small list of per-test values computed
                   beforehand, part numbers as the test's own number plus a per-test shift, the cell temperature read
                   from the record's auxiliary map as the view reads it; a full-table aggregate
                   computed on the source table the mart is built on.
  stored copy      (chart queries) the same SQL on a database where each view it reads is a table holding the view's
                   rows: the cost if the view were stored instead of computed at query time.
  original view    (part_statistics_cycle) the original pulse-analytics project's view of the same name, written as
                   a query on the same base tables: a part's cycles joined to its part metadata and numbered by
                   row_number() over the part in time order, with none of this project's cycle kinds, reference
                   capacity, life metrics or exclusions. A reference to compare with, not a bound.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from pulse_analytics import config, dbt, generate, statistics, warehouse
from pulse_analytics.bench.measure import load_average, pulse_command, run_child, run_python, summary
from pulse_analytics.errors import PulseError
from pulse_analytics.progress import step

if TYPE_CHECKING:
    from pulse_analytics.bench.targets import DuckDB, Trino

    Target = DuckDB | Trino

QUERY_CHILD = "pulse_analytics.bench.query_child"
PART_NUMBERS = {
    "part_cycle_number": "cycle_number",
    "part_step_number": "step_number",
    "part_record_number": "record_number",
}
# Telemetry-mart columns read from a record's auxiliary map, by key (dbt var temperature_auxiliary_key's default).
FROM_AUXILIARY = {"temperature__c": "temperature__C"}


@dataclass(frozen=True)
class Size:
    """One benchmark size: the demo warehouse with about `rows` telemetry rows, in its own folder."""

    rows: int
    directory: Path

    @property
    def copies(self) -> Path:
        """The folder of the stored-copy lower bound: analytics.duckdb holding the views' rows as tables."""
        return self.directory / "stored-copy"

    def env(self) -> dict[str, str]:
        """The environment of the processes working on this size (their own dbt target and log folders)."""
        return {  # no Trino password: each child finds its own user's (dbt_once adds dbt's)
            **os.environ,
            **config.resolved_environment(),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            config.PREFIX + "WAREHOUSE_DIR": str(self.directory),
            "DBT_TARGET_PATH": str(self.directory / "dbt-target"),
            "DBT_LOG_PATH": str(self.directory / "dbt-logs"),
        }


@dataclass(frozen=True)
class Query:
    """A query on the views and its lower bound (`bound_method` says which kind, see the module doc)."""

    name: str
    group: str  # selection | aggregate | original | chart
    sql: str | list[str]  # a chart may send several queries: a run executes each
    bound_sql: str | list[str]
    bound_method: str
    bound_on_copy: bool = False  # the bound runs on the stored copy (default: on the size's warehouse)


def view(name: str) -> str:
    return f"{config.get('TARGET_CATALOG')}.{config.get('TARGET_SCHEMA')}.{name}"


def source(name: str) -> str:
    return warehouse.quoted(next(table for table in config.source_tables() if table.name == name))


# --- data ---------------------------------------------------------------------------------------------------------


def seed(size: Size, seed_value: int) -> dict[str, Any]:
    """Seed the size's warehouse with `pulse seed`, unless the same rows and seed were seeded there by the same code."""
    marker = size.directory / "bench-seed.json"
    wanted = {"rows": size.rows, "seed": seed_value, "generator": generator_fingerprint()}
    if marker.exists() and json.loads(marker.read_text()).get("wanted") == wanted:
        recorded = json.loads(marker.read_text())
        print(f"reusing the {size.rows:,}-row demo warehouse in {size.directory}", file=sys.stderr)
        return {**recorded["measured"], "reused": True}
    marker.unlink(missing_ok=True)
    size.directory.mkdir(parents=True, exist_ok=True)
    step(f"Seeding {size.rows:,} telemetry rows into {size.directory}")
    result = run_child([pulse_command(), "seed", "--rows", str(size.rows), "--seed", str(seed_value)], env=size.env())
    if result.exit_code != 0:
        raise PulseError(f"`pulse seed --rows {size.rows}` failed:\n{result.stderr[-3000:]}")
    measured = {"seconds": round(result.seconds, 2), "peak_rss_bytes": result.peak_rss_bytes}
    marker.write_text(json.dumps({"wanted": wanted, "measured": measured}, indent=1) + "\n")
    return {**measured, "reused": False}


def generator_fingerprint() -> str:
    digest = hashlib.sha256()
    for module in (generate, statistics, warehouse):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]


def describe_data(size: Size) -> dict[str, Any]:
    connection = warehouse.connect_analytics(read_only=True, warehouse_dir=size.directory)
    try:
        counts = {
            name: connection.execute(f"select count(*) from {source(name)}").fetchone()[0]
            for name in ("telemetry", "statistics_step", "statistics_cycle")
        }
    finally:
        connection.close()
    files = {path.name: path.stat().st_size for path in sorted(size.directory.glob("*.duckdb"))}
    return {"rows": counts, "file_bytes": files}


# --- dbt ----------------------------------------------------------------------------------------------------------


def dbt_timings(size: Size, target: Target, runs: int) -> dict[str, Any]:
    """`dbt build` (views and data tests) and `dbt run` (views only), each `runs` times after one untimed build."""
    dbt_once(size, target, "build")  # creates the views, and dbt's partial-parse state, as a user's earlier build would
    results: dict[str, Any] = {}
    for command in ("build", "run"):
        step(f"Timing `dbt {command}` on {target.name} at {size.rows:,} rows ({runs} runs)")
        timings = [dbt_once(size, target, command) for _ in range(runs)]
        results[command] = {
            **summary([timing["seconds"] for timing in timings]),
            "models_seconds": summary([timing["models_seconds"] for timing in timings]),
            "tests_seconds": summary([timing["tests_seconds"] for timing in timings]),
            "nodes": timings[-1]["nodes"],
            "peak_rss_bytes": max(timing["peak_rss_bytes"] for timing in timings),
        }
    return results


def dbt_once(size: Size, target: Target, command: str) -> dict[str, Any]:
    env = config.with_trino_password(target.env(size, "dbt"))
    results_file = Path(env["DBT_TARGET_PATH"]) / "run_results.json"
    results_file.unlink(missing_ok=True)
    result = run_child(dbt.dbt_command(command, target.name), env=env, cwd=dbt.project_dir())
    if result.exit_code != 0 or not results_file.exists():
        raise PulseError(
            f"`dbt {command}` failed on {target.name} at {size.rows:,} rows; its output ends:\n{result.stdout[-3000:]}"
        )
    nodes = json.loads(results_file.read_text())["results"]
    per_kind = {"model": 0.0, "test": 0.0}
    for node in nodes:
        kind = node["unique_id"].split(".")[0]
        per_kind[kind] = per_kind.get(kind, 0.0) + node["execution_time"]
    return {
        "seconds": result.seconds,
        "models_seconds": per_kind["model"],
        "tests_seconds": per_kind["test"],
        "nodes": len(nodes),
        "peak_rss_bytes": result.peak_rss_bytes,
    }


# --- queries ------------------------------------------------------------------------------------------------------


def warehouse_queries(size: Size, target: Target) -> list[Query]:
    """One part's telemetry, one test's telemetry, and a full-table aggregate over each part mart (written from the
    size's DuckDB files, for `target`'s types)."""
    connection = warehouse.connect_analytics(read_only=True, warehouse_dir=size.directory)
    try:
        part_id, part_tests = busiest_part(connection)
        device_id, test_id = part_tests[0]
        part_filter = f"part_id = {literal(part_id)}"
        test_filter = f"device_id = {literal(device_id)} and test_id = {literal(test_id)}"
        return [
            Query(
                f"part_telemetry, one part ({part_id}, {len(part_tests)} tests)",
                "selection",
                f"select * from {view('part_telemetry')} where {part_filter}",
                selection_bound(connection, "part_telemetry", "part_statistics_cycle", part_filter, part_tests, target),
                "base tables",
            ),
            Query(
                f"test_telemetry, one test ({test_id})",
                "selection",
                f"select * from {view('test_telemetry')} where {test_filter}",
                selection_bound(
                    connection, "test_telemetry", "test_statistics_cycle", test_filter, [(device_id, test_id)], target
                ),
                "base tables",
            ),
            *aggregates(),
            original_view(),
        ]
    finally:
        connection.close()


def busiest_part(connection: Any) -> tuple[str, list[tuple[str, str]]]:
    """The part with the most tests (then the most telemetry rows, then the first id), and its tests."""
    rows = connection.execute(
        f"select links.part_id, links.device_id, links.test_id, count(*) as records from {source('telemetry')} as t "
        f"inner join {source('device_test_part')} as links on t.device_id = links.device_id "
        f"and t.test_id = links.test_id group by all order by all"
    ).fetchall()
    if not rows:
        raise PulseError(f"no telemetry of a test linked to a part in {source('device_test_part')}.")
    parts: dict[str, list[tuple[str, str, int]]] = {}
    for part_id, device_id, test_id, records in rows:
        parts.setdefault(part_id, []).append((device_id, test_id, records))
    part_id = max(sorted(parts), key=lambda part: (len(parts[part]), sum(test[2] for test in parts[part])))
    return part_id, [(device_id, test_id) for device_id, test_id, _ in parts[part_id]]


def selection_bound(
    connection: Any, view_name: str, constants_view: str, where: str, tests: list[tuple[str, str]], target: Target
) -> str:
    """The base-table lower bound of `select * from <view> where <where>` (see the module doc), in `target`'s SQL."""
    described = connection.execute(f"describe select * from {view(view_name)}").fetchall()
    types = {name: kind for name, kind, *_ in described}
    base = {column.lower(): column for column, *_ in connection.execute(f"describe {source('telemetry')}").fetchall()}
    numbers = [name for name in types if name in PART_NUMBERS]
    constants = [name for name in types if name not in base and name not in PART_NUMBERS and name not in FROM_AUXILIARY]
    values = connection.execute(
        f"select distinct device_id, test_id{''.join(', ' + name for name in constants)} "
        f"from {view(constants_view)} where {where}"
    ).fetchall()
    shifts: dict[tuple[str, str], list[int]] = {(row[0], row[1]): [] for row in values}
    if numbers:
        shift_columns = ", ".join(f"min({name}) - min({PART_NUMBERS[name]})" for name in numbers)
        for device_id, test_id, *row in connection.execute(
            f"select device_id, test_id, {shift_columns} from {view(view_name)} where {where} group by all"
        ).fetchall():
            shifts[(device_id, test_id)] = row
    if sorted(shifts) != sorted(tests):
        raise PulseError(f"{view(constants_view)} has no single row of metadata for each of {tests}.")
    rows = ", ".join(
        "(" + ", ".join(literal(value) for value in (*row, *shifts[(row[0], row[1])])) + ")" for row in values
    )
    names = ["test_device_id", "test_test_id", *constants, *(f"{name}_shift" for name in numbers)]
    select = []
    for name, kind in types.items():
        if name in base:
            select.append(f't."{base[name]}" as {name}')
        elif name in PART_NUMBERS:
            select.append(f"cast(t.{PART_NUMBERS[name]} + k.{name}_shift as {target.sql_type(kind)}) as {name}")
        elif name in FROM_AUXILIARY:
            select.append(f"{target.map_value('t.auxiliary', FROM_AUXILIARY[name])} as {name}")
        else:
            select.append(f"cast(k.{name} as {target.sql_type(kind)}) as {name}")
    keys = " or ".join(f"(t.device_id = {literal(device)} and t.test_id = {literal(test)})" for device, test in tests)
    return (
        f"select {', '.join(select)} from {source('telemetry')} as t "
        f"inner join (values {rows}) as k({', '.join(names)}) "
        f"on t.device_id = k.test_device_id and t.test_id = k.test_test_id where {keys}"
    )


def aggregates() -> list[Query]:
    """A whole-table aggregate over each part mart, and the same aggregate over the rows of the source table."""
    links = source("device_test_part")

    def bound(table: str, columns: str) -> str:
        return (
            f"select links.part_id, count(*), {columns} from {source(table)} as s inner join {links} as links "
            f"on s.device_id = links.device_id and s.test_id = links.test_id group by links.part_id"
        )

    return [
        Query(
            "part_telemetry, all parts aggregated",
            "aggregate",
            f"select part_id, count(*), max(part_cycle_number), max(part_step_number), max(part_record_number), "
            f"avg(voltage__v) from {view('part_telemetry')} group by part_id",
            bound("telemetry", 'max(s.cycle_number), max(s.step_number), max(s.record_number), avg(s."voltage__V")'),
            "base tables",
        ),
        Query(
            "part_statistics_step, all parts aggregated",
            "aggregate",
            f"select part_id, count(*), max(part_cycle_number), max(part_step_number), "
            f"avg(time_averaged_voltage__v) from {view('part_statistics_step')} group by part_id",
            bound("statistics_step", 'max(s.cycle_number), max(s.step_number), avg(s."time_averaged_voltage__V")'),
            "base tables",
        ),
        Query(
            "part_statistics_cycle, all parts aggregated",
            "aggregate",
            f"select part_id, count(*), max(part_cycle_number), min(capacity_retention), "
            f"max(equivalent_full_cycles), avg(coulombic_efficiency) from {view('part_statistics_cycle')} "
            f"group by part_id",
            bound(
                "statistics_cycle",
                'max(s.cycle_number), min(s."discharge_capacity__Ah"), '
                'max(s."charge_capacity__Ah"), avg(s."discharge_capacity__Ah" / s."charge_capacity__Ah")',
            ),
            "base tables",
        ),
    ]


def original_view() -> Query:
    """part_statistics_cycle against the original project's view (see the module doc): one row per cycle of a part's
    tests on both sides."""
    return Query(
        "part_statistics_cycle, the whole view",
        "original",
        f"select * from {view('part_statistics_cycle')}",
        f"select links.part_id, cycles.*, parts.*, row_number() over ("
        f"partition by links.part_id order by cycles.start_time, cycles.cycle_number) as part_cycle_number "
        f"from {source('statistics_cycle')} as cycles inner join {source('device_test_part')} as links "
        f"on cycles.device_id = links.device_id and cycles.test_id = links.test_id "
        f"left join {source('part_metadata')} as parts on links.part_id = parts.part_id",
        "original view",
    )


def literal(value: Any) -> str:
    """A SQL literal for a value read from the warehouse (used only to write the lower-bound queries)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return f"timestamp '{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"date '{value.isoformat()}'"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def baseline_rss_bytes(size: Size) -> int:
    """Peak memory of the measuring child itself (Python, DuckDB, pyarrow) for a query that reads nothing."""
    return peak_rss_bytes({"duckdb": str(size.directory)}, "select 1")


def time_queries(size: Size, target: Target, queries: list[Query], runs: int) -> list[dict[str, Any]]:
    """Each query and its lower bound timed in turns in one child; the peak memory of each: on DuckDB each alone in a
    child of its own, on Trino as Trino counted it during the timed runs."""
    measured = []
    for number, query in enumerate(queries, start=1):
        step(f"Query {number}/{len(queries)} on {target.name} at {size.rows:,} rows: {query.name}")
        on_bound = target.connection(size, stored_copy=query.bound_on_copy)
        load = load_average()
        on_view, bound = run_python(
            QUERY_CHILD,
            {
                "queries": [
                    {"connection": target.connection(size), "sql": query.sql},
                    {"connection": on_bound, "sql": query.bound_sql},
                ],
                "runs": runs,
                "warmups": 1,
                "profile": [0],
            },
        )[0]
        sides = {}
        for side, result, connection, sql in (
            ("view", on_view, target.connection(size), query.sql),
            ("lower_bound", bound, on_bound, query.bound_sql),
        ):
            memory = (
                {"peak_memory_bytes": result["peak_memory_bytes"]}
                if "peak_memory_bytes" in result
                else {"peak_rss_bytes": peak_rss_bytes(connection, sql)}
            )
            sides[side] = {
                **summary(result["seconds"]),
                "rows": result["rows"],
                "columns": result["columns"],
                **memory,
                "load_average": load,
                "sql": sql,
                **({"profile": result["profile"]} if "profile" in result else {}),
            }
        entry = {
            "name": query.name,
            "group": query.group,
            "view": sides["view"],
            "lower_bound": {**sides["lower_bound"], "method": query.bound_method},
            "ratio": round(sides["view"]["median"] / sides["lower_bound"]["median"], 2),
        }
        if on_view["rows"] != bound["rows"]:
            entry["note"] = f"the lower bound returned {bound['rows']} rows, the view {on_view['rows']}"
        measured.append(entry)
    return measured


def peak_rss_bytes(connection: dict[str, Any], sql: str | list[str]) -> int:
    """Peak memory of a child that runs the query once, alone."""
    result, _ = run_python(QUERY_CHILD, {"queries": [{"connection": connection, "sql": sql}], "runs": 1, "warmups": 0})
    return int(result[0]["peak_rss_bytes"])


# --- stored copies (the lower bound of chart queries) --------------------------------------------------------------


def store_copies(size: Size, view_names: list[str]) -> Path:
    """Write the stored-copy database of this size (DuckDB): each named view's rows as a table of the same name."""
    folder = size.copies
    folder.mkdir(parents=True, exist_ok=True)
    target = warehouse.catalog_path(config.get("TARGET_CATALOG"), folder)
    target.unlink(missing_ok=True)
    for catalog in warehouse.source_catalogs():  # the sources are read where they are
        link = warehouse.catalog_path(catalog, folder)
        link.unlink(missing_ok=True)
        os.symlink(warehouse.catalog_path(catalog, size.directory), link)
    step(f"Storing {len(view_names)} views as tables for the chart queries' lower bound ({folder})")
    connection = duckdb.connect()  # a writable instance: the warehouse's files attached read-only, the copy writable
    try:
        catalog = config.get("TARGET_CATALOG")
        connection.execute(f"ATTACH '{warehouse.catalog_path(catalog, size.directory)}' AS \"{catalog}\" (READ_ONLY)")
        for statement in warehouse.attach_statements(size.directory):
            connection.execute(statement)
        connection.execute(f"ATTACH '{target}' AS stored_copy")
        schema = config.get("TARGET_SCHEMA")
        connection.execute(f'CREATE SCHEMA stored_copy."{schema}"')
        for name in view_names:
            connection.execute(f'CREATE TABLE stored_copy."{schema}"."{name}" AS SELECT * FROM {view(name)}')
    finally:
        connection.close()
    return folder


def view_names(size: Size) -> list[str]:
    connection = warehouse.connect_analytics(read_only=True, warehouse_dir=size.directory)
    try:
        return [
            row[0]
            for row in connection.execute(
                "select view_name from duckdb_views() where database_name = ? and schema_name = ? and not internal",
                [config.get("TARGET_CATALOG"), config.get("TARGET_SCHEMA")],
            ).fetchall()
        ]
    finally:
        connection.close()
