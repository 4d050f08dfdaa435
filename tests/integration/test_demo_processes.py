"""What the bundle starts, it stops: the README's two demos run in its order (`make demo`, then `make demo-trino`), each
stopped as Ctrl-C stops it, leave nothing of theirs in the process list; a stop that fails says so; the state folder
keeps one folder per service, so that no service locks another out (state.py)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pulse_analytics import state, trino_native
from tests.conftest import REPO_ROOT, bundle_processes, free_port, pulse_env, run_pulse
from tests.integration.test_superset_server import DEMO_TIMEOUT_S, as_in_a_terminal

TRINO_DEMO_READY = "Press Ctrl-C to stop Superset, Trino and PostgreSQL."
STOP_TIMEOUT_S = 180


class Output:
    """Everything a command prints, read as it comes (a thread per command)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process, self.lines, self.new_line = process, [], threading.Condition()
        threading.Thread(target=self.read, daemon=True).start()

    def read(self) -> None:
        for line in self.process.stdout or []:
            with self.new_line:
                self.lines.append(line)
                self.new_line.notify_all()
        with self.new_line:
            self.lines.append("")  # the end
            self.new_line.notify_all()

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str) -> str:
        """The output up to the line holding `text`; fails if the command ends first or takes too long."""
        with self.new_line:
            found = self.new_line.wait_for(
                lambda: any(text in line for line in self.lines) or self.lines[-1:] == [""], DEMO_TIMEOUT_S
            )
        assert found and self.lines[-1:] != [""], f"no {text!r} in the output of {self.process.args}:\n{self.text}"
        return self.text

    def wait_for_end(self) -> str:
        with self.new_line:
            self.new_line.wait_for(lambda: self.lines[-1:] == [""], STOP_TIMEOUT_S)
        return self.text


def interrupt_like_a_terminal(process: subprocess.Popen[str]) -> int:
    """Ctrl-C: SIGINT to the whole foreground process group (make and the pulse it runs); its exit code."""
    os.killpg(process.pid, signal.SIGINT)
    return process.wait(timeout=STOP_TIMEOUT_S)


