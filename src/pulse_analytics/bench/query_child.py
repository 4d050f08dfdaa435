"""In a child process: run one SQL query on a warehouse several times and print the timings as JSON.

Time is measured from sending the query until its whole result is in memory as an Arrow table: DuckDB executes the
query and materialises every row and column, without the cost of converting values to Python objects (which would
dominate for wide results and is not the engine's). The process exits afterwards, so its peak RSS is this query's.
`python -m pulse_analytics.bench.query_child '{"warehouse_dir": ..., "sql": ..., "runs": 5, "warmups": 1}'`;
`sql` may be a list of statements (a chart that sends several queries): a run then executes each in turn.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pulse_analytics import warehouse

TOP_OPERATORS = 8


def run(payload: dict[str, Any]) -> dict[str, Any]:
    connection = warehouse.connect_analytics(read_only=True, warehouse_dir=Path(payload["warehouse_dir"]))
    statements = payload["sql"] if isinstance(payload["sql"], list) else [payload["sql"]]
    for _ in range(payload.get("warmups", 1)):
        for sql in statements:
            connection.execute(sql).to_arrow_table()
    seconds, rows, columns = [], 0, 0
    for _ in range(payload["runs"]):
        started = time.perf_counter()
        rows, columns = 0, 0
        for sql in statements:
            table = connection.execute(sql).to_arrow_table()
            rows, columns = rows + table.num_rows, max(columns, table.num_columns)
            del table
        seconds.append(time.perf_counter() - started)
    result: dict[str, Any] = {"seconds": seconds, "rows": rows, "columns": columns}
    if payload.get("profile"):
        result["profile"] = profile(connection, statements[-1])
    connection.close()
    return result


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
