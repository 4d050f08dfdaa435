"""Runs the dbt project (dbt/) with the bundle's configuration and explains what failed.

Each warehouse has its own build folder for dbt's target and logs, locked while a build runs, so builds of two
warehouses never mix their results and a second build of the same warehouse waits for the first. On the embedded
warehouse dbt builds and tests the views into a staging copy of the analytics file, and only a build that passed
replaces the live file, in one rename: Superset never waits for a build, and never reads a half-built or failed one.
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb

from pulse_analytics import config, project, trino_connection, warehouse
from pulse_analytics.errors import PulseError

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


def project_dir() -> Path:
    """The dbt project: dbt/ of the project `pulse` works on."""
    return project.path("dbt")


def dbt_environment(overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The environment dbt runs in: the settings resolved, `overrides` over them, and the password of the Trino user
    they name (dbt's profile reads PULSE_ANALYTICS_TRINO_PASSWORD)."""
    env = {
        **os.environ,
        **config.resolved_environment(),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        **(overrides or {}),
    }
    return config.with_trino_password(config.with_trino_ca(env))


def dbt_command(command: str, target: str, *args: str, dbt_dir: Path | None = None) -> list[str]:
    executable = Path(sys.executable).with_name("dbt")
    folder = dbt_dir or project_dir()
    return [
        str(executable),
        command,
        "--project-dir",
        str(folder),
        "--profiles-dir",
        str(folder),
        "--target",
        target,
        *args,
    ]


def prepare(target: str) -> None:
    """Check what dbt needs before it starts, and say what to do when it is missing."""
    if target not in TARGETS:
        raise PulseError(f"unknown dbt target '{target}'; choose one of {', '.join(TARGETS)}.")
    if target == "duckdb":
        if config.get("TELEMETRY_CATALOG") == config.get("METADATA_CATALOG"):
            raise PulseError(
                "on the embedded DuckDB warehouse PULSE_ANALYTICS_TELEMETRY_CATALOG and "
                "PULSE_ANALYTICS_METADATA_CATALOG must name different files; they are both "
                f"'{config.get('METADATA_CATALOG')}'."
            )
        warehouse.require_warehouse()
        warehouse.write_attach_script()
    else:
        trino_connection.check_settings()
        if reason := trino_unreachable():
            raise PulseError(
                f"{reason}. Set PULSE_ANALYTICS_TRINO_HOST and PULSE_ANALYTICS_TRINO_PORT to "
                "your Trino coordinator, or start the compose stack with `docker compose up`."
            )


def trino_unreachable() -> str | None:
    """None when something listens at the configured Trino address, else why not."""
    host, port = config.get("TRINO_HOST"), int(config.get("TRINO_PORT"))
    try:
        with socket.create_connection((host, port), timeout=3):
            return None
    except OSError as error:
        return f"no Trino reachable at {host}:{port} ({error})"


def build_folder(target: str, warehouse_dir: Path | None = None) -> Path:
    """The folder of one warehouse's builds: dbt's target and logs, and the staging analytics file (DuckDB)."""
    if target == "duckdb":
        return (warehouse_dir or config.warehouse_dir()) / ".build"
    address = "-".join(config.get(name) for name in ("TRINO_HOST", "TRINO_PORT", "TARGET_CATALOG", "TARGET_SCHEMA"))
    return project_dir() / "target" / f"trino-{address}"


@contextmanager
def build_lock(folder: Path, activity: str = "the build of this warehouse") -> Iterator[None]:
    """Hold the warehouse's build lock; a second build of the same warehouse says so and waits for the first."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "lock", "a+") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.seek(0)
            holder = lock_file.read().strip() or "another process"
            print(
                f"waiting for {activity} already running ({holder}; build folder {folder})", file=sys.stderr, flush=True
            )
            fcntl.flock(lock_file, fcntl.LOCK_EX)
        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(f"pid {os.getpid()}\n")
        lock_file.flush()
        yield


def stop_with_parent() -> None:
    """In a child process: be sent SIGTERM when the parent dies, even by kill -9 (Linux prctl PR_SET_PDEATHSIG)."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def run(command: str, target: str, folder: Path, *args: str, environment: dict[str, str] | None = None) -> int:
    """Run one dbt command with its target and logs in `folder`, its output streamed to the terminal. Returns dbt's
    exit code. dbt stops when `pulse` does."""
    paths = ["--target-path", str(folder / "target"), "--log-path", str(folder / "logs")]
    process = subprocess.run(
        dbt_command(command, target, *paths, *args),
        cwd=project_dir(),
        env=dbt_environment(environment),
        preexec_fn=stop_with_parent,
    )
    return process.returncode


