"""The state folder (PULSE_ANALYTICS_STATE_DIR, default ./state): one subfolder per service the bundle runs, each
owned by the account that runs it and private to it as that service needs.

    state/superset/   Superset's metadata database, secret key, logs and pid (mode 0700, the user running pulse)
    state/trino/      the native Trino stack: Trino's files, Iceberg data, secrets.json; postgres/ inside it is
                      owned by Debian's `postgres` account, which PostgreSQL runs as when pulse runs as root

The state folder itself holds only these subfolders and stays traversable (0755): a service that makes its own
folder private never locks another service's account out of its files. (Before, Superset's files lay directly in
the state folder and made it 0700, which left PostgreSQL unable to reach state/trino/postgres.) An older layout is
moved into its subfolder the first time it is used.
"""

from __future__ import annotations

from pathlib import Path

from pulse_analytics import config
from pulse_analytics.errors import PulseError

SUPERSET = "superset"
TRINO = "trino"
# What Superset kept directly in the state folder before it had a subfolder of its own.
FLAT_SUPERSET_FILES = (
    "secret_key",
    "superset.db",
    "superset.db-wal",
    "superset.db-shm",
    "superset.log",
    "access.log",
    "superset.pid",
    "initialized",
    "sync-records.json",
    "cache",
)


def service_dir(service: str) -> Path:
    """The folder of one service's state (not created here), its files moved in from an older layout first."""
    root = config.state_dir()
    move_flat_superset_files(root, root / SUPERSET)
    return root / service


def move_flat_superset_files(root: Path, folder: Path) -> None:
    """Move Superset's files of the older, flat layout into `folder` (renames: nothing is copied or lost), and give
    the state folder back the mode every service can traverse."""
    flat = [root / name for name in FLAT_SUPERSET_FILES if (root / name).exists()]
    if not flat or folder.exists():
        return
    pid = flat_superset_pid(root)
    if pid is not None:
        raise PulseError(
            f"a Superset started by an earlier version of the bundle is running from {root} (pid {pid}); its files "
            f"move to {folder} once it is stopped: run `pulse superset stop`, then this command again."
        )
    folder.mkdir(mode=0o700)
    for path in flat:
        path.rename(folder / path.name)
    root.chmod(0o755)
    print(f"Moved Superset's state into {folder} (one folder per service in {root}).")


def flat_superset_pid(root: Path) -> int | None:
    """The pid of a Superset still running from the flat layout (its pid file in the state folder itself)."""
    return superset_pid(root / "superset.pid")


def superset_pid(pid_file: Path) -> int | None:
    """The pid in the pid file if that process is alive and is this bundle's gunicorn (not a reused pid)."""
    try:
        pid = int(pid_file.read_text().strip())
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    return pid if b"gunicorn" in command_line and b"superset.app" in command_line else None
