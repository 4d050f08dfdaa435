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


@dataclass(frozen=True)
class ChildResult:
    """What a child process did: its exit code, output, wall time and peak resident memory."""

    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_bytes: int


def run_child(command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> ChildResult:
    """Run a command to completion; its peak RSS comes from the kernel's accounting of that process (wait4)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=cwd, stdin=subprocess.DEVNULL)
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except KeyboardInterrupt:
            process.kill()
            raise
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        out.seek(0)
        err.seek(0)
        return ChildResult(process.returncode, out.read(), err.read(), seconds, usage.ru_maxrss * 1024)


def run_python(module: str, payload: dict[str, Any], env: dict[str, str] | None = None) -> tuple[Any, ChildResult]:
    """Run `python -m <module> <payload as JSON>` in a child; returns the JSON it printed last, and the child."""
    result = run_child([sys.executable, "-m", module, json.dumps(payload)], env=env)
    if result.exit_code != 0:
        raise RuntimeError(f"{module} failed (exit code {result.exit_code}): {result.stderr.strip()[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1]), result


def summary(seconds: list[float]) -> dict[str, Any]:
    """Median and spread of repeated timings (all runs kept)."""
    return {"seconds": [round(value, 4) for value in seconds], "median": round(statistics.median(seconds), 4),
            "min": round(min(seconds), 4), "max": round(max(seconds), 4)}  # fmt: skip


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]
