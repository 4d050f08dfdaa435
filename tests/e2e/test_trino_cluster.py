"""The native stack is a cluster: a coordinator that schedules no work on itself and a worker that does it, proven by
Trino's own answers (system.runtime.nodes, the tasks and splits of a query). A worker killed during a query: the query
fails with Trino's error, the next one runs on the nodes left, nothing is lost, and the worker rejoins when started
again (`pulse trino start`). Runs on the session's native stack (the compose stack's workers: make test-e2e)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from pulse_analytics import config, trino_connection, trino_native
from pulse_analytics.errors import PulseError
from tests.conftest import NATIVE_TRINO_ROOT

pytestmark = pytest.mark.trino_only

TELEMETRY = f"{config.get('TELEMETRY_CATALOG')}.{config.get('TELEMETRY_SCHEMA')}.{config.get('TELEMETRY_TABLE')}"
WAIT_S = 120  # the longest Trino may take to notice a node has gone (it takes seconds)
# Trino's errors for a query whose worker went away, by where it noticed first.
NODE_GONE = (
    "PAGE_TRANSPORT_TIMEOUT",
    "PAGE_TRANSPORT_ERROR",
    "REMOTE_TASK_ERROR",
    "REMOTE_HOST_GONE",
    "TOO_MANY_REQUESTS_FAILED",
)


def query(sql: str) -> tuple[str, list[tuple]]:
    """Rows of `sql` run as the admin, with its query id."""
    with config.overridden({config.PREFIX + "TRINO_USER": "admin"}):
        connection = trino_connection.connect()
        cursor = connection.cursor()
        rows = trino_connection.run(cursor, sql)
        return cursor.query_id, rows


def tasks_by_node(query_id: str) -> dict[str, tuple[int, int]]:
    """Per node: the splits and input rows of a query's tasks, as Trino's system.runtime.tasks reports them."""
    _, rows = query(
        "select node_id, sum(splits), sum(processed_input_rows) from system.runtime.tasks "
        f"where query_id = '{query_id}' group by node_id"
    )
    return {node: (splits, input_rows) for node, splits, input_rows in rows}


def active_nodes() -> dict[str, bool]:
    """node id -> whether it is the coordinator, for the nodes Trino counts as active."""
    return dict(query("select node_id, coordinator from system.runtime.nodes where state = 'active'")[1])


@pytest.fixture
def native_root(trino_demo: dict[str, str]) -> Path:
    if not NATIVE_TRINO_ROOT:
        pytest.skip("killing and restarting a worker needs the native stack's processes (not compose's containers)")
    return NATIVE_TRINO_ROOT[0]


def test_the_coordinator_schedules_and_the_workers_work(trino_demo: dict[str, str]) -> None:
    nodes = active_nodes()
    coordinators = [node for node, coordinator in nodes.items() if coordinator]
    workers = [node for node, coordinator in nodes.items() if not coordinator]
    assert len(coordinators) == 1 and workers, nodes
    if NATIVE_TRINO_ROOT:
        assert nodes == {trino_native.COORDINATOR: True, "pulse-worker-1": False}
    query_id, [(rows, _)] = query(f"select count(*), sum(voltage__v) from {TELEMETRY}")
    tasks = tasks_by_node(query_id)
    assert tasks and set(tasks) <= set(workers), tasks  # no task on the coordinator
    assert sum(splits for splits, _ in tasks.values()) > 0
    assert sum(input_rows for _, input_rows in tasks.values()) >= rows > 0


def test_a_worker_killed_during_a_query(native_root: Path) -> None:
    port = int(config.get("TRINO_PORT"))
    trino_native.start(native_root, trino_port=port, workers=2)
    try:
        [(rows,)] = query(f"select count(*) from {TELEMETRY}")[1]
        outcome: dict[str, object] = {}
        # 20,000 telemetry rows x 20,000: many seconds of work. The grouping makes a hash-partitioned stage, which
        # Trino runs as one task on every worker from the query's start: the demo's telemetry table is a few files,
        # so its scan alone may run on worker 1 only (and did, failing this test once).
        long_query = (
            "select count(*), sum(v) from (select s.x % 1000 as k, sum(t.voltage__v * s.x) as v "
            f"from {TELEMETRY} t cross join unnest(sequence(1, 10000)) s(x) cross join unnest(sequence(1, 2)) r(y) "
            "group by 1)"
        )

        def run_long_query() -> None:
            try:
                outcome["rows"] = query(long_query)[1]
            except PulseError as error:
                outcome["error"] = str(error)

        runner = threading.Thread(target=run_long_query)
        runner.start()
        deadline = time.monotonic() + WAIT_S
        while not worker_2_is_working(long_query) and time.monotonic() < deadline and runner.is_alive():
            time.sleep(0.2)
        assert runner.is_alive(), f"the query ended before worker 2 took part: {outcome}"
        for pid in worker_pids(native_root, 2):
            os.kill(pid, signal.SIGKILL)
        runner.join(WAIT_S)

        assert "error" in outcome, outcome  # Trino's error, as pulse shows it
        error = str(outcome["error"])
        assert error.startswith("Trino at") and any(name in error for name in NODE_GONE), error
        deadline = time.monotonic() + WAIT_S
        while "pulse-worker-2" in active_nodes() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert set(active_nodes()) == {trino_native.COORDINATOR, "pulse-worker-1"}
        assert query(f"select count(*) from {TELEMETRY}")[1] == [(rows,)]  # on the nodes left; nothing lost

        trino_native.start(native_root, trino_port=port, workers=2)  # as `pulse trino start --workers 2`
        assert "pulse-worker-2" in active_nodes()
        query_id, _ = query(f"select count(*), max(voltage__v) from {TELEMETRY}")
        assert set(tasks_by_node(query_id)) <= {"pulse-worker-1", "pulse-worker-2"}
    finally:
        trino_native.start(native_root, trino_port=port, workers=1)  # the session's cluster again
    assert set(active_nodes()) == {trino_native.COORDINATOR, "pulse-worker-1"}


def worker_2_is_working(sql: str) -> bool:
    quoted = sql.replace("'", "''")
    _, [(tasks,)] = query(
        "select count(*) from system.runtime.tasks t join system.runtime.queries q on t.query_id = q.query_id "
        f"where q.state = 'RUNNING' and t.state = 'RUNNING' and t.node_id = 'pulse-worker-2' and q.query = '{quoted}'"
    )
    return tasks > 0


def worker_pids(root: Path, number: int) -> list[int]:
    """The Java process of worker `number` (its data folder is on its command line)."""
    data = str(trino_native.Paths(root).worker(number).data)
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if data.encode() in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
    assert found, f"no process of worker {number}"
    return found
