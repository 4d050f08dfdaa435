"""The benchmark's outputs: results.json (everything measured), REPORT.md (the figures that matter, and the targets),
bench.png (median time against telemetry rows: queries on the views and their lower bounds, dashboards, dbt)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS, REPORT, PLOT = "results.json", "REPORT.md", "bench.png"
GIB = 1024**3
TARGETS = {
    "ratio": 2.0,
    "part_ratio": 1.5,  # part_telemetry against its lower bounds, the views issue's tighter target
    "original_ratio": 1.0,  # part_statistics_cycle at least as fast as the original project's view
    "dashboard_s": 3.0,
    "chart_s": 1.0,
    "dbt_views_s": 30.0,
    "memory_bytes": 4 * GIB,
}


def write(results: dict[str, Any], folder: Path) -> None:
    (folder / RESULTS).write_text(json.dumps(results, indent=1) + "\n")
    plot(results, folder / PLOT)
    (folder / REPORT).write_text(markdown(results))


# --- figures ------------------------------------------------------------------------------------------------------


def telemetry_rows(size: dict[str, Any]) -> int:
    return int(size["data"]["rows"]["telemetry"])


def label(size: dict[str, Any]) -> str:
    """A size as it was asked for: 1M, 10M, 20k."""
    rows = size["rows_requested"]
    return f"{rows / 1e6:g}M" if rows >= 1_000_000 else f"{rows / 1e3:g}k"


def seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def spread(timing: dict[str, Any]) -> str:
    return f"{seconds(timing['median'])} [{seconds(timing['min'])}–{seconds(timing['max'])}]"


def mebibytes(value: int | None) -> str:
    return "–" if value is None else f"{value / 1024**2:,.0f} MiB"


def by_name(size: dict[str, Any], group: str | None = None) -> dict[str, dict[str, Any]]:
    return {query["name"]: query for query in size["queries"] if group is None or query["group"] == group}


def reference_size(results: dict[str, Any]) -> dict[str, Any]:
    """The size the targets are judged at: 10M rows if measured, else the largest."""
    sizes = results["sizes"]
    at_ten_million = [size for size in sizes if size["rows_requested"] == 10_000_000]
    return at_ten_million[0] if at_ten_million else max(sizes, key=telemetry_rows)


def targets(results: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """(target, what was measured, met) at the reference size; met is None when it was not measured."""
    size = reference_size(results)
    rows = f"{telemetry_rows(size):,} rows"
    selections = [query for query in size["queries"] if query["name"].startswith("part_telemetry, one part")]
    ratio = selections[0]["ratio"] if selections else None
    found: list[tuple[str, str, bool | None]] = [
        (
            f"One part's telemetry from part_telemetry within {TARGETS['ratio']:g}x of its lower bound ({rows})",
            f"{ratio}x" if ratio is not None else "not measured",
            None if ratio is None else ratio <= TARGETS["ratio"],
        ),
    ]
    found += view_targets(size, rows)
    superset = size.get("superset")
    if superset:
        slowest = slowest_render(superset["dashboards"])
        cached = slowest_render(superset.get("dashboards_cached", []))
        with_cache = (
            f"; with the data cache on: {cached['title']}, {seconds(cached['settled']['median'])} s" if cached else ""
        )
        found.append(
            (
                f"Every dashboard fully rendered in under {TARGETS['dashboard_s']:g} s, warm ({rows})",
                f"slowest, no data cache (the default): {slowest['title']}, "
                f"{seconds(slowest['settled']['median'])} s (median){with_cache}",
                slowest["settled"]["median"] < TARGETS["dashboard_s"],
            )
        )
        chart = max(superset["charts"], key=lambda entry: entry["api"]["median"])
        found.append(
            (
                f"Every chart's query under {TARGETS['chart_s']:g} s, warm ({rows})",
                f"slowest: {chart['chart']} ({chart['dashboard']}), {seconds(chart['api']['median'])} s",
                chart["api"]["median"] < TARGETS["chart_s"],
            )
        )
    else:
        found.append(("Dashboards and chart queries through Superset", "not measured (--skip-superset)", None))
    views = [entry["dbt"]["run"]["median"] for entry in results["sizes"]]
    build = size["dbt"]["build"]
    per_size = ", ".join(
        f"{seconds(entry['dbt']['run']['median'])} s at {telemetry_rows(entry):,}" for entry in results["sizes"]
    )
    found.append(
        (
            f"`dbt build` of all views under {TARGETS['dbt_views_s']:g} s, independent of size but for the data tests",
            f"views only (`dbt run`): {per_size} rows; whole build at {rows}: "
            f"{seconds(build['median'])} s, data tests {seconds(build['tests_seconds']['median'])} s of it",
            max(views) < TARGETS["dbt_views_s"],
        )
    )
    peak = max(
        (query[side]["peak_rss_bytes"], query["name"])
        for entry in results["sizes"]
        for query in entry["queries"]
        for side in ("view", "lower_bound")
    )
    found.append(
        (
            f"Peak memory under {TARGETS['memory_bytes'] / GIB:g} GiB for any query",
            f"largest: {mebibytes(peak[0])} ({peak[1]})",
            peak[0] < TARGETS["memory_bytes"],
        )
    )
    return found


def view_targets(size: dict[str, Any], rows: str) -> list[tuple[str, str, bool | None]]:
    """part_telemetry within part_ratio of its lower bounds, one part and aggregated; part_statistics_cycle against
    the original project's view."""
    parts = [query for query in size["queries"] if query["name"].startswith("part_telemetry")]
    original = [query for query in size["queries"] if query["group"] == "original"]
    found: list[tuple[str, str, bool | None]] = [
        (
            f"part_telemetry within {TARGETS['part_ratio']:g}x of its lower bound, one part and all parts aggregated "
            f"({rows})",
            "; ".join(f"{query['name']}: {query['ratio']}x" for query in parts) or "not measured",
            all(query["ratio"] <= TARGETS["part_ratio"] for query in parts) if parts else None,
        )
    ]
    for query in original:
        found.append(
            (
                f"{query['name'].split(',')[0]} at least as fast as the original project's view ({rows})",
                f"{seconds(query['view']['median'])} s against {seconds(query['lower_bound']['median'])} s: "
                f"{query['ratio']}x",
                query["ratio"] <= TARGETS["original_ratio"],
            )
        )
    return found


