"""Running one measured child process, and summarising repeated timings."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SAMPLE_SECONDS = 0.05


@dataclass(frozen=True)
class ChildResult:
    """What a child process did: its exit code, output, wall time and peak resident memory."""

    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_bytes: int


def pulse_command() -> str:
    """The `pulse` command of the environment the benchmark runs in."""
    return str(Path(sys.executable).with_name("pulse"))


def run_child(command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> ChildResult:
    """Run a command to completion, sampling its peak resident memory (VmHWM) until it exits.

    The kernel's own count (wait4's ru_maxrss) cannot be used: it keeps the high-water mark of the memory the child
    shared with this process before exec, so every child would seem at least as large as the benchmark itself. VmHWM
    belongs to the program the child runs; it only grows, so the last sample before exit is its peak (to within the
    last SAMPLE_SECONDS).
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=cwd, stdin=subprocess.DEVNULL)
        peak = 0
        try:
            while process.poll() is None:
                peak = max(peak, vm_hwm(process.pid) or 0)
                time.sleep(SAMPLE_SECONDS)
        except KeyboardInterrupt:
            process.kill()
            raise
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        return ChildResult(process.returncode, out.read(), err.read(), seconds, peak)


def vm_hwm(pid: int | str) -> int | None:
    """Peak resident memory of a process so far (VmHWM in /proc/<pid>/status), None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def run_python(module: str, payload: dict[str, Any], env: dict[str, str] | None = None) -> tuple[Any, ChildResult]:
    """Run `python -m <module> <payload as JSON>` in a child; returns the JSON it printed last, and the child."""
    result = run_child([sys.executable, "-m", module, json.dumps(payload)], env=env)
    if result.exit_code != 0:
        raise RuntimeError(f"{module} failed (exit code {result.exit_code}): {result.stderr.strip()[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1]), result


def summary(seconds: list[float]) -> dict[str, Any]:
    """Median and spread of repeated timings (all runs kept)."""
    return {
        "seconds": [round(value, 4) for value in seconds],
        "median": round(statistics.median(seconds), 4),
        "min": round(min(seconds), 4),
        "max": round(max(seconds), 4),
    }


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]
