"""The engines `pulse bench` measures (`--target duckdb,trino`), and the one place that says what each does
differently. Everything else is the same for both: the data of a size (seeded once, in DuckDB files), the queries on
the views and their lower bounds, the dbt project, the dashboards and their chart-data requests.

duckdb  the embedded warehouse: the size's DuckDB files, queried in-process by the measuring child; dbt target duckdb;
        Superset synced to the files. Peak memory of a query: the measuring child's own (VmHWM), in a run of its own.
trino   the production path: a native Trino stack (trino_native: PostgreSQL and Trino with trino_catalogs/) in
        <work-dir>/trino, started on a free port unless it runs, stopped at the end if the benchmark started it; or a
        running Trino given with --trino-server. The size's warehouse is copied into it by `pulse load-trino` (user
        loader), the views built by dbt-trino (user dbt), the queries sent by the Python client Superset also uses
        (user admin, which reads the views, the source tables of the lower bounds and the stored copies alike), and
        Superset synced to it (`pulse sync --target trino`, user superset). Peak memory of a query: Trino's own count
        for it (the query's peak memory, from its statistics); of the whole server: the JVM's VmHWM (native stack).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pulse_analytics import config, warehouse
from pulse_analytics.bench.measure import pulse_command, run_child, vm_hwm
from pulse_analytics.errors import PulseError
from pulse_analytics.progress import step

if TYPE_CHECKING:
    from pulse_analytics.bench.engine import Size

NAMES = ("duckdb", "trino")
STORED_COPY_SCHEMA = "bench_stored_copy"  # Trino: the stored copies, a schema of the analytics catalog
TRINO_TYPES = {"TIMESTAMP": "timestamp(6)", "FLOAT": "real"}  # DuckDB type names Trino spells otherwise


class Target:
    """What the benchmark asks of a target; the defaults are DuckDB's where it has nothing to do."""

    name: str

    def open(self) -> None:
        """Before the first size: start what the target runs on."""

    def close(self) -> None:
        """After the last size: stop what open() started."""

    def settings_for(self, user: str) -> dict[str, str]:
        """The PULSE_ANALYTICS_* settings that point a process at this target as `user` (a Trino user)."""
        return {}

    def env(self, size: Size, user: str) -> dict[str, str]:
        """The environment of `pulse` and dbt working on this size, as `user`."""
        return config.with_trino_ca({**size.env(), **self.settings_for(user)})

    def prepare(self, size: Size) -> dict[str, Any]:
        """Make the size's seeded data queryable by this target; what it measured doing so."""
        raise NotImplementedError

    def connection(self, size: Size, stored_copy: bool = False) -> dict[str, Any]:
        """How the measuring child (query_child) connects: to the size's views and sources, or to the stored copy."""
        raise NotImplementedError

    def sql_type(self, duckdb_type: str) -> str:
        """A DuckDB type (of the lower bounds' casts) as this target spells it."""
        return duckdb_type

    def map_value(self, column: str, key: str) -> str:
        """A map column's value at a key, null where it lacks the key (as the dbt macro map_value)."""
        return f"{column}['{key}']"

    def store_copies(self, size: Size, names: list[str]) -> None:
        """Store each named view's rows as a table (the chart queries' lower bound)."""
        raise NotImplementedError

    def on_stored_copy(self, sql: str, names: list[str]) -> str:
        """A chart's SQL reading the stored copy instead of the views."""
        return sql

    def memory(self) -> dict[str, Any]:
        """The engine's own memory figures after a size (beside each query's)."""
        return {}


@dataclass
class DuckDB(Target):
    """The embedded warehouse: nothing to start or load; every process reads the size's files, the stored copy is a
    folder of its own whose analytics.duckdb holds the views' rows as tables, read by the same SQL."""

    name: str = "duckdb"

    def prepare(self, size: Size) -> dict[str, Any]:
        warehouse.write_attach_script(size.directory)
        return {}

    def connection(self, size: Size, stored_copy: bool = False) -> dict[str, Any]:
        return {"duckdb": str(size.copies if stored_copy else size.directory)}

    def store_copies(self, size: Size, names: list[str]) -> None:
        from pulse_analytics.bench import engine

        engine.store_copies(size, names)