def make(target: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """`make <target>` in the checkout, in a process group of its own as a terminal's foreground job."""
    return subprocess.Popen(
        ["make", "--no-print-directory", target],
        env=env,
        cwd=REPO_ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=as_in_a_terminal,
    )


def test_make_demo_then_make_demo_trino_each_leave_nothing_running(
    demo_warehouse_template: Path, open_folder: Path
) -> None:
    warehouse_dir, state_dir = open_folder / "warehouse", open_folder / "state"
    shutil.copytree(demo_warehouse_template, warehouse_dir)  # the demo lab is there: the demos reuse it
    env = pulse_env(
        warehouse_dir,
        STATE_DIR=str(state_dir),
        SUPERSET_PORT=str(free_port()),
        TRINO_PORT=str(free_port()),
        TRINO_MEMORY="2G",
        SUPERSET_CACHE_SECONDS="0",  # nothing to warm: the browser's part is tested elsewhere
    )
    processes = []
    try:
        demo = make("demo", env)
        processes.append(demo)
        Output(demo).wait_for("Press Ctrl-C to stop Superset")
        interrupt_like_a_terminal(demo)
        assert bundle_processes(state_dir) == []

        demo_trino = make("demo-trino", env)
        processes.append(demo_trino)
        output = Output(demo_trino)
        assert "==> 7/7 Warming the dashboards" in output.wait_for(TRINO_DEMO_READY)
        if os.geteuid() == 0:  # PostgreSQL's folder belongs to the account it runs as
            assert (state_dir / state.TRINO / "postgres").owner() == "postgres"
        running = bundle_processes(state_dir)
        for kind in ("gunicorn", "postgres", "io.trino.server"):
            assert any(kind in process for process in running), (kind, running)
        assert interrupt_like_a_terminal(demo_trino) != 0
        said = output.wait_for_end()
        assert "Stopped Superset, Trino and PostgreSQL: nothing is left running." in said, said
        assert bundle_processes(state_dir) == []
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        run_pulse("superset", "stop", env=env, check=False)
        run_pulse("trino", "stop", env=env, check=False)


def test_superset_files_of_the_flat_layout_move_into_their_folder(tmp_path: Path) -> None:
    """A state folder written before each service had a folder of its own: Superset's files move into superset/
    unchanged, and the state folder becomes traversable again (the flat layout made it 0700)."""
    state_dir = tmp_path / "state"
    state_dir.mkdir(mode=0o700)
    contents = {"secret_key": "key\n", "superset.db": "metadata", "sync-records.json": "{}", "superset.log": "log\n"}
    for name, text in contents.items():
        (state_dir / name).write_text(text)
    (state_dir / "cache").mkdir()
    (state_dir / "cache" / "result").write_text("cached")
    env = pulse_env(tmp_path / "warehouse", STATE_DIR=str(state_dir), SUPERSET_PORT=str(free_port()))

    result = run_pulse("superset", "status", env=env, check=False)

    assert result.returncode == 3, result.stderr  # not running
    assert f"Moved Superset's state into {state_dir / 'superset'}" in result.stdout
    assert sorted(path.name for path in state_dir.iterdir()) == ["superset"]
    for name, text in contents.items():
        assert (state_dir / "superset" / name).read_text() == text
    assert (state_dir / "superset" / "cache" / "result").read_text() == "cached"
    assert state_dir.stat().st_mode & 0o777 == 0o755
    assert (state_dir / "superset").stat().st_mode & 0o777 == 0o700


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder of the test's own that PostgreSQL's account can enter (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="pulse-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_alone(open_folder: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """The native stack's PostgreSQL alone, started in state/trino of a state folder of the test's own (Trino is not
    needed to stop it), and the environment that points `pulse trino` at it."""
    state_dir = open_folder / "state"
    root = state_dir / state.TRINO
    root.mkdir(parents=True)
    root.chmod(0o755)
    paths = trino_native.Paths(root)
    trino_native.start_postgres(paths, trino_native.load_or_create(paths, free_port(), workers=0))
    yield state_dir, pulse_env(open_folder / "warehouse", STATE_DIR=str(state_dir))
    state_dir.chmod(0o755)
    trino_native.stop(root)


@pytest.mark.skipif(os.geteuid() != 0, reason="PostgreSQL runs as another account only when pulse runs as root")
def test_a_stop_that_fails_is_reported_and_names_what_runs(postgres_alone: tuple[Path, dict[str, str]]) -> None:
    """The `postgres` account cannot enter the stack's folder any more (its parent made 0700, as Superset's flat
    layout did): pg_ctl cannot stop the server, and `pulse trino stop` says so instead of "stopped"."""
    state_dir, env = postgres_alone
    postmaster = state_dir / state.TRINO / "postgres" / "data" / "postmaster.pid"
    pid = int(postmaster.read_text().splitlines()[0])
    state_dir.chmod(0o700)

    refused = run_pulse("trino", "stop", env=env, check=False)

    assert refused.returncode == 1, refused.stdout
    assert "stopped" not in refused.stdout
    assert f"PostgreSQL (pid {pid}," in refused.stderr and "still runs after `pg_ctl stop`" in refused.stderr
    assert Path(f"/proc/{pid}").exists()
    started = run_pulse("trino", "start", env=env, check=False)  # nor does a start get past the closed folder
    assert started.returncode == 1
    assert f"cannot enter {state_dir} (mode 0o700)" in started.stderr, started.stderr
    assert f"chmod o+x {state_dir}" in started.stderr

    state_dir.chmod(0o755)
    stopped = run_pulse("trino", "stop", env=env)
    assert "Trino and PostgreSQL stopped." in stopped.stdout
    assert bundle_processes(state_dir) == []
