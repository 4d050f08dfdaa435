"""In a child process: run SQL queries on warehouses several times and print the timings as JSON.

Time is measured from sending a query until its whole result is in memory as an Arrow table: DuckDB executes the
query and materialises every row and column, without the cost of converting values to Python objects (which would
dominate for wide results and is not the engine's).

Several queries (a view query and its lower bound) are timed in turns, run 1 of each, then run 2 of each, ..., so a
change in the machine's load between them affects both alike. A child given one query and one run measures that
query's peak memory: the process exits afterwards, so its peak RSS is the query's.

`python -m pulse_analytics.bench.query_child '{"queries": [{"warehouse_dir": ..., "sql": ...}, ...], "runs": 5,
"warmups": 1, "profile": [0]}'`. A query's `sql` may be a list of statements (a chart that sends several queries): a
run then executes each in turn. `profile` lists the queries to run once more under DuckDB's profiler.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pulse_analytics import warehouse
from pulse_analytics.bench.measure import vm_hwm

TOP_OPERATORS = 8


def run(payload: dict[str, Any]) -> list[dict[str, Any]]:
    queries = payload["queries"]
    connections = [warehouse.connect_analytics(read_only=True, warehouse_dir=Path(query["warehouse_dir"]))
                   for query in queries]  # fmt: skip
    statements = [query["sql"] if isinstance(query["sql"], list) else [query["sql"]] for query in queries]
    for _ in range(payload.get("warmups", 1)):
        for connection, sqls in zip(connections, statements, strict=True):
            execute(connection, sqls)
    results: list[dict[str, Any]] = [{"seconds": []} for _ in queries]
    for _ in range(payload["runs"]):
        for connection, sqls, result in zip(connections, statements, results, strict=True):
            started = time.perf_counter()
            result["rows"], result["columns"] = execute(connection, sqls)
            result["seconds"].append(time.perf_counter() - started)
    for index in payload.get("profile", []):
        results[index]["profile"] = profile(connections[index], statements[index][-1])
    for connection in connections:
        connection.close()
    results[0]["peak_rss_bytes"] = vm_hwm("self")  # this program's own peak (see measure.run_child)
    return results


def execute(connection: Any, statements: list[str]) -> tuple[int, int]:
    """Run each statement to a complete Arrow result; (rows, widest column count) over all of them."""
    rows, columns = 0, 0
    for sql in statements:
        table = connection.execute(sql).to_arrow_table()
        rows, columns = rows + table.num_rows, max(columns, table.num_columns)
        del table
    return rows, columns


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
        into.append({"operator": name.strip(), "detail": str(detail)[:120], "rows": node.get("operator_cardinality"),
                     "seconds": round(node.get("operator_timing", 0.0), 4)})  # fmt: skip
    for child in node.get("children", []):
        collect(child, into)


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))))