def slowest_render(dashboards: list[dict[str, Any]]) -> dict[str, Any] | None:
    return max(dashboards, key=lambda dashboard: dashboard["settled"]["median"], default=None)


# --- REPORT.md ----------------------------------------------------------------------------------------------------


def markdown(results: dict[str, Any]) -> str:
    sizes = results["sizes"]
    lines = [
        "# Benchmark: views and dashboards against telemetry size",
        "",
        f"Written by `pulse bench` on {results['generated']} (runs per measurement: {results['settings']['runs']}, "
        f"`dbt` runs: {results['settings']['dbt_runs']}). Every time is the median of the runs, [min–max] their "
        "spread; everything measured is in results.json. How it is measured: docs/benchmarks.md.",
        "",
        *machine_lines(results),
        "",
        "## Targets",
        "",
        "| Target | Measured | Met |",
        "| --- | --- | --- |",
        *(f"| {target} | {measured} | {verdict(met)} |" for target, measured, met in targets(results)),
        "",
        f"![median time against telemetry rows]({PLOT})",
        "",
        *query_table(sizes, ("selection", "aggregate"), "Queries on the views (DuckDB, time to an Arrow result)"),
        *query_table(
            sizes,
            ("original",),
            "part_statistics_cycle against the original project's view (DuckDB, time to an Arrow result)",
            reference="original",
        ),
        *dbt_table(sizes),
        *superset_tables(sizes),
        *query_table(sizes, ("chart",), "Chart queries on the embedded DuckDB (the SQL Superset sends)"),
        *memory_table(sizes),
        *trino_tables(sizes),
    ]
    return "\n".join(lines).rstrip() + "\n"


