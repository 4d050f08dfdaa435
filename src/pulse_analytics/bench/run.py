"""`pulse bench`: every size, the warehouse half then the Superset half, results written after each size."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pulse_analytics.bench import engine, machine, report
from pulse_analytics.bench import superset as superset_half
from pulse_analytics.bench.measure import load_average
from pulse_analytics.progress import step

DEFAULT_SIZES = (1_000_000, 10_000_000)
DEFAULT_WORK_DIR = Path("/tmp/pulse-bench")
DEFAULT_OUT_DIR = Path(__file__).resolve().parents[3] / "bench"


@dataclass(frozen=True)
class Settings:
    sizes: tuple[int, ...] = DEFAULT_SIZES
    runs: int = 5
    dbt_runs: int = 3
    seed: int = 42
    work_dir: Path = DEFAULT_WORK_DIR
    out_dir: Path = DEFAULT_OUT_DIR
    superset: bool = True


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
            raise SystemExit(f"error: --rows '{text}': '{item.strip()}' is not a row count such as 1M or 1000000."
                             ) from None  # fmt: skip
    return tuple(sizes)


def run(settings: Settings) -> dict[str, Any]:
    """Measure every size; write results.json, REPORT.md and bench.png to out_dir after each one."""
    check(settings)
    results: dict[str, Any] = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine.describe(),
        "settings": {"sizes": list(settings.sizes), "runs": settings.runs, "dbt_runs": settings.dbt_runs,
                     "seed": settings.seed, "superset": settings.superset},
        "load_average_start": load_average(), "sizes": [],
    }  # fmt: skip
    server = superset_half.Server(settings.work_dir / "superset-state") if settings.superset else None
    started: engine.Size | None = None
    try:
        for number, rows in enumerate(settings.sizes, start=1):
            size = engine.Size(rows, settings.work_dir / f"rows-{rows}")
            step(f"Size {number}/{len(settings.sizes)}: {rows:,} telemetry rows")
            entry = measure_size(size, settings)
            if server is not None:
                if started is None:
                    server.start(size.directory)
                    started = size
                entry["superset"] = measure_superset(server, size, settings.runs)
                entry["queries"].extend(engine.time_queries(size, chart_queries(size, entry["superset"]),
                                                            settings.runs))  # fmt: skip
            results["sizes"].append(entry)
            results["load_average_end"] = load_average()
            report.write(results, settings.out_dir)
    finally:
        if server is not None and started is not None:
            server.stop(started.directory)
    print(f"bench: results in {settings.out_dir}/ ({report.RESULTS}, {report.REPORT}, {report.PLOT})", file=sys.stderr)
    return results


def check(settings: Settings) -> None:
    if not settings.sizes or any(rows < 1_000 for rows in settings.sizes):
        raise SystemExit("error: --rows takes sizes of at least 1000 telemetry rows, e.g. --rows 1000000,10000000.")
    if settings.runs < 1 or settings.dbt_runs < 1:
        raise SystemExit("error: --runs and --dbt-runs must be at least 1.")
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    settings.out_dir.mkdir(parents=True, exist_ok=True)


def measure_size(size: engine.Size, settings: Settings) -> dict[str, Any]:
    """The warehouse half: data, dbt, and the queries on the views with their lower bounds."""
    entry: dict[str, Any] = {"rows_requested": size.rows, "seed": engine.seed(size, settings.seed)}
    entry["dbt"] = engine.dbt_timings(size, settings.dbt_runs)
    entry["data"] = engine.describe_data(size)
    entry["query_baseline_rss_bytes"] = engine.baseline_rss_bytes(size)
    entry["queries"] = engine.time_queries(size, engine.warehouse_queries(size), settings.runs)
    return entry


def measure_superset(server: superset_half.Server, size: engine.Size, runs: int) -> dict[str, Any]:
    server.sync(size.directory)
    return superset_half.measure(server, size.directory, runs)


def chart_queries(size: engine.Size, measured: dict[str, Any]) -> list[engine.Query]:
    """The SQL of every chart-data request, each with its stored-copy lower bound (see engine's module doc)."""
    names = engine.view_names(size)
    charts = [chart for chart in measured["charts"] if chart["sql"]]
    needed = sorted({name for chart in charts for name in superset_half.views_read(chart["sql"], names)})
    copies = engine.store_copies(size, needed)
    return [engine.Query(f"{chart['dashboard']}: {chart['chart']}", "chart", chart["sql"], chart["sql"],
                         "stored copy", copies) for chart in charts]  # fmt: skip
