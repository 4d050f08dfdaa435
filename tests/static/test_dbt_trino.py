"""The dbt project on the trino target, without a Trino: it parses, compiles, is valid Trino SQL, and means the same
as on DuckDB.

The trino target is compiled by the real dbt with dbt-trino, pointed at port 1 (nothing listens there, so any attempt to
reach Trino fails the compile). The only thing a compile asks the engine is the columns of the relations the macros
expand (dbt/macros/columns_of.sql); they are recorded from the built DuckDB warehouse, whose columns are Trino's by
contract (lower case), and passed as the var `recorded_columns`. Every statement dbt would run (each view's CREATE
VIEW as dbt-trino renders it, each data test's query) is then checked against Trino's grammar (tests/static/grammar.py)
and parsed by sqlglot's Trino dialect; and every model's Trino SQL, transpiled to DuckDB by sqlglot, is run on the
DuckDB warehouse: it must return exactly the rows and columns of the view dbt built there from the duckdb target.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from pulse_analytics import config, warehouse
from tests.static.grammar import trino_syntax_errors

REPO = Path(__file__).resolve().parents[2]
PROJECT = REPO / "dbt"
DBT = str(Path(sys.executable).with_name("dbt"))
MODELS = sorted(path.stem for path in (PROJECT / "models").rglob("*.sql"))
PROBE = ('"analytics"."pulse"."pulse_probe"', "select 1 as pulse_probe")


def dbt_env(warehouse_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(config.PREFIX)}
    env.update({variable.env_name: variable.default for variable in config.VARIABLES})
    env.update({config.PREFIX + "WAREHOUSE_DIR": str(warehouse_dir), config.PREFIX + "TRINO_HOST": "127.0.0.1",
                config.PREFIX + "TRINO_PORT": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})  # fmt: skip
    return env


def dbt(command: str, work: Path, warehouse_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run dbt on the trino target, with its target and log folders in `work` (the checkout's dbt/target is shared)."""
    return subprocess.run(
        [DBT, command, "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT), "--target", "trino",
         "--target-path", str(work / "target"), "--log-path", str(work / "logs"), *args],
        env=dbt_env(warehouse_dir), capture_output=True, text=True, cwd=PROJECT,
    )  # fmt: skip


def recorded_columns(warehouse_dir: Path) -> dict[str, list[str]]:
    """Every relation of the warehouse (source tables and views) with its columns, lower case, in order."""
    catalogs = [config.get(name) for name in ("TELEMETRY_CATALOG", "METADATA_CATALOG", "TARGET_CATALOG")]
    connection = warehouse.connect_analytics(read_only=True, warehouse_dir=warehouse_dir)
    try:
        rows = connection.execute(
            "select table_catalog, table_schema, table_name, column_name from information_schema.columns "
            "where table_catalog in (select unnest(?)) order by all", [catalogs],
        ).fetchall()
        order = dict(connection.execute(
            "select table_catalog || '.' || table_schema || '.' || table_name || '.' || column_name, ordinal_position "
            "from information_schema.columns").fetchall())  # fmt: skip
    finally:
        connection.close()
    columns: dict[str, list[str]] = {}
    for catalog, schema, table, column in sorted(rows, key=lambda row: (row[:3], order[".".join(row)])):
        columns.setdefault(f"{catalog}.{schema}.{table}".lower(), []).append(column.lower())
    return columns


