"""The views dbt builds on Trino are kept by the analytics catalog: they outlive a restart of Trino (and PostgreSQL)."""

from __future__ import annotations

import os
import shlex
import subprocess

import pytest

from pulse_analytics import config, dbt, trino_native
from tests.conftest import NATIVE_TRINO_ROOT, REPO_ROOT

pytestmark = pytest.mark.trino_only

ANALYTICS = f"{config.get('TARGET_CATALOG')}.{config.get('TARGET_SCHEMA')}"
VIEWS = sorted(path.stem for path in (REPO_ROOT / "dbt" / "models").rglob("*.sql"))


def restart_trino() -> None:
    """Stop and start the session's Trino: the compose service under `make test-e2e`, else the native stack."""
    if compose := os.environ.get("PULSE_E2E_COMPOSE"):
        subprocess.run([*shlex.split(compose), "restart", "trino"], check=True)
        subprocess.run([*shlex.split(compose), "up", "--detach", "--wait", "trino"], check=True)
        return
    [root] = NATIVE_TRINO_ROOT
    port = int(config.get("TRINO_PORT"))
    assert trino_native.stop(root), "the session's native stack was not running"
    assert trino_native.running(root) is None
    trino_native.start(root, trino_port=port)


def test_views_survive_a_restart_of_trino(trino_demo: dict[str, str]) -> None:
    listed = sorted(row[0] for row in dbt.query("trino", f"show tables from {ANALYTICS}")[1])
    assert listed == VIEWS
    counts = {view: dbt.query("trino", f"select count(*) from {ANALYTICS}.{view}")[1][0][0] for view in VIEWS}
    restart_trino()
    assert sorted(row[0] for row in dbt.query("trino", f"show tables from {ANALYTICS}")[1]) == VIEWS
    assert {view: dbt.query("trino", f"select count(*) from {ANALYTICS}.{view}")[1][0][0] for view in VIEWS} == counts
