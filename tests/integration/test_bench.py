"""`pulse bench` itself, at a tiny size: it runs, its lower bounds return what the views return, and it writes a
well-formed results file, report and plot. No timing is asserted: only that every measurement was taken."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pulse_analytics import generate, warehouse
from pulse_analytics.bench import engine, targets
from pulse_analytics.bench import superset as superset_half
from pulse_analytics.superset import assets
from pulse_analytics.superset import server as bundle_superset
from tests.conftest import TEST_ROWS, TRINO_SETTINGS, SupersetServer, count_rows, pulse_env, run_pulse

RUNS = 2


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, Path]:
    folder = tmp_path_factory.mktemp("bench")
    work, out = folder / "work", folder / "out"
    run_pulse(
        "bench",
        "--rows",
        "3000",
        "--runs",
        str(RUNS),
        "--dbt-runs",
        "1",
        "--work-dir",
        str(work),
        "--out",
        str(out),
        "--skip-superset",
        env=pulse_env(folder / "unused"),
    )
    return json.loads((out / "results.json").read_text()), work, out


def assert_timing(timing: dict[str, Any], runs: int) -> None:
    assert len(timing["seconds"]) == runs
    assert 0 < timing["min"] <= timing["median"] <= timing["max"]


def test_every_warehouse_measurement_is_taken(bench_run: tuple[dict[str, Any], Path, Path]) -> None:
    results, _, _ = bench_run
    assert results["machine"]["cores"] > 0 and results["machine"]["packages"]["duckdb"]
    [size] = results["sizes"]
    assert size["data"]["rows"]["telemetry"] >= 3000 and size["seed"]["peak_rss_bytes"] > 0
    for command, with_tests in (("build", True), ("run", False)):
        timing = size["dbt"][command]
        assert_timing(timing, 1)
        assert timing["models_seconds"]["median"] > 0 and timing["peak_rss_bytes"] > 0
        assert (timing["tests_seconds"]["median"] > 0) is with_tests
    kinds = sorted((query["name"].split(",")[0], query["group"]) for query in size["queries"])
    assert kinds == [
        ("part_statistics_cycle", "aggregate"),
        ("part_statistics_cycle", "original"),
        ("part_statistics_step", "aggregate"),
        ("part_telemetry", "aggregate"),
        ("part_telemetry", "selection"),
        ("test_telemetry", "selection"),
    ]
    for query in size["queries"]:
        for side in ("view", "lower_bound"):
            assert_timing(query[side], RUNS)
            assert query[side]["rows"] > 0 and query[side]["peak_rss_bytes"] > 0
        assert query["ratio"] == round(query["view"]["median"] / query["lower_bound"]["median"], 2)
        assert "note" not in query, query["note"]
    assert any(query["view"].get("profile", {}).get("operators") for query in size["queries"])


def test_selection_bounds_return_exactly_the_views_rows(bench_run: tuple[dict[str, Any], Path, Path]) -> None:
    """A lower bound must read the same rows and columns as its view, or it bounds nothing."""
    results, work, _ = bench_run
    connection = warehouse.connect_analytics(read_only=True, warehouse_dir=work / "rows-3000")
    try:
        for query in results["sizes"][0]["queries"]:
            if query["group"] != "selection":
                continue
            on_view, bound = query["view"]["sql"], query["lower_bound"]["sql"]
            columns = [
                connection.execute(f"select column_name, column_type from (describe {sql})").fetchall()
                for sql in (on_view, bound)
            ]
            assert columns[0] == columns[1]
            for left, right in ((on_view, bound), (bound, on_view)):
                assert connection.execute(f"select count(*) from (({left}) except all ({right}))").fetchone() == (0,)
    finally:
        connection.close()


def test_report_and_plot_are_written(bench_run: tuple[dict[str, Any], Path, Path]) -> None:
    results, _, out = bench_run
    report = (out / "REPORT.md").read_text()
    assert "## Targets" in report and results["machine"]["cpu"] in report
    for query in results["sizes"][0]["queries"]:
        assert query["name"] in report
    assert (out / "bench.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_bad_sizes_are_refused_naming_the_value(tmp_path: Path) -> None:
    process = run_pulse(
        "bench",
        "--rows",
        "1M,lots",
        "--work-dir",
        str(tmp_path),
        "--out",
        str(tmp_path),
        env=pulse_env(tmp_path),
        check=False,
    )
    assert process.returncode != 0 and "'lots' is not a row count" in process.stderr


def test_targets_other_than_duckdb_alone_or_beside_trino_are_refused(tmp_path: Path) -> None:
    process = run_pulse(
        "bench",
        "--target",
        "duckdb,spark",
        "--work-dir",
        str(tmp_path),
        "--out",
        str(tmp_path),
        env=pulse_env(tmp_path),
        check=False,
    )
    assert process.returncode != 0 and "--target 'duckdb,spark'" in process.stderr


def test_chart_sql_is_pointed_at_trinos_stored_copy_view_by_view() -> None:
    trino = targets.Trino(Path("unused"))
    sql = (
        'SELECT part_id FROM pulse.part_statistics_cycle JOIN "pulse"."part_metadata" USING (part_id) '
        "JOIN pulse.part_statistics_cycle_extra USING (part_id)"
    )
    assert trino.on_stored_copy(sql, ["part_statistics_cycle", "part_metadata"]) == (
        "SELECT part_id FROM bench_stored_copy.part_statistics_cycle JOIN bench_stored_copy.part_metadata USING "
        "(part_id) JOIN pulse.part_statistics_cycle_extra USING (part_id)"
    )


def test_superset_half_renders_every_dashboard_and_times_every_chart(superset_server: SupersetServer) -> None:
    """The Superset half against the session's Superset (one render and one request per chart, no warm-up count),
    which runs with the bundle's default data cache: the bench restarts it without a cache for the uncached renders,
    with its own for the cached ones, and then as it found it."""
    port = int(superset_server.url.rsplit(":", 1)[1])
    default = bundle_superset.cache_seconds()  # the session's Superset runs with it
    server = superset_half.Server(
        superset_server.state_dir, port=port, admin=superset_server.admin, cache_seconds=default
    )
    measured = superset_half.measure(server, superset_server.warehouse_dir, runs=1)
    dashboards = {dashboard.slug: dashboard for dashboard in superset_half.dashboards()}
    for key in ("dashboards", "dashboards_cached"):
        assert {entry["slug"] for entry in measured[key]} == set(dashboards)
        for entry in measured[key]:
            assert entry["chart_errors"] == [], entry
            assert 0 < entry["page_ready"]["median"] <= entry["loaded"]["median"] <= entry["settled"]["median"]
            assert entry["chart_data_requests"] >= dashboards[entry["slug"]].charts
    charts_in_git = {assets.load(path)["slice_name"] for path in assets.files("charts")}
    assert measured["cache_files"] >= len(charts_in_git)  # the cached renders kept (and used) every chart's result
    timed = {entry["chart"] for entry in measured["charts"] if entry["kind"] == "chart"}
    assert timed == charts_in_git
    for entry in measured["charts"]:
        assert_timing(entry["api"], 1)
        assert entry["sql"] and all("select" in sql.lower() for sql in entry["sql"])
    assert measured["peak_rss_bytes"]["superset"] and measured["peak_rss_bytes"]["chromium"]
    api = superset_server.api()  # back to the bundle's default for the other tests: results kept
    count_rows(api, "part_metadata")
    assert count_rows(api, "part_metadata")["is_cached"] is True


@pytest.mark.trino_only
def test_trino_target_times_the_same_queries_on_trino(
    trino_demo: dict[str, str], demo_warehouse_template: Path, tmp_path: Path
) -> None:
    """`pulse bench --target duckdb,trino` on the session's Trino, at the session's own demo data: the benchmark is
    given a copy of the warehouse the session loaded into Trino (marked as seeded), so `load-trino` keeps every table
    and the Trino is left holding what it held. Each query runs on both engines and returns the same rows there."""
    work, out = tmp_path / "work", tmp_path / "out"
    size_dir = work / f"rows-{TEST_ROWS}"
    shutil.copytree(demo_warehouse_template, size_dir)
    wanted = {"rows": TEST_ROWS, "seed": generate.DEFAULT_SEED, "generator": engine.generator_fingerprint()}
    (size_dir / "bench-seed.json").write_text(json.dumps({"wanted": wanted, "measured": {"seconds": 0}}))
    run_pulse(
        "bench",
        "--rows",
        str(TEST_ROWS),
        "--runs",
        "1",
        "--dbt-runs",
        "1",
        "--work-dir",
        str(work),
        "--out",
        str(out),
        "--skip-superset",
        "--target",
        "duckdb,trino",
        "--trino-server",
        f"{TRINO_SETTINGS['TRINO_HOST']}:{TRINO_SETTINGS['TRINO_PORT']}",
        env=pulse_env(tmp_path / "unused"),
    )
    results = json.loads((out / "results.json").read_text())
    assert results["settings"]["targets"] == ["duckdb", "trino"]
    [size] = results["sizes"]
    on_trino = size["trino"]
    assert on_trino["load"]["seconds"] > 0 and not on_trino["load"]["reused"]
    for command, with_tests in (("build", True), ("run", False)):
        assert_timing(on_trino["dbt"][command], 1)
        assert (on_trino["dbt"][command]["tests_seconds"]["median"] > 0) is with_tests
    on_duckdb = {query["name"]: query for query in size["queries"]}
    assert [query["name"] for query in on_trino["queries"]] == list(on_duckdb)
    for query in on_trino["queries"]:
        for side in ("view", "lower_bound"):
            assert_timing(query[side], 1)
            assert query[side]["rows"] == on_duckdb[query["name"]][side]["rows"] > 0, (query["name"], side)
            assert query[side]["peak_memory_bytes"] >= 0 and "peak_rss_bytes" not in query[side]
        assert query["view"]["profile"]["trino"]["elapsed_ms"] > 0
    assert "## DuckDB and Trino" in (out / "REPORT.md").read_text()