def manifest_folder(dbt_dir: Path) -> Path:
    """Where `dbt parse` of a dbt project keeps its manifest and the fingerprint of the files it parsed."""
    return dbt_dir / "target" / "parse"


def manifest(dbt_dir: Path | None = None) -> dict[str, Any]:
    """The dbt project's manifest, as `dbt parse` writes it: every model with its columns, their descriptions (docs
    blocks resolved) and its meta; no warehouse needed. It is kept in <project>/target/parse with a fingerprint of the
    project's files and dbt's version, and reused while they are the same, so a check reads it in milliseconds; after
    an edit dbt parses again, partially (a few seconds; the first parse of a project takes longer). Settings do not
    change what is read from it (descriptions, columns), so they are not part of the fingerprint."""
    project = dbt_dir or project_dir()
    folder = manifest_folder(project)
    manifest_file, fingerprint_file = folder / "target" / "manifest.json", folder / "fingerprint"
    fingerprint = project_fingerprint(project)
    with build_lock(folder, activity="a `dbt parse` of this project"):
        if not manifest_file.exists() or not fingerprint_file.exists() or fingerprint_file.read_text() != fingerprint:
            why = "it changed since the last parse" if manifest_file.exists() else f"no manifest in {folder} yet"
            fingerprint_file.unlink(missing_ok=True)
            print(f"reading the dbt project's docs with `dbt parse` ({why}) ...", file=sys.stderr, flush=True)
            started = time.monotonic()
            paths = ["--target-path", str(folder / "target"), "--log-path", str(folder / "logs")]
            process = subprocess.run(
                dbt_command("parse", "duckdb", *paths, "--quiet", dbt_dir=project),
                cwd=project,
                env=dbt_environment(),
                capture_output=True,
                text=True,
                preexec_fn=stop_with_parent,
            )
            if process.returncode != 0 or not manifest_file.exists():
                said = "\n".join((process.stdout + process.stderr).strip().splitlines()[-20:])
                raise PulseError(
                    f"`dbt parse` of {project} failed (exit code {process.returncode}):\n{said}\nFix the "
                    "dbt project, then run the command again."
                )
            fingerprint_file.write_text(fingerprint)
            print(f"... dbt parse done ({time.monotonic() - started:.1f} s)", file=sys.stderr, flush=True)
        return json.loads(manifest_file.read_text(encoding="utf-8"))


