"""Runs the dbt project (dbt/) with the bundle's configuration and explains what failed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulse_analytics import config, trino_connection, warehouse

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt"
TARGETS = ("duckdb", "trino")
OFFENDING_ROWS_SHOWN = 5


@dataclass
class BuildResult:
    exit_code: int
    counts: Counter[str]  # e.g. {"model success": 15, "test pass": 40, "test fail": 1}
    failures: list[str]  # one explanation per failed node

    @property
    def summary(self) -> str:
        models = self.counts["model success"]
        passed, failed = self.counts["test pass"], self.counts["test fail"] + self.counts["test error"]
        errors = self.counts["model error"] + self.counts["model skipped"]
        verdict = "OK" if self.exit_code == 0 else "FAILED"
        return f"build {verdict}: {models} views built, {errors} not built, {passed} tests passed, {failed} failed"


def dbt_environment() -> dict[str, str]:
    return {**os.environ, **config.resolved_environment(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


def dbt_command(command: str, target: str, *args: str) -> list[str]:
    executable = Path(sys.executable).with_name("dbt")
    return [str(executable), command, "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR),
            "--target", target, *args]  # fmt: skip


def prepare(target: str) -> None:
    """Check what dbt needs before it starts, and say what to do when it is missing."""
    if target not in TARGETS:
        raise SystemExit(f"error: unknown dbt target '{target}'; choose one of {', '.join(TARGETS)}.")
    if target == "duckdb":
        if config.get("TELEMETRY_CATALOG") == config.get("METADATA_CATALOG"):
            raise SystemExit("error: on the embedded DuckDB warehouse PULSE_ANALYTICS_TELEMETRY_CATALOG and "
                             "PULSE_ANALYTICS_METADATA_CATALOG must name different files; they are both "
                             f"'{config.get('METADATA_CATALOG')}'.")  # fmt: skip
        warehouse.require_warehouse()
        warehouse.write_attach_script()
    else:
        trino_connection.check_settings()
        if reason := trino_unreachable():
            raise SystemExit(f"error: {reason}. Set PULSE_ANALYTICS_TRINO_HOST and PULSE_ANALYTICS_TRINO_PORT to "
                             "your Trino coordinator, or start the compose stack with `docker compose up`.")


def trino_unreachable() -> str | None:
    """None when something listens at the configured Trino address, else why not."""
    host, port = config.get("TRINO_HOST"), int(config.get("TRINO_PORT"))
    try:
        with socket.create_connection((host, port), timeout=3):
            return None
    except OSError as error:
        return f"no Trino reachable at {host}:{port} ({error})"


def run(command: str, target: str, *args: str) -> int:
    """Run one dbt command, its output streamed to the terminal. Returns dbt's exit code."""
    prepare(target)
    process = subprocess.run(dbt_command(command, target, *args), env=dbt_environment(), cwd=PROJECT_DIR)
    return process.returncode


def build(target: str = "duckdb", select: str | None = None) -> BuildResult:
    """`dbt build`: create every view and run every data test; print a one-line summary and each failure's cause."""
    args = ["--select", select] if select else []
    (PROJECT_DIR / "target" / "run_results.json").unlink(missing_ok=True)  # never report a previous run's results
    exit_code = run("build", target, *args)
    result = read_results(target, exit_code)
    for failure in result.failures:
        print(failure, file=sys.stderr)
    print(result.summary)
    return result


def read_results(target: str, exit_code: int) -> BuildResult:
    results_path = PROJECT_DIR / "target" / "run_results.json"
    manifest_path = PROJECT_DIR / "target" / "manifest.json"
    if not results_path.exists():
        return BuildResult(exit_code, Counter(), ["dbt wrote no results: see its messages above."])
    results = json.loads(results_path.read_text())["results"]
    nodes = json.loads(manifest_path.read_text())["nodes"] if manifest_path.exists() else {}
    counts: Counter[str] = Counter()
    failures = []
    for result in results:
        node = nodes.get(result["unique_id"], {})
        kind = node.get("resource_type", result["unique_id"].split(".")[0])
        counts[f"{kind} {result['status']}"] += 1
        if result["status"] in ("fail", "error"):
            failures.append(explain_failure(target, result, node, nodes))
    return BuildResult(exit_code, counts, failures)


def explain_failure(target: str, result: dict[str, Any], node: dict[str, Any], nodes: dict[str, Any]) -> str:
    """Name the table, column and offending values of a failed data test (or the message of a failed model)."""
    if node.get("resource_type") != "test":
        return f"error: {result['unique_id']}: {result.get('message')}"
    kwargs = node.get("test_metadata", {}).get("kwargs", {})
    columns = kwargs.get("column_name") or ", ".join(kwargs.get("columns", []))
    tested = node.get("attached_node") or ", ".join(node.get("depends_on", {}).get("nodes", []))
    model = tested.split(".")[-1]
    table = next((f" (source table {t.qualified})" for t in config.source_tables() if t.name == model), "")
    lines = [f"error: data test {node.get('name')} failed on {model}{table}, column {columns}: {result.get('message')}"]
    compiled = result.get("compiled_code") or node.get("compiled_code")
    relation = nodes.get(tested, {}).get("relation_name")
    if node.get("test_metadata", {}).get("name") == "not_null" and relation:
        compiled = f"select * from {relation} where {columns} is null"  # whole rows, so the user can find them
    if compiled:
        try:
            header, rows = query(target, f"select * from ({compiled}) as failing limit {OFFENDING_ROWS_SHOWN}")
            lines.append(f"  offending rows of {model} (first {OFFENDING_ROWS_SHOWN}): {', '.join(header)}")
            lines.extend(f"    {row}" for row in rows)
        except Exception as error:  # the explanation must never hide the failure itself
            lines.append(f"  (could not list the offending rows: {error})")
    lines.append(f"  fix the rows in the source table behind {model}, then run `pulse build` again.")
    return "\n".join(lines)


def query(target: str, sql: str) -> tuple[list[str], list[tuple]]:
    """Run a read-only query on the analytics catalog of a target."""
    if target == "duckdb":
        connection = warehouse.connect_analytics(read_only=True)
        try:
            cursor = connection.execute(sql)
            return [column[0] for column in cursor.description], cursor.fetchall()
        finally:
            connection.close()
    connection = trino_connection.connect(catalog=config.get("TARGET_CATALOG"), schema=config.get("TARGET_SCHEMA"))
    try:
        cursor = connection.cursor()
        cursor.execute(sql)
        rows = [tuple(row) for row in cursor.fetchall()]
        return [column[0] for column in cursor.description], rows
    finally:
        connection.close()
