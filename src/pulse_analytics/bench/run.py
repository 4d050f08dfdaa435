"""`pulse bench`: every size, the warehouse half then the Superset half, results written after each size."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pulse_analytics import project
from pulse_analytics.bench import engine, machine, report, targets
from pulse_analytics.bench import superset as superset_half
from pulse_analytics.bench.measure import load_average
from pulse_analytics.errors import PulseError
from pulse_analytics.progress import step

DEFAULT_SIZES = (1_000_000, 10_000_000)
DEFAULT_WORK_DIR = Path("/tmp/pulse-bench")


@dataclass(frozen=True)
class Settings:
    sizes: tuple[int, ...] = DEFAULT_SIZES
    runs: int = 5
    dbt_runs: int = 3
    seed: int = 42
    work_dir: Path = DEFAULT_WORK_DIR
    out_dir: Path = field(default_factory=lambda: project.path("bench"))
    superset: bool = True
    target: str = "duckdb"  # duckdb, or duckdb,trino (targets.py)
    trino_server: str | None = None  # HOST:PORT of a running Trino instead of the benchmark's own native stack


def settings_from(rows: str | None = None, **given: Any) -> Settings:
    """Settings from the command line: options not given keep their defaults."""
    chosen = {name: value for name, value in given.items() if value is not None}
    if rows is not None:
        chosen["sizes"] = parse_sizes(rows)
    return Settings(**chosen)


def parse_sizes(text: str) -> tuple[int, ...]:
    """'1M,10M,30M' or '1000000,10000000': telemetry row counts (k and M suffixes allowed)."""
    sizes = []
    for item in text.split(","):
        cleaned = item.strip().replace("_", "").lower()
        factor = {"k": 1_000, "m": 1_000_000}.get(cleaned[-1:], 1)
        number = cleaned[:-1] if factor > 1 else cleaned
        try:
            sizes.append(int(float(number) * factor))
        except ValueError:
            raise PulseError(f"--rows '{text}': '{item.strip()}' is not a row count such as 1M or 1000000.") from None
    return tuple(sizes)


def run(settings: Settings) -> dict[str, Any]:
    """Measure every size on every target; write results.json, REPORT.md and bench.png to out_dir after each size."""
    check(settings)
    measured_on = targets.parse(settings.target, settings.work_dir, settings.trino_server)
    results: dict[str, Any] = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine.describe(),
        "settings": {
            "sizes": list(settings.sizes),
            "runs": settings.runs,
            "dbt_runs": settings.dbt_runs,
            "seed": settings.seed,
            "superset": settings.superset,
            "targets": [target.name for target in measured_on],
        },
        "load_average_start": load_average(),
        "sizes": [],
    }
    server = superset_half.Server(settings.work_dir / "superset-state") if settings.superset else None
    started: engine.Size | None = None
    try:
        for target in measured_on:
            target.open()
        for number, rows in enumerate(settings.sizes, start=1):
            size = engine.Size(rows, settings.work_dir / f"rows-{rows}")
            step(f"Size {number}/{len(settings.sizes)}: {rows:,} telemetry rows")
            entry: dict[str, Any] = {"rows_requested": size.rows, "seed": engine.seed(size, settings.seed)}
            if server is not None and started is None:
                server.start(size.directory)
                started = size
            for target in measured_on:  # DuckDB's figures at the top level of the size, Trino's under "trino"
                measured = measure_target(target, size, settings, server)
                if target.name == "duckdb":
                    entry.update(measured)
                else:
                    entry[target.name] = measured
            entry["data"] = engine.describe_data(size)
            entry["query_baseline_rss_bytes"] = engine.baseline_rss_bytes(size)
            results["sizes"].append(entry)
            results["load_average_end"] = load_average()
            report.write(results, settings.out_dir)
    finally:
        if server is not None and started is not None:
            server.stop(started.directory)
        for target in measured_on:
            target.close()
    print(f"bench: results in {settings.out_dir}/ ({report.RESULTS}, {report.REPORT}, {report.PLOT})", file=sys.stderr)
    return results


def check(settings: Settings) -> None:
    if not settings.sizes or any(rows < 1_000 for rows in settings.sizes):
        raise PulseError("--rows takes sizes of at least 1000 telemetry rows, e.g. --rows 1000000,10000000.")
    if settings.runs < 1 or settings.dbt_runs < 1:
        raise PulseError("--runs and --dbt-runs must be at least 1.")
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    settings.out_dir.mkdir(parents=True, exist_ok=True)


def measure_target(
    target: targets.Target, size: engine.Size, settings: Settings, server: superset_half.Server | None
) -> dict[str, Any]:
    """One target at one size: its data made queryable, dbt, the queries on the views with their lower bounds, and
    Superset synced to it (the dashboards, the chart-data requests, and their SQL timed on the engine)."""
    measured = target.prepare(size)
    measured["dbt"] = engine.dbt_timings(size, target, settings.dbt_runs)
    measured["queries"] = engine.time_queries(size, target, engine.warehouse_queries(size, target), settings.runs)
    if server is not None:
        server.sync(size.directory, target.name, target.settings_for("superset"))
        measured["superset"] = superset_half.measure(server, size.directory, settings.runs)
        measured["queries"].extend(
            engine.time_queries(size, target, chart_queries(size, target, measured["superset"]), settings.runs)
        )
    measured.update(target.memory())
    return measured


def chart_queries(size: engine.Size, target: targets.Target, measured: dict[str, Any]) -> list[engine.Query]:
    """The SQL of every chart-data request, each with its stored-copy lower bound (see engine's module doc)."""
    names = engine.view_names(size)
    charts = [chart for chart in measured["charts"] if chart["sql"]]
    needed = sorted({name for chart in charts for name in superset_half.views_read(chart["sql"], names)})
    target.store_copies(size, needed)
    return [
        engine.Query(
            f"{chart['dashboard']}: {chart['chart']}",
            "chart",
            chart["sql"],
            [target.on_stored_copy(sql, needed) for sql in chart["sql"]],
            "stored copy",
            bound_on_copy=True,
        )
        for chart in charts
    ]
