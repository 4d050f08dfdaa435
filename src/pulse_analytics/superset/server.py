"""`pulse superset start|stop|status`: a local Superset served by gunicorn, all of its state in one folder.

Its folder, PULSE_ANALYTICS_STATE_DIR/superset (default ./state/superset, mode 0700; see state.py), holds superset.db
(Superset's metadata, SQLite), secret_key (generated on first start, never in git), superset.log, access.log (one line
per HTTP request: time, status, method, path, duration) and superset.pid. The first start creates the metadata
database, the roles and the admin user (about half a minute); later starts reuse them.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import requests

from pulse_analytics import config, teams
from pulse_analytics import state as state_folder
from pulse_analytics.errors import PulseError
from pulse_analytics.progress import step
from pulse_analytics.superset import access
from pulse_analytics.superset.api import SupersetApi, SupersetError

CONFIG_FILE = Path(__file__).with_name("superset_config.py")
HEALTH_TIMEOUT_S = 180  # the longest a healthy Superset takes to answer /health on a slow machine
STOP_TIMEOUT_S = 30
WORKERS, THREADS = 2, 4  # gunicorn processes and threads each: enough for a dashboard's charts at once
LOG_LINES_SHOWN = 30
ACCESS_LOG_FORMAT = "%(t)s %(s)s %(m)s %(U)s?%(q)s %(M)sms pid=%(p)s"  # no addresses or cookies: all is local


@dataclass(frozen=True)
class State:
    """The files of one Superset's state folder."""

    folder: Path

    @property
    def secret_key(self) -> Path:
        return self.folder / "secret_key"

    @property
    def database(self) -> Path:
        return self.folder / "superset.db"

    @property
    def log(self) -> Path:
        return self.folder / "superset.log"

    @property
    def access_log(self) -> Path:
        return self.folder / "access.log"

    @property
    def pid(self) -> Path:
        return self.folder / "superset.pid"

    @property
    def cache(self) -> Path:
        """Chart results kept for PULSE_ANALYTICS_SUPERSET_CACHE_SECONDS (when above 0), shared by the workers."""
        return self.folder / "cache"

    @property
    def initialized(self) -> Path:
        """Holds the Superset version whose migrations and roles the metadata database has."""
        return self.folder / "initialized"


def state() -> State:
    return State(state_folder.service_dir(state_folder.SUPERSET))


def port() -> int:
    value = config.get("SUPERSET_PORT")
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise PulseError(f"PULSE_ANALYTICS_SUPERSET_PORT is '{value}'; set it to a port number, e.g. 8088.")
    return int(value)


def cache_seconds() -> int:
    value = config.get("SUPERSET_CACHE_SECONDS")
    if not value.isdigit():
        raise PulseError(
            f"PULSE_ANALYTICS_SUPERSET_CACHE_SECONDS is '{value}'; set it to a number of seconds, "
            "e.g. 600, or 0 for no cache."
        )
    return int(value)


def clear_cache(files: State | None = None) -> None:
    """Forget the chart results Superset keeps (after the warehouse changed): the next render queries it again."""
    folder = (files or state()).cache
    if folder.is_dir():
        for entry in folder.iterdir():  # the folder stays: the running workers write into it
            entry.unlink(missing_ok=True)


def url(port_number: int | None = None) -> str:
    """The URL of a Superset on this machine: on `port_number`, else the local one (PULSE_ANALYTICS_SUPERSET_PORT)."""
    return f"http://localhost:{port_number or port()}"


def superset_environment() -> dict[str, str]:
    """The environment of every Superset process: its config file and the bundle's settings, but no Trino password
    (Superset keeps the one `pulse sync` gave its database, encrypted; it needs none of the other users')."""
    environment = {
        **os.environ,
        **config.resolved_environment(),
        "SUPERSET_CONFIG_PATH": str(CONFIG_FILE),
        "FLASK_APP": "superset.app:create_app()",
    }
    for secret in ("TRINO_PASSWORD", "TRINO_PASSWORDS_FILE"):
        environment.pop(config.PREFIX + secret, None)
    return environment


def start() -> None:
    """Start Superset in the background (or reuse the one running on this state) and wait until it answers."""
    files = state()
    if running_pid(files) is not None and healthy():
        print(f"Superset is already running at {url()} (state {files.folder}).", file=sys.stderr)
        ensure_logins()
        return
    if port_in_use(port()):
        raise PulseError(
            f"port {port()} is in use by another program; stop it or set PULSE_ANALYTICS_SUPERSET_PORT to a free port."
        )
    cache_seconds()  # a bad value stops here, not in Superset's log
    files.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    ensure_secret_key(files)
    initialize(files)
    make_private(files)
    step(f"Starting Superset at {url()} (log: {files.log})")
    started = time.monotonic()
    process = launch(files)
    try:
        wait_until_healthy(process, files)
    except KeyboardInterrupt:  # a start cut short leaves nothing running
        stop()
        raise
    print(f"Superset answered /health after {time.monotonic() - started:.1f} s", file=sys.stderr)
    ensure_logins()


