"""The warehouse files as a user meets them: views only in analytics, an attach script, clear first-run errors."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.conftest import MARTS, pulse_env, run_pulse


def test_analytics_catalog_holds_only_views(demo_warehouse_template: Path) -> None:
    connection = duckdb.connect(str(demo_warehouse_template / "analytics.duckdb"), read_only=True)
    tables = connection.execute("select table_name from duckdb_tables() where database_name = 'analytics'").fetchall()
    views = connection.execute(
        "select count(*) from duckdb_views() where database_name = 'analytics' and not internal"
    ).fetchone()[0]
    connection.close()
    models = list((Path(__file__).resolve().parents[2] / "dbt" / "models").rglob("*.sql"))
    assert tables == []
    assert views == len(models)


def test_build_without_seed_says_what_to_do(tmp_path: Path) -> None:
    process = run_pulse("build", env=pulse_env(tmp_path / "nothing-here"), check=False)
    assert process.returncode != 0
    assert "telemetry.duckdb does not exist" in process.stderr
    assert "pulse seed" in process.stderr


def test_attach_script_opens_every_view_in_plain_duckdb(demo_warehouse_template: Path) -> None:
    # What a user does: open analytics.duckdb with DuckDB, run attach.sql, query the marts by name.
    connection = duckdb.connect(str(demo_warehouse_template / "analytics.duckdb"), read_only=True)
    for statement in (demo_warehouse_template / "attach.sql").read_text().split(";"):
        if statement.strip():
            connection.execute(statement)
    for view in MARTS:
        assert connection.execute(f"select count(*) from {view}").fetchone()[0] > 0, view
    connection.close()
