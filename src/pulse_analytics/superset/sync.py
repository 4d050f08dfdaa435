"""`pulse sync`: import every asset in git into a Superset with preset-cli, then set the roles: the viewer role and the
team roles with their row-level security filters (access/teams.yaml, teams.py).

Equivalent to `superset-cli -u <admin> -p <password> <url> sync native <folder> --overwrite --load-env
-o target=<duckdb|trino> -o schema=<PULSE_ANALYTICS_TARGET_SCHEMA>`, where <folder> is assets.preset_cli_folder().
preset-cli runs in a child process that reads the password from the environment, so it never appears on a command line.
Superset matches assets by UUID, so a sync never duplicates an asset, and any edit made in the UI is replaced by what
git holds. An asset whose file was deleted from git is deleted from Superset if the bundle made it (ownership.py).
Superset's importer marks every asset it imports as changed, even with identical content; so that a second
sync changes nothing, each sync records (in the state folder) a fingerprint of the rendered assets and the time
Superset last changed each of them. When both still match, the next sync has nothing to do and imports nothing; an
edit in git, in the environment or in the UI (which changes that time) makes it import everything again.
Every sync then gives each cell, recipe and device of the warehouse its series colour on every dashboard (colours.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy.engine.url import make_url

from pulse_analytics import config, project, teams
from pulse_analytics.errors import PulseError
from pulse_analytics.progress import step
from pulse_analytics.superset import access, assets, check, colours, ownership, server
from pulse_analytics.superset.api import SupersetApi

TARGETS = ("duckdb", "trino")


def sync(url: str | None = None, target: str = "duckdb", force: bool = False) -> None:
    """Import all assets into the Superset at `url` (default: the local one) and set up the viewer role there.

    Imports nothing when Superset already holds exactly what git holds (see the module doc), unless `force`.
    """
    url = (url or server.url()).rstrip("/")
    if target not in TARGETS:
        raise PulseError(f"unknown target '{target}'; choose one of {', '.join(TARGETS)}.")
    check.before_sync(target)  # refuses a broken bundle (docs/assets.md)
    counts = Counter({kind: len(assets.files(kind)) for kind in assets.FOLDERS})
    summary = ", ".join(f"{count} {kind}" for kind, count in counts.items())
    api = server.admin_api(url)
    fingerprint = bundle_fingerprint(url, target)
    if not force and last_sync(url) == {"fingerprint": fingerprint, "versions": asset_versions(api), "target": target}:
        apply_access(api)
        print(
            f"sync: Superset at {url} already holds the {summary} in git, unchanged since the last sync: "
            "nothing to import (`pulse sync --force` imports anyway).",
            file=sys.stderr,
        )
        fix_colours(api)
        return
    reader = f", Superset reading Trino as user {config.get('TRINO_USER')}" if target == "trino" else ""
    step(f"Syncing {summary} to {url} (target {target}{reader}) with preset-cli")
    started = time.monotonic()
    give_databases_their_password(api, target, url)
    with assets.preset_cli_folder() as folder:
        command = [sys.executable, "-m", "pulse_analytics.superset.sync", url, str(folder), target]
        environment = config.with_trino_password({**os.environ, **config.resolved_environment()})
        result = subprocess.run(command, env=environment)
    if result.returncode != 0:
        raise PulseError(
            f"preset-cli could not sync the assets into {url} (exit code {result.returncode}); "
            "its message is above. Fix the asset file it names, then run `pulse sync` again."
        )
    check_imported(api)
    delete_retired(api)
    apply_access(api)
    fix_colours(api)
    record_sync(url, {"fingerprint": fingerprint, "versions": asset_versions(api), "target": target})
    print(f"sync: {summary} in {url} ({time.monotonic() - started:.1f} s)", file=sys.stderr)


def delete_retired(api: SupersetApi) -> None:
    """Delete what the bundle made and git has since deleted (ownership.py); assets made in Superset stay."""
    in_git = {kind: {str(assets.load(path).get("uuid")) for path in assets.files(kind)} for kind in ownership.DELETABLE}
    retired = ownership.retired(project.root(), in_git)
    if retired.unknown_because:
        print(f"sync: deletes nothing: {retired.unknown_because}", file=sys.stderr)
        return
    planned = ownership.deletions(api, retired)
    for item in ownership.delete(api, planned):
        print(f"sync: deleted {item.kind[:-1]} '{item.title}' ({item.file} was deleted from git)", file=sys.stderr)
    for item in planned:
        if item.kept_because:
            print(
                f"sync: kept {item.kind[:-1]} '{item.title}' ({item.file} was deleted from git, but "
                f"{item.kept_because})",
                file=sys.stderr,
            )


def apply_access(api: SupersetApi) -> None:
    """The read-only viewer role, and the team roles and row-level security filters of access/teams.yaml."""
    access.ensure_viewer_role(api)
    summary = teams.apply(api, teams.load(), access.ensure_read_only_role)
    print(f"sync: {summary} (access/teams.yaml)", file=sys.stderr)


def give_databases_their_password(api: SupersetApi, target: str, url: str) -> None:
    """Superset's importer keeps the password a database it already holds has, whatever the file gives (a database
    first synced for DuckDB, then for Trino, would keep none; a changed Trino password would never arrive). So each
    database of git that Superset holds and whose file gives a password gets its URI and settings, password included,
    through Superset's API first; the import then finds that password and keeps it."""
    from pulse_analytics.superset import rendering

    environment = rendering.sync_environment(target, url)
    held = {item.get("uuid"): item["id"] for item in api.list_all("/api/v1/database/")}
    for path in assets.files("databases"):
        database = rendering.render(path.read_text(), environment, path)
        if not database.get("password") or database.get("uuid") not in held:
            continue
        uri = make_url(database["sqlalchemy_uri"]).set(password=database["password"])
        api.put(
            f"/api/v1/database/{held[database['uuid']]}",
            {
                "sqlalchemy_uri": uri.render_as_string(hide_password=False),
                "extra": json.dumps(database.get("extra") or {}),
            },
        )