def ensure_secret_key(files: State) -> None:
    """Generate the SECRET_KEY on first start (readable by the owner only); refuse to replace a lost one."""
    if files.secret_key.exists():
        return
    if files.database.exists():
        raise PulseError(
            f"{files.secret_key} is missing but {files.database} exists and is encrypted with "
            f"it. Restore the key file, or delete {files.folder} to start over."
        )
    files.secret_key.touch(mode=0o600)
    files.secret_key.write_text(secrets.token_urlsafe(48) + "\n")


def make_private(files: State) -> None:
    """The state folder, the secret key and the metadata database (logins, password hashes, the warehouse's
    connection) are readable by their owner only."""
    files.folder.chmod(0o700)
    for private_file in (files.secret_key, files.database):
        if private_file.exists():
            private_file.chmod(0o600)


def initialize(files: State) -> None:
    """Create or upgrade the metadata database and the built-in roles, once per Superset version."""
    superset_version = version("apache-superset")
    if files.initialized.exists() and files.initialized.read_text().strip() == superset_version:
        return
    commands = [
        ("Creating Superset's metadata database", ["db", "upgrade"]),
        ("Creating Superset's roles and permissions", ["init"]),
    ]
    for number, (message, arguments) in enumerate(commands, start=1):
        step(f"Superset first start {number}/{len(commands)}: {message} in {files.folder}")
        run_superset(arguments, files)
    files.initialized.write_text(superset_version + "\n")


def run_superset(arguments: list[str], files: State) -> None:
    """Run one `superset` CLI command, its output in the log; on failure show the end of the log."""
    executable = Path(sys.executable).with_name("superset")
    with files.log.open("a") as log:
        result = subprocess.run(
            [str(executable), *arguments], env=superset_environment(), stdout=log, stderr=subprocess.STDOUT
        )
    if result.returncode != 0:
        raise PulseError(
            f"`superset {' '.join(arguments)}` failed (exit code {result.returncode}). "
            f"End of {files.log}:\n{log_tail(files)}"
        )


def launch(files: State) -> subprocess.Popen[bytes]:
    """gunicorn in its own session (so Ctrl-C in a terminal does not reach it half-way); its pid in the pid file."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port()}",
        "--workers",
        str(WORKERS),
        "--worker-class",
        "gthread",
        "--threads",
        str(THREADS),
        "--timeout",
        "120",
        "--graceful-timeout",
        "10",
        "--limit-request-line",
        "0",
        "--limit-request-field_size",
        "0",
        "--access-logfile",
        str(files.access_log),
        "--access-logformat",
        ACCESS_LOG_FORMAT,
        "superset.app:create_app()",
    ]
    with files.log.open("a") as log:
        process = subprocess.Popen(
            command,
            env=superset_environment(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=files.folder,
        )
    files.pid.write_text(f"{process.pid}\n")
    return process


def wait_until_healthy(process: subprocess.Popen[bytes], files: State) -> None:
    """Poll /health until it answers OK; fail at once, with the log, if gunicorn exits."""
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            files.pid.unlink(missing_ok=True)
            raise PulseError(
                f"Superset exited with code {process.returncode} while starting. End of {files.log}:\n{log_tail(files)}"
            )
        if healthy():
            return
        time.sleep(0.5)
    stop()
    raise PulseError(
        f"Superset did not answer {url()}/health within {HEALTH_TIMEOUT_S} s; stopped it. "
        f"End of {files.log}:\n{log_tail(files)}"
    )


def ensure_logins() -> None:
    """The admin can log in with the configured password; the viewer role and the read-only user exist."""
    try:
        api = admin_api()
    except SupersetError:
        result = subprocess.run(
            [sys.executable, "-m", "pulse_analytics.superset.admin"],
            env=superset_environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        if result.returncode != 0:
            raise PulseError(f"could not set up the Superset admin user:\n{result.stderr[-3000:]}") from None
        api = admin_api()
    access.ensure_viewer_role(api)
    access.ensure_user(
        api, config.get("SUPERSET_VIEWER_USER"), config.get("SUPERSET_VIEWER_PASSWORD"), access.VIEWER_ROLE
    )
    for role in teams.load().roles:  # the demo's team logins, with the read-only user's password
        if role.demo_user:
            access.ensure_read_only_role(api, role.name)
            access.ensure_user(
                api, role.demo_user, config.get("SUPERSET_VIEWER_PASSWORD"), role.name, f"({role.name}, read-only)"
            )


def admin_login() -> tuple[str, str]:
    """The admin's name and password (PULSE_ANALYTICS_SUPERSET_ADMIN_*)."""
    return config.get("SUPERSET_ADMIN_USER"), config.get("SUPERSET_ADMIN_PASSWORD")