@pytest.fixture(scope="module")
def compiled(demo_warehouse_template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Every model and data test compiled for the trino target, by unique id."""
    work = tmp_path_factory.mktemp("dbt-trino")
    variables = json.dumps({"recorded_columns": recorded_columns(demo_warehouse_template)})
    process = dbt("compile", work, demo_warehouse_template, "--no-populate-cache", "--vars", variables)
    assert process.returncode == 0, f"dbt compile --target trino failed:\n{process.stdout[-4000:]}"
    nodes = json.loads((work / "target" / "manifest.json").read_text())["nodes"]
    return {unique_id: node for unique_id, node in nodes.items() if node["resource_type"] in ("model", "test")}


@pytest.fixture(scope="module")
def view_ddl(demo_warehouse_template: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The statement dbt-trino's view materialization runs, rendered by dbt-trino itself for a probe relation."""
    work = tmp_path_factory.mktemp("dbt-trino-ddl")
    relation = "api.Relation.create(database='analytics', schema='pulse', identifier='pulse_probe')"
    process = dbt("compile", work, demo_warehouse_template, "--no-populate-cache", "--quiet", "--output", "json",
                  "--inline", f"{{{{ get_create_view_as_sql({relation}, '{PROBE[1]}') }}}}")  # fmt: skip
    assert process.returncode == 0, process.stdout + process.stderr
    ddl = json.loads(process.stdout)["compiled"]
    assert PROBE[0] in ddl and PROBE[1] in ddl, ddl
    return ddl


def model(compiled: dict[str, dict], name: str) -> dict:
    return next(node for node in compiled.values() if node["resource_type"] == "model" and node["name"] == name)


def trino_statements(sql: str) -> list[exp.Expression]:
    statements = [statement for statement in sqlglot.parse(sql, read="trino") if statement is not None]
    assert statements, f"no statement in {sql!r}"
    return statements


def view_statement(node: dict, view_ddl: str) -> str:
    relation = f'"{node["database"]}"."{node["schema"]}"."{node["alias"]}"'
    return view_ddl.replace(PROBE[0], relation).replace(PROBE[1], node["compiled_code"])


def test_every_model_and_data_test_parses_and_compiles_without_a_trino(compiled: dict[str, dict]) -> None:
    assert sorted(node["name"] for node in compiled.values() if node["resource_type"] == "model") == MODELS
    tests = [node for node in compiled.values() if node["resource_type"] == "test"]
    assert len(tests) >= 40 and all(node["compiled_code"].strip() for node in tests)


@pytest.mark.parametrize("name", MODELS)
def test_model_view_statement_is_trino_sql(compiled: dict[str, dict], view_ddl: str, name: str) -> None:
    node = model(compiled, name)
    [create] = trino_statements(view_statement(node, view_ddl))
    assert isinstance(create, exp.Create) and create.kind == "VIEW"
    assert create.this.sql("trino") == f'"{node["database"]}"."{node["schema"]}"."{node["alias"]}"'
    # Superset's user reads the views only: they must run with their owner's (dbt's) rights.
    assert "SECURITY DEFINER" in create.sql("trino")
    assert node["config"].get("view_security", "definer") == "definer"
    unknown = {function.name for function in create.find_all(exp.Anonymous)}
    assert not unknown, f"{name} calls functions sqlglot's Trino dialect does not know: {unknown}"


def test_every_data_test_is_trino_sql(compiled: dict[str, dict]) -> None:
    for node in compiled.values():
        if node["resource_type"] == "test":
            [select] = trino_statements(node["compiled_code"])
            assert isinstance(select, exp.Query), node["name"]


def test_every_statement_follows_trinos_grammar(compiled: dict[str, dict], view_ddl: str) -> None:
    statements = {node["name"]: (view_statement(node, view_ddl) if node["resource_type"] == "model"
                                 else node["compiled_code"]).strip().rstrip(";")
                  for node in compiled.values()}  # fmt: skip
    errors = {name: found for name, found in trino_syntax_errors(statements).items() if found}
    assert not errors, f"not Trino SQL: {errors}"


def test_the_grammar_check_rejects_what_trino_rejects() -> None:
    errors = trino_syntax_errors({"cast": "select a::int from t", "ilike": "select a from t where b ilike 'x'",
                                  "valid": "select a from t order by a nulls last"})  # fmt: skip
    assert errors["cast"] and errors["ilike"] and not errors["valid"]


@pytest.mark.parametrize("name", MODELS)
def test_model_means_the_same_on_trino_and_duckdb(compiled: dict[str, dict], demo_warehouse_template: Path,
                                                  name: str) -> None:
    trino_sql = model(compiled, name)["compiled_code"]
    [duckdb_sql] = sqlglot.transpile(trino_sql, read="trino", write="duckdb")
    view = f"{config.get('TARGET_CATALOG')}.{config.get('TARGET_SCHEMA')}.{name}"
    connection = warehouse.connect_analytics(read_only=True, warehouse_dir=demo_warehouse_template)
    try:
        trino_result = connection.execute(f"select * from ({duckdb_sql}) as trino_sql limit 0")
        trino_columns = [(column[0], str(column[1])) for column in trino_result.description]
        view_columns = [(column[0], str(column[1]))
                        for column in connection.execute(f"select * from {view} limit 0").description]  # fmt: skip
        assert trino_columns == view_columns
        counts = connection.execute(
            f"select (select count(*) from ({duckdb_sql}) as a), (select count(*) from {view}), "
            f"(select count(*) from (({duckdb_sql}) except all (select * from {view}))), "
            f"(select count(*) from ((select * from {view}) except all ({duckdb_sql})))"
        ).fetchone()
    finally:
        connection.close()
    rows, view_rows, only_trino, only_view = counts
    assert rows == view_rows > 0 and only_trino == only_view == 0, counts


def test_a_relation_missing_from_the_record_is_an_error(demo_warehouse_template: Path, tmp_path: Path) -> None:
    columns = recorded_columns(demo_warehouse_template)
    missing = f"{config.get('METADATA_CATALOG')}.{config.get('METADATA_SCHEMA')}.part_metadata"
    del columns[missing]
    process = dbt("compile", tmp_path, demo_warehouse_template, "--no-populate-cache", "--select", "part_metadata",
                  "--vars", json.dumps({"recorded_columns": columns}))  # fmt: skip
    assert process.returncode != 0
    assert f"var recorded_columns has no entry for {missing}" in process.stdout
