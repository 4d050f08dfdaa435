"""The compose stack's Superset configuration keeps what the bundle's charts need of the local one."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT

LOCAL = REPO_ROOT / "src/pulse_analytics/superset/superset_config.py"
COMPOSE = REPO_ROOT / "compose/superset/superset_config.py"


def assigned(path: Path, name: str) -> Any:
    """The value a configuration file assigns to `name`, evaluated on its own (no import of the file)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return eval(compile(ast.Expression(node.value), str(path), "eval"), {})  # noqa: S307 (our own file)
    raise AssertionError(f"{path} does not set {name}")


def test_compose_superset_has_the_trino_time_grains_of_the_local_one() -> None:
    local = assigned(LOCAL, "TIME_GRAIN_ADDON_EXPRESSIONS")
    assert "PT30M" in local["trino"]  # offered in Explore on Trino as on DuckDB
    assert assigned(COMPOSE, "TIME_GRAIN_ADDON_EXPRESSIONS") == {"trino": local["trino"]}


def function_body(path: Path, name: str) -> str:
    """A function of a configuration file, its docstring left out (the two files' docstrings point to each other)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            node.body = node.body[1:] if ast.get_docstring(node) else node.body
            return ast.unparse(node)
    raise AssertionError(f"{path} does not define {name}()")


@pytest.mark.parametrize("name", ["answer_anonymous_event_logs_quietly", "throttle_api_logins", "adapt_app"])
def test_compose_superset_adapts_the_app_as_the_local_one(name: str) -> None:
    for path in (LOCAL, COMPOSE):
        assert ast.unparse(ast.parse("FLASK_APP_MUTATOR = adapt_app")) in path.read_text(), f"{path}: no adapt_app"
    assert function_body(COMPOSE, name) == function_body(LOCAL, name)


@pytest.mark.parametrize("name", ["RATELIMIT_ENABLED", "RATELIMIT_APPLICATION", "AUTH_RATE_LIMITED", "AUTH_RATE_LIMIT"])
def test_compose_superset_throttles_logins_as_the_local_one(name: str) -> None:
    assert assigned(COMPOSE, name) == assigned(LOCAL, name)


def test_compose_superset_draws_charts_without_animation_as_the_local_one() -> None:
    assert assigned(LOCAL, "NO_CHART_ANIMATION") == {"echartsOptionsOverrides": {"animation": False}}
    assert assigned(COMPOSE, "NO_CHART_ANIMATION") == assigned(LOCAL, "NO_CHART_ANIMATION")
    for path in (LOCAL, COMPOSE):
        for theme in ("THEME_DEFAULT", "THEME_DARK"):
            assert f"{theme} = {{**{theme}, **NO_CHART_ANIMATION}}" in path.read_text(), f"{path}: {theme}"