def admin_api(superset_url: str | None = None, admin: tuple[str, str] | None = None) -> SupersetApi:
    """A session of the admin user (PULSE_ANALYTICS_SUPERSET_ADMIN_*, or `admin`) on the Superset at `superset_url`
    (default: the local one)."""
    user, password = admin or admin_login()
    return SupersetApi(superset_url or url(), user, password)


def stop() -> bool:
    """Stop the Superset of this state folder and all its workers. Returns False when none was running."""
    flat_pid = state_folder.flat_superset_pid(config.state_dir())  # one started before Superset had its own folder
    if flat_pid is not None:
        stop_group(flat_pid)
        (config.state_dir() / "superset.pid").unlink(missing_ok=True)
        return True
    files = state()
    pid = running_pid(files)
    if pid is None:
        files.pid.unlink(missing_ok=True)
        return False
    stop_group(pid)
    files.pid.unlink(missing_ok=True)
    return True


def stop_group(pid: int) -> None:
    """SIGTERM to gunicorn's process group, SIGKILL to what is left after STOP_TIMEOUT_S."""
    os.killpg(pid, signal.SIGTERM)  # gunicorn leads its own process group: master and workers
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while group_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if group_alive(pid):
        os.killpg(pid, signal.SIGKILL)


def running_pid(files: State) -> int | None:
    return state_folder.superset_pid(files.pid)


def group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs. Zombies do not count: gunicorn's master, once the `pulse superset
    start` that launched it has exited, is reaped by the machine's init, which in some containers never does."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _parent, group = stat.read_text().rsplit(")", 1)[1].split()[:3]  # after "pid (command)"
        except (OSError, ValueError):
            continue
        if int(group) == pgid and state != "Z":
            return True
    return False


def healthy() -> bool:
    try:
        return requests.get(f"{url()}/health", timeout=5).text.strip() == "OK"
    except requests.RequestException:
        return False


def port_in_use(number: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", number)) == 0


def log_tail(files: State) -> str:
    if not files.log.exists():
        return "(no log)"
    return "\n".join(files.log.read_text(errors="replace").splitlines()[-LOG_LINES_SHOWN:])


def status() -> str:
    files = state()
    pid = running_pid(files)
    if pid is None:
        return f"Superset is not running (state {files.folder})."
    health = "healthy" if healthy() else "not answering /health"
    return f"Superset is running at {url()} (pid {pid}, {health}, state {files.folder})."


def login_message() -> str:
    """How to open the dashboards, said the same way by `pulse superset start` and `pulse demo`. The demo's default
    passwords are shown (anyone can read them in the docs); a password the user set is never printed."""
    lines = [f"Superset: {url()}/dashboard/list/"]
    defaults = []
    for role, user, password, label in (
        ("admin:    ", "SUPERSET_ADMIN_USER", "SUPERSET_ADMIN_PASSWORD", ""),
        ("read-only:", "SUPERSET_VIEWER_USER", "SUPERSET_VIEWER_PASSWORD", f" ({access.VIEWER_ROLE})"),
    ):
        if os.environ.get(config.PREFIX + password):
            lines.append(f"  {role} {config.get(user)} / the password in {config.PREFIX}{password}{label}")
        else:
            lines.append(f"  {role} {config.get(user)} / {config.get(password)}{label}")
            defaults.append(config.PREFIX + password)
    team_users = [role.demo_user for role in teams.load().roles if role.demo_user]
    if team_users:
        lines.append(
            f"  team viewers (access/teams.yaml): {', '.join(team_users)}, each with the read-only user's password; "
            "each sees its own team's cells only"
        )
    if defaults:
        lines.append(f"  Demo passwords: set {' and '.join(defaults)} for anything but a local demo.")
    return "\n".join(lines)


def running() -> bool:
    return running_pid(state()) is not None


def wait_until_stopped() -> None:
    """Block until the Superset of this state folder is gone (stopped elsewhere, or crashed)."""
    while running():
        time.sleep(1)
