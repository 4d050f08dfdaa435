"""In a child process: run SQL queries on the warehouse of a target several times and print the timings as JSON.

On DuckDB, time is measured from sending a query until its whole result is in memory as an Arrow table: DuckDB
executes the query and materialises every row and column, without the cost of converting values to Python objects
(which would dominate for wide results and is not the engine's). On Trino, until the Python client (the one Superset
uses) has received every row over Trino's HTTP protocol: what any client of Trino waits for; Trino's own statistics of
each query (elapsed, planning and CPU time, rows read, peak memory) are kept beside.

Several queries (a view query and its lower bound) are timed in turns, run 1 of each, then run 2 of each, ..., so a
change in the machine's load between them affects both alike. A DuckDB child given one query and one run measures that
query's peak memory: the process exits afterwards, so its peak RSS is the query's. Trino reports each query's peak
memory itself (`peak_memory_bytes`: the largest over the runs).

`python -m pulse_analytics.bench.query_child '{"queries": [{"connection": {"duckdb": "<warehouse dir>"}, "sql": ...},
...], "runs": 5, "warmups": 1, "profile": [0]}'`; a Trino connection is `{"trino": {"settings": {...}}}`, the
PULSE_ANALYTICS_TRINO_* values to connect with (host, port, user, https, CA, passwords file; never a password). A
query's `sql` may be a list of statements (a chart that sends several queries): a run then executes each in turn.
`profile` lists the queries to run once more under DuckDB's profiler (on Trino: with its statistics).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pulse_analytics import config, warehouse
from pulse_analytics.bench.measure import vm_hwm

TOP_OPERATORS = 8


def run(payload: dict[str, Any]) -> list[dict[str, Any]]:
    queries = payload["queries"]
    sessions = [session(query["connection"]) for query in queries]
    statements = [query["sql"] if isinstance(query["sql"], list) else [query["sql"]] for query in queries]
    for _ in range(payload.get("warmups", 1)):
        for on, sqls in zip(sessions, statements, strict=True):
            on.execute(sqls)
    results: list[dict[str, Any]] = [{"seconds": []} for _ in queries]
    for on in sessions:  # Trino's count of peak memory: over the timed runs only
        if on.peak_memory_bytes is not None:
            on.peak_memory_bytes = 0
    for _ in range(payload["runs"]):
        for on, sqls, result in zip(sessions, statements, results, strict=True):
            started = time.perf_counter()
            result["rows"], result["columns"] = on.execute(sqls)
            result["seconds"].append(time.perf_counter() - started)
    for on, result in zip(sessions, results, strict=True):
        if on.peak_memory_bytes is not None:
            result["peak_memory_bytes"] = on.peak_memory_bytes
    for index in payload.get("profile", []):
        results[index]["profile"] = sessions[index].profile(statements[index][-1])
    for on in sessions:
        on.close()
    results[0]["peak_rss_bytes"] = vm_hwm("self")  # this program's own peak (see measure.run_child)
    return results


def session(connection: dict[str, Any]) -> DuckDbSession | TrinoSession:
    if "trino" in connection:
        return TrinoSession(**connection["trino"])
    return DuckDbSession(Path(connection["duckdb"]))


class DuckDbSession:
    """The analytics catalog of a DuckDB warehouse folder, its sources attached, read-only."""

    def __init__(self, warehouse_dir: Path) -> None:
        self.connection = warehouse.connect_analytics(read_only=True, warehouse_dir=warehouse_dir)
        self.peak_memory_bytes: int | None = None  # measured from outside: a child of its own (see the module doc)

    def execute(self, statements: list[str]) -> tuple[int, int]:
        """Run each statement to a complete Arrow result; (rows, widest column count) over all of them."""
        rows, columns = 0, 0
        for sql in statements:
            table = self.connection.execute(sql).to_arrow_table()
            rows, columns = rows + table.num_rows, max(columns, table.num_columns)
            del table
        return rows, columns

    def profile(self, sql: str) -> dict[str, Any]:
        return profile(self.connection, sql)

    def close(self) -> None:
        self.connection.close()


class TrinoSession:
    """A Trino, through its Python client, with the analytics catalog and schema as defaults (as Superset has)."""

    def __init__(self, settings: dict[str, str]) -> None:
        from pulse_analytics import trino_connection

        with config.overridden(settings):
            self.connection = trino_connection.connect(config.get("TARGET_CATALOG"), config.get("TARGET_SCHEMA"))
        self.peak_memory_bytes: int | None = 0
        self.stats: dict[str, Any] = {}

    def execute(self, statements: list[str]) -> tuple[int, int]:
        """Run each statement until the client holds every row; (rows, widest column count) over all of them."""
        rows, columns = 0, 0
        for sql in statements:
            cursor = self.connection.cursor()
            cursor.execute(sql.strip().removesuffix(";"))  # Superset's SQL ends with one; Trino takes none
            fetched = cursor.fetchall()
            rows, columns = rows + len(fetched), max(columns, len(cursor.description or []))
            self.stats = cursor.stats
            self.peak_memory_bytes = max(self.peak_memory_bytes or 0, int(self.stats.get("peakMemoryBytes") or 0))
            del fetched
        return rows, columns

    def profile(self, sql: str) -> dict[str, Any]:
        """One more run: Trino's statistics of the query (its own timings, the rows and bytes it read, its memory)."""
        self.execute([sql])
        names = {
            "elapsed_ms": "elapsedTimeMillis",
            "planning_ms": "planningTimeMillis",
            "cpu_ms": "cpuTimeMillis",
            "processed_rows": "processedRows",
            "processed_bytes": "processedBytes",
            "peak_memory_bytes": "peakMemoryBytes",
        }
        return {"trino": {name: self.stats.get(key) for name, key in names.items()}}

    def close(self) -> None:
        self.connection.close()


def profile(connection: Any, sql: str) -> dict[str, Any]:
    """One more run under DuckDB's profiler (EXPLAIN ANALYZE's numbers): total latency and the costliest operators."""
    with tempfile.NamedTemporaryFile(suffix=".json") as output:
        connection.execute("PRAGMA enable_profiling = 'json'")
        connection.execute(f"PRAGMA profiling_output = '{output.name}'")
        connection.execute(sql).to_arrow_table()
        connection.execute("PRAGMA disable_profiling")
        tree = json.loads(Path(output.name).read_text())
    operators: list[dict[str, Any]] = []
    collect(tree, operators)
    operators.sort(key=lambda operator: operator["seconds"], reverse=True)
    return {"latency_seconds": round(tree.get("latency", 0.0), 4), "operators": operators[:TOP_OPERATORS]}


def collect(node: dict[str, Any], into: list[dict[str, Any]]) -> None:
    name = node.get("operator_name") or node.get("operator_type")
    if name:
        extra = node.get("extra_info") or {}
        detail = extra.get("Table") or extra.get("Join Type") or extra.get("Projections") or ""
        into.append(
            {
                "operator": name.strip(),
                "detail": str(detail)[:120],
                "rows": node.get("operator_cardinality"),
                "seconds": round(node.get("operator_timing", 0.0), 4),
            }
        )
    for child in node.get("children", []):
        collect(child, into)


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))))