@dataclass
class Trino(Target):
    """A real Trino: the native stack in <work-dir>/trino, or the one at `server` (HOST:PORT) if given."""

    work_dir: Path
    server: str | None = None
    name: str = "trino"
    settings: dict[str, str] = field(default_factory=dict)  # PULSE_ANALYTICS_TRINO_* of the Trino used
    started: bool = False

    @property
    def root(self) -> Path:
        return self.work_dir / "trino"

    def open(self) -> None:
        from pulse_analytics import trino_native

        if self.server:
            host, _, port = self.server.rpartition(":")
            if not host or not port.isdigit():
                raise PulseError(f"--trino-server '{self.server}': give HOST:PORT, e.g. 127.0.0.1:8080.")
            # The rest (https, CA, password) comes from the PULSE_ANALYTICS_TRINO_* of this environment.
            self.settings = {config.PREFIX + "TRINO_HOST": host, config.PREFIX + "TRINO_PORT": port}
            return
        stack = trino_native.running(self.root)
        if stack is None:
            step(f"Starting the benchmark's Trino (native stack in {self.root})")
            stack = trino_native.start(self.root, trino_port=trino_native.free_port())
            self.started = True
        self.settings = trino_native.client_environment(stack)

    def close(self) -> None:
        if self.started:
            from pulse_analytics import trino_native

            step(f"Stopping the benchmark's Trino ({self.root})")
            trino_native.stop(self.root)

    def settings_for(self, user: str) -> dict[str, str]:
        return {**self.settings, config.PREFIX + "TRINO_USER": user}

    def prepare(self, size: Size) -> dict[str, Any]:
        """`pulse load-trino` of the size's warehouse (user loader), timed. The benchmark's own stack remembers which
        warehouse it holds and reloads (--replace) only another one; a Trino given with --trino-server is loaded
        without --replace: load-trino keeps tables that already hold this data and refuses to overwrite others."""
        marker = self.root / "bench-loaded.json"
        seeded = json.loads((size.directory / "bench-seed.json").read_text())["wanted"]
        if not self.server and marker.exists() and json.loads(marker.read_text()) == seeded:
            print(f"reusing the {size.rows:,}-row data already loaded into Trino", file=sys.stderr)
            return {"load": {"reused": True}}
        marker.unlink(missing_ok=True)
        step(f"Loading the {size.rows:,}-row warehouse into Trino (`pulse load-trino`, user loader)")
        result = run_child(
            [pulse_command(), "load-trino", *([] if self.server else ["--replace"])], env=self.env(size, "loader")
        )
        if result.exit_code != 0:
            raise PulseError(f"`pulse load-trino` failed at {size.rows:,} rows:\n{result.stderr[-3000:]}")
        if not self.server:
            marker.write_text(json.dumps(seeded) + "\n")
        written = re.search(r"load-trino OK: ([\d,]+) rows written", result.stdout)
        rows = int(written.group(1).replace(",", "")) if written else None
        return {
            "load": {
                "seconds": round(result.seconds, 2),
                "rows_written": rows,
                "peak_rss_bytes": result.peak_rss_bytes,
                "reused": False,
            }
        }

    def connection(self, size: Size, stored_copy: bool = False) -> dict[str, Any]:
        return {"trino": {"settings": self.settings_for("admin")}}  # no password: the child reads it where we do

    def sql_type(self, duckdb_type: str) -> str:
        return TRINO_TYPES.get(duckdb_type, duckdb_type)

    def map_value(self, column: str, key: str) -> str:
        return f"element_at({column}, '{key}')"

    def on_stored_copy(self, sql: str, names: list[str]) -> str:
        """A chart's SQL reading the stored copy: each view's schema (`pulse.<view>`) replaced by the copy's."""
        schema, views = re.escape(config.get("TARGET_SCHEMA")), "|".join(re.escape(name) for name in names)
        pattern = rf'\b{schema}\.({views})\b|"{schema}"\."({views})"'
        copy, replaced = re.subn(pattern, lambda found: f"{STORED_COPY_SCHEMA}.{found.group(1) or found.group(2)}", sql)
        if not replaced:
            raise PulseError(
                f"the chart SQL names none of the views {', '.join(names)} as "
                f"{config.get('TARGET_SCHEMA')}.<view>; it cannot be pointed at the stored copy:\n{sql}"
            )
        return copy

    def store_copies(self, size: Size, names: list[str]) -> None:
        """Each named view's rows as an Iceberg table of the same name in analytics.bench_stored_copy (user admin)."""
        from pulse_analytics import trino_connection

        catalog = config.get("TARGET_CATALOG")
        step(
            f"Storing {len(names)} views as tables in {catalog}.{STORED_COPY_SCHEMA} for the chart queries' lower bound"
        )
        with config.overridden(self.settings_for("admin")):
            connection = trino_connection.connect()
        try:
            cursor = connection.cursor()
            trino_connection.run(cursor, f'CREATE SCHEMA IF NOT EXISTS "{catalog}"."{STORED_COPY_SCHEMA}"')
            for name in names:
                copy = f'"{catalog}"."{STORED_COPY_SCHEMA}"."{name}"'
                trino_connection.run(cursor, f"DROP TABLE IF EXISTS {copy}")
                trino_connection.run(
                    cursor, f'CREATE TABLE {copy} AS SELECT * FROM "{catalog}"."{config.get("TARGET_SCHEMA")}"."{name}"'
                )
        finally:
            connection.close()

    def memory(self) -> dict[str, Any]:
        """The peak resident memory so far of each of the native stack's Trino JVMs (coordinator, workers) and their
        sum, and the heap limits."""
        from pulse_analytics import trino_native

        if self.server:
            return {"jvm_peak_rss_bytes": None, "jvm_max_heap": None}
        peaks = {}
        for node in trino_native.Paths(self.root).every_node():
            pid_file = node.data / "var" / "run" / "launcher.pid"
            if pid_file.exists() and (peak := vm_hwm(pid_file.read_text().strip())) is not None:
                peaks[node.node_id] = peak
        workers = len(peaks) - 1
        heaps = f"workers {config.get('TRINO_MEMORY')}, coordinator {config.get('TRINO_COORDINATOR_MEMORY')}"
        return {
            "jvm_peak_rss_bytes": sum(peaks.values()) or None,
            "jvm_peak_rss_bytes_by_node": peaks,
            "jvm_max_heap": heaps if workers > 0 else config.get("TRINO_MEMORY"),
            "workers": workers,
        }


def parse(text: str, work_dir: Path, trino_server: str | None) -> list[DuckDB | Trino]:
    """'duckdb', or 'duckdb,trino' (also 'trino'): DuckDB always first (the Trino figures are reported beside its
    own)."""
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    names = ["duckdb", "trino"] if names == ["trino"] else names
    unknown = [name for name in names if name not in NAMES]
    if unknown or "duckdb" not in names:
        raise PulseError(
            f"--target '{text}': choose duckdb or duckdb,trino (DuckDB is always measured: the "
            "Trino figures are reported beside it)."
        )
    return [DuckDB()] + ([Trino(work_dir, trino_server)] if "trino" in names else [])