def fix_colours(api: SupersetApi) -> None:
    """Give every cell, recipe, device and curve per cycle its colour on every dashboard (colours.py): the import
    drops the colours, and the warehouse may hold new labels since the last sync."""
    labels, written = colours.apply(api)
    print(
        f"sync: series colours of {labels} labels (cells, recipes, devices, curves per cycle) on every dashboard "
        f"({written} dashboard(s) updated)",
        file=sys.stderr,
    )


def bundle_fingerprint(url: str, target: str) -> str:
    """A hash of everything the import depends on: the asset files, the target and the PULSE_ANALYTICS_* settings the
    templates read."""
    digest = hashlib.sha256(json.dumps([url, target, config.resolved_environment()], sort_keys=True).encode())
    root = project.root()
    for kind in assets.FOLDERS:
        for path in assets.files(kind):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def asset_versions(api: SupersetApi) -> dict[str, str | None]:
    """When Superset last changed each asset in git ("kind:uuid" -> time; None when it is not in Superset)."""
    changed = {}
    for kind, endpoint in (
        ("databases", "/api/v1/database/"),
        ("datasets", "/api/v1/dataset/"),
        ("charts", "/api/v1/chart/"),
        ("dashboards", "/api/v1/dashboard/"),
    ):
        for item in api.list_all(endpoint):
            changed[f"{kind}:{item.get('uuid')}"] = item.get("changed_on_utc") or item.get("changed_on")
    return {
        f"{kind}:{assets.load(path)['uuid']}": changed.get(f"{kind}:{assets.load(path)['uuid']}")
        for kind in assets.FOLDERS
        for path in assets.files(kind)
    }


def records_file() -> Path:
    return server.state().folder / "sync-records.json"


def last_sync(url: str) -> dict[str, object] | None:
    try:
        return json.loads(records_file().read_text()).get(url)
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def synced_target(url: str) -> str | None:
    """The target (duckdb or trino) the Superset at `url` was last synced for by this state folder, if any."""
    record = last_sync(url) or {}
    return str(record["target"]) if "target" in record else None


def record_sync(url: str, record: dict[str, object]) -> None:
    try:
        records = json.loads(records_file().read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        records = {}
    records[url] = record
    records_file().parent.mkdir(parents=True, exist_ok=True)
    records_file().write_text(json.dumps(records, indent=1, sort_keys=True) + "\n")


def check_imported(api: SupersetApi) -> None:
    """Fail, naming the files, when a dashboard or chart in git is not in Superset after the import."""
    for kind, endpoint in (("dashboards", "/api/v1/dashboard/"), ("charts", "/api/v1/chart/")):
        present = {str(item.get("uuid")) for item in api.list_all(endpoint)}
        missing = [path for path in assets.files(kind) if str(assets.load(path)["uuid"]) not in present]
        if missing:
            names = ", ".join(str(path.relative_to(project.root())) for path in missing)
            raise PulseError(
                f"after the sync, Superset at {api.url} does not have {names}; "
                "see the Superset log for the import error."
            )


class WithoutTrinoProbeWarning(logging.Filter):
    """preset-cli, before it imports a database with a password, connects to it from this process with the URI and the
    password alone, and warns "Cannot connect to database" when that fails. The bundle's Trino takes https only, with
    the certificate checked against the stack's CA: settings the database keeps in `extra` (connect_args), which that
    probe leaves out. So on Trino it warned at every sync, while Superset, which uses them, connects (the warming of
    the dashboards, and every chart, read through it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Cannot connect to database")


def run_preset_cli(url: str, folder: str, target: str) -> int:
    """In the child process: preset-cli's `sync native` on the bundle, logged in as the admin."""
    from preset_cli.cli.superset.main import superset_cli

    if target == "trino":
        logging.getLogger("preset_cli.cli.superset.sync.native.command").addFilter(WithoutTrinoProbeWarning())

    arguments = [
        "-u",
        config.get("SUPERSET_ADMIN_USER"),
        "-p",
        config.get("SUPERSET_ADMIN_PASSWORD"),
        url,
        "sync",
        "native",
        folder,
        "--overwrite",
        "--load-env",
        "-o",
        f"target={target}",
        "-o",
        f"schema={config.get('TARGET_SCHEMA')}",
    ]
    try:
        superset_cli.main(args=arguments, prog_name="superset-cli", standalone_mode=False)
    except Exception as error:  # preset-cli raises on a failed import; its message is the one to show
        print(f"preset-cli: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run_preset_cli(*sys.argv[1:4]))