def project_fingerprint(project: Path) -> str:
    """A hash of every file of the dbt project (but dbt's own output folders) and of dbt's version."""
    digest = hashlib.sha256()
    for package in ("dbt-core", "dbt-duckdb"):
        digest.update(f"{package} {metadata.version(package)}\n".encode())
    skipped = {"target", "logs", "dbt_packages"}
    for path in sorted(project.rglob("*")):
        relative = path.relative_to(project)
        if relative.parts[0] in skipped or not path.is_file():
            continue
        digest.update(f"{relative}\n".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def build(target: str = "duckdb", select: str | None = None) -> BuildResult:
    """`dbt build`: create every view and run every data test; print a one-line summary and each failure's cause.
    The views readers see are replaced only by a build that passed every test."""
    prepare(target)
    folder = build_folder(target)
    args = ["--select", select] if select else []
    with build_lock(folder):
        (folder / "target" / "run_results.json").unlink(missing_ok=True)  # never report a previous run's results
        build_and_publish = build_on_duckdb if target == "duckdb" else build_on_trino
        result, live_unchanged = build_and_publish(folder, args)
    for failure in result.failures:
        print(failure, file=sys.stderr)
    print(result.summary)
    if result.exit_code != 0 and live_unchanged:
        print("The views Superset reads are unchanged: those of the last build that passed.", file=sys.stderr)
    return result


def build_on_duckdb(folder: Path, args: list[str]) -> tuple[BuildResult, bool]:
    """Build and test into a staging analytics file; a build that passed replaces the live file in one rename."""
    staging = stage_analytics_file(folder, keep_views="--select" in args)
    exit_code = run("build", "duckdb", folder, *args, environment={config.PREFIX + "BUILD_DIR": str(staging.parent)})
    result = read_results("duckdb", folder, exit_code, analytics_file=staging)
    if exit_code == 0:
        publish(staging, warehouse.catalog_path(config.get("TARGET_CATALOG")))
    return result, exit_code != 0


def build_on_trino(folder: Path, args: list[str]) -> tuple[BuildResult, bool]:
    """Build and test into the staging schema; a build that passed then replaces the live views, each in one
    statement (a Trino view is replaced atomically; the set of them is not)."""
    exit_code = run("build", "trino", folder, *args, environment={config.PREFIX + "TARGET_SCHEMA": staging_schema()})
    result = read_results("trino", folder, exit_code)
    if exit_code != 0:
        return result, True
    live = f"{config.get('TARGET_CATALOG')}.{config.get('TARGET_SCHEMA')}"
    print(
        f"Every view built and tested in {config.get('TARGET_CATALOG')}.{staging_schema()}: replacing the views of "
        f"{live}",
        flush=True,
    )
    result.exit_code = run("run", "trino", folder, *args)
    if result.exit_code != 0:
        result.failures.append(
            f"error: replacing the views of {live} failed part way (see dbt's messages above); "
            "run `pulse build --target trino` again."
        )
    return result, False


def staging_schema() -> str:
    """Where `pulse build --target trino` builds and tests the views before it replaces the live ones."""
    return f"{config.get('TARGET_SCHEMA')}__staging"


def stage_analytics_file(folder: Path, keep_views: bool) -> Path:
    """An empty staging analytics file for dbt to build into (a copy of the live one when only some models are
    built). Its file stem is the catalog name, so its views name the analytics catalog as the live file's do."""
    staging = folder / "staging" / f"{config.get('TARGET_CATALOG')}.duckdb"
    if staging.parent.exists():
        shutil.rmtree(staging.parent)
    staging.parent.mkdir(parents=True)
    live = warehouse.catalog_path(config.get("TARGET_CATALOG"))
    if keep_views and live.exists():
        shutil.copyfile(live, staging)
    return staging


def publish(staging: Path, live: Path) -> None:
    """Make a passed build's views live in one rename. Readers that opened the old file keep reading it until they
    close it; every new connection opens the new one."""
    connection = duckdb.connect(str(staging))
    connection.execute("CHECKPOINT")  # everything in the file itself: no write-ahead log left beside it
    connection.close()
    Path(f"{live}.wal").unlink(missing_ok=True)  # a log of the old file must never be replayed onto the new one
    os.replace(staging, live)


def read_results(target: str, folder: Path, exit_code: int, analytics_file: Path | None = None) -> BuildResult:
    results_path = folder / "target" / "run_results.json"
    manifest_path = folder / "target" / "manifest.json"
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
            failures.append(explain_failure(target, result, node, nodes, analytics_file))
    return BuildResult(exit_code, counts, failures)


def explain_failure(
    target: str, result: dict[str, Any], node: dict[str, Any], nodes: dict[str, Any], analytics_file: Path | None = None
) -> str:
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
            header, rows = query(
                target, f"select * from ({compiled}) as failing limit {OFFENDING_ROWS_SHOWN}", analytics_file
            )
            lines.append(f"  offending rows of {model} (first {OFFENDING_ROWS_SHOWN}): {', '.join(header)}")
            lines.extend(f"    {row}" for row in rows)
        except Exception as error:  # the explanation must never hide the failure itself
            lines.append(f"  (could not list the offending rows: {error})")
    lines.append(f"  fix the rows in the source table behind {model}, then run `pulse build` again.")
    return "\n".join(lines)


def query(target: str, sql: str, analytics_file: Path | None = None) -> tuple[list[str], list[tuple]]:
    """Run a read-only query on the analytics catalog of a target (on DuckDB: the live file, or `analytics_file`)."""
    if target == "duckdb":
        connection = warehouse.connect_analytics(read_only=True, analytics_file=analytics_file)
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