def verdict(met: bool | None) -> str:
    return "not measured" if met is None else ("yes" if met else "**no**")


def machine_lines(results: dict[str, Any]) -> list[str]:
    described = results["machine"]
    packages = ", ".join(f"{name} {value}" for name, value in described["packages"].items() if value)
    memory = described["memory_bytes"] / GIB if described["memory_bytes"] else 0
    return [
        f"Machine: {described['cpu']}, {described['cores']} cores, {memory:.1f} GiB memory; {described['os']} "
        f"(kernel {described['kernel']}); Python {described['python']}; {packages}; {described['chromium']}.",
        "",
        f"Load average (1, 5, 15 min) at the start: {results['load_average_start']}, at the end: "
        f"{results.get('load_average_end')} (other processes shared the machine where it exceeds the cores).",
    ]


def query_table(
    sizes: list[dict[str, Any]], groups: tuple[str, ...], title: str, reference: str = "bound"
) -> list[str]:
    names = [query["name"] for query in sizes[0]["queries"] if query["group"] in groups]
    if not names:
        return []
    header = ["Query"]
    for size in sizes:
        header += [f"view s ({label(size)})", f"{reference} s ({label(size)})", f"ratio ({label(size)})"]
    steps = list(zip(sizes[:-1], sizes[1:], strict=True))  # growth from each size to the next
    for smaller, larger in steps:
        span = f"{label(smaller)}→{label(larger)}"
        header += [f"growth view {span}", f"growth {reference} {span}"]
    lines = [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for name in names:
        cells = [name]
        for size in sizes:
            query = by_name(size).get(name)
            cells += [spread(query["view"]), spread(query["lower_bound"]), f"{query['ratio']}x"] if query else ["–"] * 3
        for smaller, larger in steps:
            before, after = by_name(smaller).get(name), by_name(larger).get(name)
            for side in ("view", "lower_bound"):
                cells.append(f"{after[side]['median'] / before[side]['median']:.1f}x" if before and after else "–")
        lines.append("| " + " | ".join(cells) + " |")
    methods = sorted(
        {query["lower_bound"]["method"] for size in sizes for query in size["queries"] if query["group"] in groups}
    )
    lines += [
        "",
        f"{'Lower bound' if reference == 'bound' else 'Reference'}: {', '.join(methods)} (docs/benchmarks.md). "
        "Growth: the median at one size over the "
        "median at the size before.",
        "",
    ]
    notes = [
        f"- {query['name']} ({telemetry_rows(size):,} rows): {query['note']}"
        for size in sizes
        for query in size["queries"]
        if query["group"] in groups and query.get("note")
    ]
    return lines + notes + ([""] if notes else [])


def dbt_table(sizes: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## dbt",
        "",
        "| Telemetry rows | `dbt build` s | of which models s | of which data tests s | "
        "`dbt run` (views only) s | peak memory |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for size in sizes:
        build, views = size["dbt"]["build"], size["dbt"]["run"]
        lines.append(
            f"| {telemetry_rows(size):,} | {spread(build)} | {seconds(build['models_seconds']['median'])} | "
            f"{seconds(build['tests_seconds']['median'])} | {spread(views)} | "
            f"{mebibytes(build['peak_rss_bytes'])} |"
        )
    return [*lines, ""]


def superset_tables(sizes: list[dict[str, Any]]) -> list[str]:
    measured = [size for size in sizes if size.get("superset")]
    if not measured:
        return []
    lines = [
        *render_table(measured, "dashboards", "## Superset (warm, no data cache: the default)"),
        *render_table(
            measured,
            "dashboards_cached",
            "## Superset with its data cache on (a dashboard seen again: PULSE_ANALYTICS_SUPERSET_CACHE_SECONDS)",
        ),
    ]
    errors = [
        f"- {dashboard['title']} ({telemetry_rows(size):,} rows): {error}"
        for size in measured
        for dashboard in size["superset"]["dashboards"]
        for error in dashboard["chart_errors"]
    ]
    lines += [
        "All from the start of navigation, by the page's clock: page ready (DOMContentLoaded), the first "
        "chart-data request sent and the last answered, every chart showing its content, and the chart canvases "
        "no longer changing (ECharts animates its first draw).",
        "",
    ]
    if errors:
        lines += ["Charts that showed an error:", *errors, ""]
    header = "| Dashboard | Request | " + " | ".join(f"API s ({label(size)})" for size in measured)
    lines += [
        "### Chart-data API (each request a dashboard sends, sent again through the REST API)",
        "",
        header + " |",
        "|" + " --- |" * (2 + len(measured)),
    ]
    for chart in measured[0]["superset"]["charts"]:
        cells = [chart["dashboard"], chart["chart"]]
        for size in measured:
            found = {(entry["dashboard"], entry["chart"]): entry for entry in size["superset"]["charts"]}
            entry = found.get((chart["dashboard"], chart["chart"]))
            cells.append(spread(entry["api"]) if entry else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def render_table(measured: list[dict[str, Any]], key: str, title: str) -> list[str]:
    phases = ("page_ready", "first_request", "last_response", "loaded", "settled")
    if not measured[0]["superset"].get(key):
        return []
    lines = [
        title,
        "",
        "| Dashboard | charts | telemetry rows | page ready s | first chart request s | "
        "last chart answer s | charts loaded s | settled s |",
        "|" + " --- |" * 8,
    ]
    for dashboard in measured[0]["superset"][key]:
        for size in measured:
            found = {entry["slug"]: entry for entry in size["superset"].get(key, [])}.get(dashboard["slug"])
            if found:
                cells = [
                    dashboard["title"],
                    str(dashboard["charts"]),
                    f"{telemetry_rows(size):,}",
                    *(spread(found[phase]) if phase in found else "–" for phase in phases),
                ]
                lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def memory_table(sizes: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## Peak memory (resident set, per process)",
        "",
        "| Telemetry rows | measuring process alone | largest query (view) | largest query (bound) | "
        "`pulse seed` | `dbt build` | Superset (largest process) | Chromium (largest process) |",
        "|" + " --- |" * 8,
    ]
    for size in sizes:
        view = max(size["queries"], key=lambda query: query["view"]["peak_rss_bytes"])
        bound = max(size["queries"], key=lambda query: query["lower_bound"]["peak_rss_bytes"])
        memory = (size.get("superset") or {}).get("peak_rss_bytes", {})
        superset = max(memory.get("superset", {}).values(), default=None)
        chromium = max(memory.get("chromium", {}).values(), default=None)
        seed = size["seed"].get("peak_rss_bytes")
        lines.append(
            f"| {telemetry_rows(size):,} | {mebibytes(size.get('query_baseline_rss_bytes'))} | "
            f"{mebibytes(view['view']['peak_rss_bytes'])} ({view['name']}) | "
            f"{mebibytes(bound['lower_bound']['peak_rss_bytes'])} ({bound['name']}) | {mebibytes(seed)} | "
            f"{mebibytes(size['dbt']['build']['peak_rss_bytes'])} | {mebibytes(superset)} | "
            f"{mebibytes(chromium)} |"
        )
    lines += [
        "",
        "Each query runs in a child process of its own: its peak includes the measuring process alone "
        "(Python, DuckDB, pyarrow: the first column). Superset: gunicorn's master and workers; Chromium: browser "
        "and renderer processes.",
        "",
    ]
    return lines


# --- Trino beside DuckDB (--target duckdb,trino) -----------------------------------------------------------------


def trino_tables(sizes: list[dict[str, Any]]) -> list[str]:
    """DuckDB's and Trino's figures side by side, for the sizes measured on both."""
    both = [size for size in sizes if size.get("trino")]
    if not both:
        return []
    lines = ["## DuckDB and Trino", "", *trino_setup(both), ""]
    queries = [(size, query, size["trino"]["queries"]) for size in both for query in size["queries"]]
    lines += [
        "### Queries on the views, and their lower bounds",
        "",
        "| Query | telemetry rows | DuckDB view s | Trino view s | Trino / DuckDB | DuckDB bound s | "
        "Trino bound s | Trino view / bound | Trino's own: elapsed, planning, CPU s | Trino peak memory |",
        "|" + " --- |" * 10,
    ]
    for size, query, on_trino in queries:
        other = {entry["name"]: entry for entry in on_trino}.get(query["name"])
        if query["group"] == "chart" or other is None:
            continue
        lines.append(
            f"| {query['name']} | {telemetry_rows(size):,} | {spread(query['view'])} | "
            f"{spread(other['view'])} | {times(other['view'], query['view'])} | "
            f"{spread(query['lower_bound'])} | {spread(other['lower_bound'])} | {other['ratio']}x | "
            f"{trino_own(other['view'])} | {mebibytes(other['view'].get('peak_memory_bytes'))} |"
        )
    lines += [
        "",
        "### Chart queries on the engine (the SQL each Superset sends, in its engine's dialect)",
        "",
        "| Chart | telemetry rows | DuckDB s | Trino s | Trino / DuckDB | Trino on a stored copy s | "
        "Trino's own: elapsed, planning, CPU s |",
        "|" + " --- |" * 7,
    ]
    for size, query, on_trino in queries:
        other = {entry["name"]: entry for entry in on_trino}.get(query["name"])
        if query["group"] == "chart" and other is not None:
            lines.append(
                f"| {query['name']} | {telemetry_rows(size):,} | {spread(query['view'])} | "
                f"{spread(other['view'])} | {times(other['view'], query['view'])} | "
                f"{spread(other['lower_bound'])} | {trino_own(other['view'])} |"
            )
    lines += ["", *trino_superset(both), *trino_dbt(both), *trino_memory(both)]
    return lines


def trino_setup(both: list[dict[str, Any]]) -> list[str]:
    lines = []
    for size in both:
        load = size["trino"].get("load", {})
        if load.get("reused"):
            loaded = "data loaded by an earlier run"
        elif load.get("rows_written"):
            loaded = f"`pulse load-trino` wrote {load['rows_written']:,} rows in {seconds(load.get('seconds'))} s"
        else:
            loaded = f"`pulse load-trino` found the data already there ({seconds(load.get('seconds'))} s)"
        lines.append(
            f"- {telemetry_rows(size):,} telemetry rows: {loaded}; Trino's JVMs (heap limits "
            f"{size['trino'].get('jvm_max_heap') or 'unknown'}) peaked at "
            f"{mebibytes(size['trino'].get('jvm_peak_rss_bytes'))} resident together."
        )
    return [
        *lines,
        "",
        "Trino: the native stack (a coordinator that only schedules and PULSE_ANALYTICS_TRINO_WORKERS worker JVMs, "
        "default 1) on the same machine. A "
        "Trino query is timed until the Python client (the one Superset uses) holds every row, through Trino's "
        "HTTP protocol; a DuckDB query until its Arrow result is in memory in the same process. Trino's own "
        "figures are from its statistics of the query (elapsed from its arrival, of which planning; CPU over all "
        "threads); its peak memory is the query's, as Trino counts it.",
    ]


def trino_superset(both: list[dict[str, Any]]) -> list[str]:
    measured = [size for size in both if size.get("superset") and size["trino"].get("superset")]
    if not measured:
        return []
    lines = [
        "### Superset on each engine (warm; settled: the chart canvases no longer changing)",
        "",
        "| Dashboard | telemetry rows | DuckDB settled s | Trino settled s | DuckDB last chart answer s | "
        "Trino last chart answer s | with the data cache on: DuckDB s | Trino s |",
        "|" + " --- |" * 8,
    ]
    for size in measured:
        trino = {entry["slug"]: entry for entry in size["trino"]["superset"]["dashboards"]}
        cached = {entry["slug"]: entry for entry in size["superset"].get("dashboards_cached", [])}
        trino_cached = {entry["slug"]: entry for entry in size["trino"]["superset"].get("dashboards_cached", [])}
        for dashboard in size["superset"]["dashboards"]:
            other = trino.get(dashboard["slug"], {})
            cells = [
                dashboard["title"],
                f"{telemetry_rows(size):,}",
                phase(dashboard, "settled"),
                phase(other, "settled"),
                phase(dashboard, "last_response"),
                phase(other, "last_response"),
                phase(cached.get(dashboard["slug"], {}), "settled"),
                phase(trino_cached.get(dashboard["slug"], {}), "settled"),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "| Dashboard | Request | telemetry rows | DuckDB API s | Trino API s | Trino / DuckDB |",
        "|" + " --- |" * 6,
    ]
    for size in measured:
        trino = {(entry["dashboard"], entry["chart"]): entry for entry in size["trino"]["superset"]["charts"]}
        for chart in size["superset"]["charts"]:
            other = trino.get((chart["dashboard"], chart["chart"]))
            lines.append(
                f"| {chart['dashboard']} | {chart['chart']} | {telemetry_rows(size):,} | "
                f"{spread(chart['api'])} | {spread(other['api']) if other else '–'} | "
                f"{times(other['api'], chart['api']) if other else '–'} |"
            )
    return [*lines, ""]


def trino_dbt(both: list[dict[str, Any]]) -> list[str]:
    lines = [
        "### dbt on each engine",
        "",
        "| Telemetry rows | engine | `dbt build` s | models, summed s | "
        "data tests, summed s | `dbt run` (views only) s |",
        "|" + " --- |" * 6,
    ]
    for size in both:
        for engine, measured in (("DuckDB", size), ("Trino", size["trino"])):
            build, views = measured["dbt"]["build"], measured["dbt"]["run"]
            lines.append(
                f"| {telemetry_rows(size):,} | {engine} | {spread(build)} | "
                f"{seconds(build['models_seconds']['median'])} | {seconds(build['tests_seconds']['median'])} "
                f"| {spread(views)} |"
            )
    return [
        *lines,
        "",
        "The sums add each model's and each data test's time from dbt's run_results.json. dbt runs one "
        "at a time on DuckDB (`threads: 1`) and `PULSE_ANALYTICS_TRINO_THREADS` (4) at once on Trino, where a "
        "test's time includes waiting for the others on the same 2 cores: there the sums exceed the build.",
        "",
    ]


def trino_memory(both: list[dict[str, Any]]) -> list[str]:
    lines = [
        "### Peak memory on each engine",
        "",
        "| Telemetry rows | DuckDB: largest query (its process) | "
        "Trino: largest query (Trino's count) | Trino's JVM (resident) | Superset on DuckDB | "
        "Superset on Trino |",
        "|" + " --- |" * 6,
    ]
    for size in both:
        duckdb = max(size["queries"], key=lambda query: query["view"]["peak_rss_bytes"])
        trino = max(size["trino"]["queries"], key=lambda query: query["view"].get("peak_memory_bytes") or 0)
        supersets = [
            max(
                ((measured.get("superset") or {}).get("peak_rss_bytes", {}).get("superset") or {}).values(),
                default=None,
            )
            for measured in (size, size["trino"])
        ]
        lines.append(
            f"| {telemetry_rows(size):,} | {mebibytes(duckdb['view']['peak_rss_bytes'])} ({duckdb['name']}) "
            f"| {mebibytes(trino['view'].get('peak_memory_bytes'))} ({trino['name']}) | "
            f"{mebibytes(size['trino'].get('jvm_peak_rss_bytes'))} | {mebibytes(supersets[0])} | "
            f"{mebibytes(supersets[1])} |"
        )
    return [
        *lines,
        "",
        "DuckDB runs inside the measuring process, whose peak includes Python and the result; Trino "
        "counts the memory a query reserved in its JVM; the JVM's own resident peak covers everything it did "
        "since it started (load, dbt, every query), up to its heap limit and beyond it for its own code.",
        "",
    ]


def times(slower: dict[str, Any], faster: dict[str, Any]) -> str:
    return f"{slower['median'] / faster['median']:.1f}x" if faster["median"] else "–"


def phase(dashboard: dict[str, Any], name: str) -> str:
    return spread(dashboard[name]) if name in dashboard else "–"


def trino_own(side: dict[str, Any]) -> str:
    own = (side.get("profile") or {}).get("trino")
    if not own:
        return "–"
    return ", ".join(seconds((own.get(key) or 0) / 1000) for key in ("elapsed_ms", "planning_ms", "cpu_ms"))


# --- bench.png ----------------------------------------------------------------------------------------------------


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    sizes = results["sizes"]
    rows = [telemetry_rows(size) for size in sizes]
    panels = 3 if any(size.get("superset") for size in sizes) else 2
    figure, axes = pyplot.subplots(1, panels, figsize=(6 * panels, 7))
    colors = pyplot.rcParams["axes.prop_cycle"].by_key()["color"]
    queries = [query["name"] for query in sizes[0]["queries"] if query["group"] in ("selection", "aggregate")]
    for index, name in enumerate(queries):
        color = colors[index % len(colors)]
        view = [by_name(size)[name]["view"]["median"] for size in sizes]
        bound = [by_name(size)[name]["lower_bound"]["median"] for size in sizes]
        axes[0].plot(rows, view, "o-", color=color, label=name)
        axes[0].plot(rows, bound, "s--", color=color, alpha=0.6)
    finish(axes[0], "Queries on the views (solid) and lower bounds (dashed)", "seconds (median)")
    axes[1].plot(rows, [size["dbt"]["build"]["median"] for size in sizes], "o-", label="dbt build (views + tests)")
    axes[1].plot(rows, [size["dbt"]["run"]["median"] for size in sizes], "s-", label="dbt run (views only)")
    axes[1].axhline(TARGETS["dbt_views_s"], color="grey", linestyle=":", label="target for the views")
    finish(axes[1], "dbt", "seconds (median)")
    if panels == 3:
        superset_panel(axes[2], sizes, colors)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)


def superset_panel(axis: Any, sizes: list[dict[str, Any]], colors: list[str]) -> None:
    measured = [size for size in sizes if size.get("superset")]
    rows = [telemetry_rows(size) for size in measured]
    for index, dashboard in enumerate(measured[0]["superset"]["dashboards"]):
        color = colors[index % len(colors)]
        settled, slowest_chart = [], []
        for size in measured:
            entry = {item["slug"]: item for item in size["superset"]["dashboards"]}[dashboard["slug"]]
            settled.append(entry["settled"]["median"])
            charts = [
                chart["api"]["median"]
                for chart in size["superset"]["charts"]
                if chart["dashboard"] == dashboard["slug"]
            ]
            slowest_chart.append(max(charts, default=0.0))
        axis.plot(rows, settled, "o-", color=color, label=f"{dashboard['title']}: rendered")
        axis.plot(rows, slowest_chart, "s--", color=color, alpha=0.6, label=f"{dashboard['title']}: slowest chart")
    axis.axhline(TARGETS["dashboard_s"], color="grey", linestyle=":", label="dashboard target")
    axis.axhline(TARGETS["chart_s"], color="grey", linestyle="-.", label="chart target")
    finish(axis, "Superset, warm: dashboards and slowest chart-data request", "seconds (median)")


def finish(axis: Any, title: str, ylabel: str) -> None:
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("telemetry rows")
    axis.set_ylabel(ylabel)
    axis.set_title(title, fontsize=10)
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
