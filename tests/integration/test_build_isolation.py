"""Each build keeps to its own warehouse: its own dbt target and log, one build of a warehouse at a time, and no dbt
left running when `pulse build` is killed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import duckdb

from pulse_analytics import dbt
from tests.conftest import PULSE, REPO_ROOT, pulse_env

GONE_WITHIN_S = 60  # how long the test waits for a killed build's dbt to go: a hang, not a speed


def start_build(warehouse_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PULSE, "build"],
        env=pulse_env(warehouse_dir),
        cwd=REPO_ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def children(pid: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(proc.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def test_two_warehouses_built_at_once_each_report_their_own_result(warehouse_copy: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(warehouse_copy, broken)
    connection = duckdb.connect(str(broken / "metadata.duckdb"))
    connection.execute("insert into pulse.device_metadata (device_id) values ('maccor-01-ch01')")
    connection.close()

    good_build, broken_build = start_build(warehouse_copy), start_build(broken)
    good_out, good_err = good_build.communicate(timeout=900)
    broken_out, broken_err = broken_build.communicate(timeout=900)

    assert good_build.returncode == 0 and "build OK" in good_out, good_out + good_err
    assert broken_build.returncode != 0 and "build FAILED" in broken_out, broken_out + broken_err
    assert "maccor-01-ch01" in broken_err and "maccor-01-ch01" not in good_err
    for folder in (warehouse_copy, broken):
        assert (dbt.build_folder("duckdb", folder) / "target" / "run_results.json").exists()
        assert (dbt.build_folder("duckdb", folder) / "logs" / "dbt.log").exists()


def test_a_second_build_of_the_same_warehouse_waits_for_the_first(warehouse_copy: Path) -> None:
    first = start_build(warehouse_copy)
    lock = dbt.build_folder("duckdb", warehouse_copy) / "lock"
    deadline = time.monotonic() + GONE_WITHIN_S
    while f"pid {first.pid}" not in (lock.read_text() if lock.exists() else "") and time.monotonic() < deadline:
        time.sleep(0.1)
    second = start_build(warehouse_copy)
    first_out, first_err = first.communicate(timeout=900)
    second_out, second_err = second.communicate(timeout=900)

    assert "waiting for the build of this warehouse already running" in second_err, second_err
    assert f"pid {first.pid}" in second_err
    assert "build OK" in first_out and "build OK" in second_out, first_err + second_err


def test_killing_pulse_build_stops_its_dbt(warehouse_copy: Path) -> None:
    build = start_build(warehouse_copy)
    deadline = time.monotonic() + GONE_WITHIN_S
    while not (dbt_children := children(build.pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert dbt_children, "pulse build started no dbt"

    os.kill(build.pid, signal.SIGKILL)
    build.wait()

    deadline = time.monotonic() + GONE_WITHIN_S
    while any(Path(f"/proc/{pid}").exists() for pid in dbt_children) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [
        pid
        for pid in dbt_children
        if Path(f"/proc/{pid}").exists() and (Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] != "Z")
    ]
    assert alive == [], f"dbt still running after pulse build was killed: {alive}"
