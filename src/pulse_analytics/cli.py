"""The `pulse` command line: each step of the bundle, and the whole demo."""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import tempfile
import threading
from datetime import datetime
from pathlib import Path

from pulse_analytics import bdf, config, dbt, generate, project, warehouse
from pulse_analytics.bdf import formats
from pulse_analytics.errors import PulseError
from pulse_analytics.progress import step
from pulse_analytics.superset import server, warm
from pulse_analytics.superset import sync as superset_sync


def cmd_seed(args: argparse.Namespace) -> int:
    generate.seed(rows=args.rows, seed_value=args.seed)
    server.clear_cache()
    warm.after_write()
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    exit_code = dbt.build(target=args.target, select=args.select).exit_code
    server.clear_cache()  # the views may read other data now: no chart result kept from before
    if exit_code == 0:
        warm.after_write(args.target)
    return exit_code


def cmd_load_trino(args: argparse.Namespace) -> int:
    from pulse_analytics import trino_load  # needs the trino client only when used

    trino_load.load_all(replace=args.replace)
    server.clear_cache()
    warm.after_write("trino")
    return 0


def cmd_import_bdf(args: argparse.Namespace) -> int:
    options = bdf.Options(
        device_id=args.device_id,
        test_id=args.test_id,
        part_id=args.part_id,
        recipe_id=args.recipe_id,
        start_time=args.start_time,
    )
    if args.target == "trino":
        return import_into_trino(args.files, options)
    try:
        reports, errors = bdf.import_files(args.files, options)
    finally:
        server.clear_cache()
    if reports:
        warm.after_write()
    if errors:
        rest = "; the others were" if reports else ""
        print(f"{len(errors)} of {len(args.files)} files not imported (see the errors above){rest}.", file=sys.stderr)
        return 1
    if warehouse.catalog_path(config.get("TARGET_CATALOG")).exists():
        print(f"{len(reports)} file(s) imported: the views show them now; `pulse build` runs the data tests on them.")
    else:
        print(f"{len(reports)} file(s) imported; run `pulse build` to create the views that show them.")
    return 0


def import_into_trino(files: list[Path], options: bdf.Options) -> int:
    """Import the files into a scratch warehouse of their own, then add their tests to Trino's tables (appended, the
    rest of each table left as it is): all or nothing."""
    from pulse_analytics import trino_append

    with tempfile.TemporaryDirectory(prefix="pulse-import-") as scratch:
        reports, errors = bdf.import_files(files, options, warehouse_dir=Path(scratch))
        if errors:
            print(
                f"{len(errors)} of {len(files)} files not imported (see the errors above): nothing was added to Trino.",
                file=sys.stderr,
            )
            return 1
        trino_append.append_warehouse(Path(scratch))
    server.clear_cache()
    warm.after_write("trino")
    print(f"{len(reports)} file(s) imported into Trino; `pulse build --target trino` runs the data tests on them.")
    return 0


def cmd_export_bdf(args: argparse.Namespace) -> int:
    from pulse_analytics.bdf import export

    exported = export.export_test(args.test_id, args.device_id, args.output, kind=args.format)
    print(
        f"wrote {exported.path} ({exported.rows:,} records; columns {', '.join(exported.columns)}) and its "
        f"sidecar {exported.sidecar.name}; `pulse import-bdf {exported.path}` gives the same test back"
    )
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from pulse_analytics.superset import check

    return check.main(warehouse=args.warehouse, fix_format=args.normalize)


def cmd_export(args: argparse.Namespace) -> int:
    from pulse_analytics.superset import export

    return export.main(url=args.url, target=args.target, selectors=args.dashboard or [])


def cmd_plan(args: argparse.Namespace) -> int:
    from pulse_analytics.superset import plan

    return plan.main(
        url=args.url, target=args.target, drift=args.command == "drift", markdown=args.format == "markdown"
    )


def cmd_demo(args: argparse.Namespace) -> int:
    if args.target == "trino":
        return demo_on_trino(args)
    step(f"1/6 Demo data in {config.warehouse_dir()}")
    if demo_data_present():
        print("demo data already present: reusing it (run `pulse seed` to write it again)")
    else:
        generate.seed(rows=args.rows, seed_value=args.seed)
    bdf_errors = import_demo_bdf()
    step("3/6 Building the views with dbt (target duckdb)")
    result = dbt.build(target="duckdb")
    server.clear_cache()
    if result.exit_code != 0:
        return result.exit_code
    if bdf_errors:
        print(
            f"{len(bdf_errors)} BDF file(s) of PULSE_ANALYTICS_BDF_DIR not imported (see the errors above).",
            file=sys.stderr,
        )
        return 1
    print(
        f"Warehouse ready: duckdb -init {config.warehouse_dir() / 'attach.sql'} "
        f"{warehouse.catalog_path(config.get('TARGET_CATALOG'))}"
    )
    return run_demo_superset(detach=args.detach)


def demo_on_trino(args: argparse.Namespace) -> int:
    """The production path on this machine: the demo lab loaded into a native Trino, the views built there by
    dbt-trino, Superset reading them as Trino user `superset`. Ctrl-C stops Superset, Trino and PostgreSQL."""
    from pulse_analytics import trino_load, trino_native, trino_security

    step(f"1/7 Demo data in {config.warehouse_dir()} (the source of `pulse load-trino`)")
    if demo_data_present():
        print("demo data already present: reusing it (run `pulse seed` to write it again)")
    else:
        generate.seed(rows=args.rows, seed_value=args.seed)
    step("2/7 Starting the native Trino stack (PostgreSQL, Trino with trino_catalogs/)")
    keep_running = False
    try:
        stack = trino_native.start(workers=args.workers)
        os.environ.update(trino_native.client_environment(stack))
        step("3/7 Loading the demo lab into the telemetry and metadata catalogs (Trino user loader)")
        os.environ[config.PREFIX + "TRINO_USER"] = "loader"
        trino_load.load_all(replace=False)
        step("4/7 Building the views with dbt (target trino, Trino user dbt)")
        os.environ[config.PREFIX + "TRINO_USER"] = "dbt"
        result = dbt.build(target="trino")
        server.clear_cache()
        if result.exit_code != 0:
            raise SystemExit(result.exit_code)
        os.environ[config.PREFIX + "TRINO_USER"] = "superset"
        step("5/7 Starting Superset")
        server.start()
        step("6/7 Syncing the database (Trino, user superset), datasets, charts and dashboards into Superset")
        superset_sync.sync(target="trino")
        step("7/7 Warming the dashboards: each rendered once, so that your first view comes from the cache")
        warm_for_demo()
        print(server.login_message(), flush=True)
        print(
            f"Trino: {stack.url} (users {', '.join(trino_security.all_users())}; rules in {stack.security.rules}, "
            f"from trino_catalogs/rules.json and access/teams.yaml; passwords in {stack.security.users}, its CA "
            f"{stack.security.ca})",
            flush=True,
        )
        if args.detach:
            print("Superset and Trino keep running; stop them with `pulse superset stop` and `pulse trino stop`.")
            keep_running = True
            return 0
        print("Press Ctrl-C to stop Superset, Trino and PostgreSQL.", flush=True)
        server.wait_until_stopped()
        return 0
    finally:
        if not keep_running:
            server.stop()
            trino_native.stop()  # raises, naming what still runs, when a process did not stop
            print("Stopped Superset, Trino and PostgreSQL: nothing is left running.", file=sys.stderr)


def cmd_trino(args: argparse.Namespace) -> int:
    from pulse_analytics import trino_native

    if args.action == "install":
        trino_native.install()
        return 0
    if args.action == "start":
        stack = trino_native.start(workers=args.workers)
        print(trino_native.status())
        settings = trino_native.client_environment(stack)
        print("Point the bundle at it: " + " ".join(f"{name}={value}" for name, value in settings.items()))
        return 0
    if args.action == "stop":
        print("Trino and PostgreSQL stopped." if trino_native.stop() else "The native Trino stack was not running.")
        return 0
    if args.action == "secrets":
        return write_trino_secrets(args.folder)
    print(trino_native.status())
    return 0 if trino_native.running() else 3


def write_trino_secrets(folder: Path | None) -> int:
    from pulse_analytics import trino_security

    if folder is None:  # the native stack's: a running Trino takes new rules and passwords within seconds
        from pulse_analytics import trino_native

        folder = trino_native.Paths(trino_native.stack_dir().resolve()).security
        if not folder.is_dir():
            raise PulseError(
                f"there is no native Trino stack in {folder.parent} to write the secrets of (`pulse trino start` "
                "makes one); for another Trino give the folder, e.g. `pulse trino secrets ./trino-x`."
            )
    users = trino_security.all_users()
    given = {user: os.environ[password_variable(user)] for user in users if os.environ.get(password_variable(user))}
    files = trino_security.ensure(folder, given)
    made = [user for user in users if user not in given]
    print(
        f"Trino's security in {files.root}: CA {files.ca.name}, server certificate {files.server.name}, "
        f"password hashes {files.password_db.name} for {', '.join(users)}"
        + (f" (random passwords, in {files.users.name}, for {', '.join(made)})" if made else "")
        + f", access rules {files.rules.name} (trino_catalogs/rules.json and access/teams.yaml); "
        f"clients verify with {files.trusted}."
    )
    return 0


def password_variable(user: str) -> str:
    """TRINO_<USER>_PASSWORD: where compose's .env gives a Trino user's password (a team user's too)."""
    return "TRINO_" + re.sub(r"[^A-Z0-9]", "_", user.upper()) + "_PASSWORD"


def run_demo_superset(detach: bool) -> int:
    """Demo steps 4-5: Superset started and synced; then, unless detached, in the foreground until Ctrl-C.

    Ctrl-C, SIGTERM or a failure at any point stops the Superset this demo runs: nothing is left running.
    """
    try:
        step("4/6 Starting Superset")
        server.start()
        step("5/6 Syncing the database, datasets, charts and dashboards into Superset")
        superset_sync.sync()
        step("6/6 Warming the dashboards: each rendered once, so that your first view comes from the cache")
        warm_for_demo()
        print(server.login_message(), flush=True)
        if detach:
            print("Superset keeps running in the background; stop it with `pulse superset stop`.")
            return 0
        print("Press Ctrl-C to stop Superset (or run `pulse superset stop` in another terminal).", flush=True)
        server.wait_until_stopped()
        print("Superset stopped.")
        return 0
    except BaseException:
        if server.stop():
            print("Stopped Superset: nothing is left running.", file=sys.stderr)
        raise


def warm_for_demo() -> None:
    if server.cache_seconds() == 0:
        print("warm: PULSE_ANALYTICS_SUPERSET_CACHE_SECONDS is 0, no chart result is kept: nothing to warm")
        return
    warm.attempt()


def interrupt(_signal: int, _frame: object) -> None:
    raise KeyboardInterrupt


def cmd_superset(args: argparse.Namespace) -> int:
    if args.action == "start":
        server.start()
        print(server.login_message())
        return 0
    if args.action == "stop":
        print("Superset stopped." if server.stop() else "Superset was not running.")
        return 0
    if args.action == "status":
        print(server.status())
        return 0 if server.running() else 3
    if args.action == "warm":
        print(f"warm: {warm.warm()} dashboards rendered; their first views are answered from the cache")
        return 0
    from pulse_analytics.superset import screenshots  # needs Playwright (the test extra)

    screenshots.capture(server.url())
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    superset_sync.sync(url=args.url, target=args.target, force=args.force)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from pulse_analytics.bench import run as bench  # needs Playwright and matplotlib (the test extra)

    bench.run(
        bench.settings_from(
            rows=args.rows,
            runs=args.runs,
            dbt_runs=args.dbt_runs,
            seed=args.seed,
            work_dir=args.work_dir,
            out_dir=args.out,
            superset=not args.skip_superset,
            target=args.target,
            trino_server=args.trino_server,
        )
    )
    return 0


def import_demo_bdf() -> list[str]:
    """Import the BDF files of PULSE_ANALYTICS_BDF_DIR (if set) beside the demo data. Returns the errors."""
    folder = config.get("BDF_DIR")
    if not folder:
        step("2/6 No BDF files to import (set PULSE_ANALYTICS_BDF_DIR to a folder of them to add real cells)")
        return []
    step(f"2/6 Importing the BDF files of {folder}")
    try:
        return bdf.import_folder(Path(folder).expanduser().resolve())[1]
    except bdf.BdfError as error:
        print(f"error: {error}", file=sys.stderr)
        return [str(error)]


def demo_data_present() -> bool:
    """True when the telemetry catalog already holds the demo lab's tests."""
    telemetry = next(t for t in config.source_tables() if t.name == "telemetry")
    if not warehouse.catalog_path(telemetry.catalog).exists():
        return False
    connection = warehouse.connect_sources()
    try:
        tables = connection.execute(
            "select count(*) from duckdb_tables() where database_name = ? and schema_name = ? and table_name = ?",
            [telemetry.catalog, telemetry.schema, telemetry.table],
        ).fetchone()[0]
        if not tables:
            return False
        tests = connection.execute(
            f"select count(distinct test_id) from {warehouse.quoted(telemetry)} where test_id in (select unnest(?))",
            [[test.test_id for test in generate.TESTS]],
        ).fetchone()[0]
        return tests == len(generate.TESTS)
    finally:
        connection.close()


def start_time(text: str) -> datetime:
    try:
        return bdf.parse_start_time(text, "--start-time")
    except bdf.BdfError as error:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not an ISO 8601 time such as 2024-10-23T09:30:00+02:00"
        ) from error


def add_workers_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="native Trino: a coordinator and N worker processes (0: one process; default "
        "PULSE_ANALYTICS_TRINO_WORKERS, 1); a running stack gets the workers it lacks",
    )


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="pulse", description=__doc__)
    root.add_argument(
        "--project-dir",
        type=Path,
        metavar="DIR",
        help=f"the project to work on (default: the current folder or the nearest above it holding "
        f"{project.MARKER}; also {project.ENV_NAME})",
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add_size_options(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--rows",
            type=int,
            default=generate.DEFAULT_ROWS,
            help=f"approximate telemetry rows to write (default {generate.DEFAULT_ROWS:,})",
        )
        seed_help = f"random seed: the same seed and rows give the same data (default {generate.DEFAULT_SEED})"
        command.add_argument("--seed", type=int, default=generate.DEFAULT_SEED, help=seed_help)

    seed = commands.add_parser("seed", help="write the demo lab's telemetry and metadata into the warehouse")
    add_size_options(seed)
    seed.set_defaults(func=cmd_seed)

    build = commands.add_parser("build", help="run `dbt build`: create the views and run the data tests")
    build.add_argument("--target", choices=dbt.TARGETS, default="duckdb", help="dbt target (default duckdb)")
    build.add_argument("--select", help="dbt node selection, e.g. part_telemetry+")
    build.set_defaults(func=cmd_build)

    load_trino = commands.add_parser("load-trino", help="copy the warehouse's source tables into Trino (docs/trino.md)")
    load_trino.add_argument(
        "--replace",
        action="store_true",
        help="reload tables that exist (default: keep a table whose content is the "
        "warehouse's, refuse one that differs, naming what differs)",
    )
    load_trino.set_defaults(func=cmd_load_trino)

    import_bdf = commands.add_parser(
        "import",
        aliases=["import-bdf"],
        help="import Battery Data Format files (CSV, Parquet) and cyclers' own files as tests (docs/bdf.md)",
    )
    import_bdf.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help=f"files of these formats: {formats.listed()}",
    )
    import_bdf.add_argument(
        "--target",
        choices=dbt.TARGETS,
        default="duckdb",
        help="duckdb: into the embedded warehouse (default); trino: added to the Trino of PULSE_ANALYTICS_TRINO_* "
        "(appended, nothing else rewritten; the same file again changes nothing)",
    )
    import_bdf.add_argument("--device-id", help="device (cycler channel) of the test (default: from the file name)")
    import_bdf.add_argument("--test-id", help="test id (default: the file name without .bdf.csv)")
    import_bdf.add_argument("--part-id", help="part (cell) tested (default: the cell field of the file name)")
    import_bdf.add_argument("--recipe-id", help="recipe the test ran (default: none)")
    import_bdf.add_argument(
        "--start-time",
        type=start_time,
        help="start of the test, ISO 8601 (default: unix_time_second, else the date in the file name)",
    )
    import_bdf.set_defaults(func=cmd_import_bdf)

    export_bdf = commands.add_parser("export-bdf", help="write a test as a Battery Data Format file (docs/bdf.md)")
    export_bdf.add_argument("test_id", metavar="TEST", help="test id of the test to write")
    export_bdf.add_argument("--device-id", help="device of the test (needed only when several hold the test id)")
    export_bdf.add_argument(
        "--output",
        "-o",
        type=Path,
        metavar="PATH",
        help="file (*.bdf.csv, *.bdf.parquet) or folder to write (default: <test>.bdf.csv here)",
    )
    export_bdf.add_argument(
        "--format",
        choices=["csv", "parquet"],
        help="BDF CSV or BDF Parquet (default: as the --output file's name ends, else csv)",
    )
    export_bdf.set_defaults(func=cmd_export_bdf)

    check = commands.add_parser(
        "check", help="check the Superset assets against each other and the dbt models (offline; docs/assets.md)"
    )
    check.add_argument(
        "--warehouse",
        action="store_true",
        help="check dataset columns against the views built in PULSE_ANALYTICS_WAREHOUSE_DIR "
        "(default: the dbt docs and the metadata tables' known columns)",
    )
    check.add_argument(
        "--normalize",
        action="store_true",
        help="first rewrite asset files in the normal form `pulse export` writes, with the dbt docs' "
        "column descriptions (from `dbt parse`), and the README's table of column definitions",
    )
    check.set_defaults(func=cmd_check)

    superset = commands.add_parser("superset", help="run the local Superset (docs/superset.md)")
    superset.add_argument(
        "action",
        choices=("start", "stop", "status", "warm", "screenshots"),
        help="start (in the background, waits until ready), stop, status, warm (render every dashboard once, so "
        "that its first view is answered from the data cache), or screenshots (every tab of every dashboard as a "
        "PNG in docs/screenshots/)",
    )
    superset.set_defaults(func=cmd_superset)

    sync = commands.add_parser("sync", help="sync the Superset assets in git into Superset with preset-cli")
    add_superset_options(sync, "to sync into", "warehouse the database connection points at")
    sync.add_argument(
        "--force", action="store_true", help="import even when Superset already holds exactly what git holds"
    )
    sync.set_defaults(func=cmd_sync)

    export = commands.add_parser(
        "export", help="write dashboards edited in Superset back into datasets/ and dashboards/ (docs/assets.md)"
    )
    export.add_argument(
        "--dashboard",
        action="append",
        metavar="TITLE-or-UUID",
        help="a dashboard to export, by title, slug or uuid; repeat for more (default: all dashboards and datasets)",
    )
    add_superset_options(export, "to export from", "target the assets were synced with, to keep templated values")
    export.set_defaults(func=cmd_export)

    for name, text in (
        ("plan", "what `pulse sync` would change in Superset, asset by asset, changing nothing (exit 2 when anything)"),
        ("drift", "what Superset holds that git does not: edits and assets made in Superset (exit 2 when any)"),
    ):
        compare = commands.add_parser(name, help=f"{text} (docs/assets.md)")
        add_superset_options(
            compare, "to compare with", "target the assets are synced with, to render templated values"
        )
        compare.add_argument(
            "--format",
            choices=("text", "markdown"),
            default="text",
            help="text, or markdown for a pull-request comment or job summary (default text)",
        )
        compare.set_defaults(func=cmd_plan)

    demo = commands.add_parser("demo", help="the whole demo: seed (if needed), build, start Superset, sync dashboards")
    add_size_options(demo)
    demo.add_argument(
        "--detach", action="store_true", help="leave Superset running in the background instead of waiting for Ctrl-C"
    )
    demo.add_argument(
        "--target",
        choices=dbt.TARGETS,
        default="duckdb",
        help="duckdb: the embedded warehouse (default); trino: the production path, a native Trino "
        "started by `pulse trino start` (docs/trino.md)",
    )
    add_workers_option(demo)
    demo.set_defaults(func=cmd_demo)

    trino = commands.add_parser(
        "trino", help="the native Trino stack without Docker: PostgreSQL and Trino with trino_catalogs/ (docs/trino.md)"
    )
    trino.add_argument(
        "action",
        choices=("install", "start", "stop", "status", "secrets"),
        help="install (fetch the pinned Trino once), start (in the background, waits until ready), stop, status, "
        "secrets [FOLDER] (Trino's CA, certificate, password hashes and access rules: by default the native "
        "stack's, which a running Trino re-reads within seconds, e.g. after editing access/teams.yaml; or another "
        "Trino's, e.g. compose's trino-secrets job: passwords from TRINO_<USER>_PASSWORD, random where unset)",
    )
    trino.add_argument(
        "folder", nargs="?", type=Path, help="with secrets: the folder to write them into (default: the native stack's)"
    )
    add_workers_option(trino)
    trino.set_defaults(func=cmd_trino)

    bench = commands.add_parser("bench", help="time the views and dashboards at several sizes (docs/benchmarks.md)")
    bench.add_argument("--rows", help="telemetry sizes, comma-separated, e.g. 1M,10M,30M (default 1M,10M)")
    bench.add_argument("--runs", type=int, help="timed runs of each query, request and render (default 5)")
    bench.add_argument("--dbt-runs", type=int, help="timed runs of dbt build and dbt run per size (default 3)")
    bench.add_argument("--seed", type=int, help=f"random seed of the demo data (default {generate.DEFAULT_SEED})")
    bench.add_argument(
        "--work-dir",
        type=Path,
        help="folder of the generated warehouses and the benchmark's Superset "
        "state, reused between runs (default /tmp/pulse-bench)",
    )
    bench.add_argument("--out", type=Path, help="folder for results.json, REPORT.md and bench.png (default bench/)")
    bench.add_argument("--skip-superset", action="store_true", help="measure the warehouse only (no Superset)")
    bench.add_argument(
        "--target",
        help="duckdb (default), or duckdb,trino: the same queries, dbt and Superset also "
        "on a native Trino stack started in the work directory (docs/benchmarks.md)",
    )
    bench.add_argument(
        "--trino-server",
        metavar="HOST:PORT",
        help="with --target duckdb,trino: a running Trino with "
        "trino_catalogs/' catalogs and users instead of the benchmark's own (its source tables are "
        "loaded with `pulse load-trino`, its views rebuilt)",
    )
    bench.set_defaults(func=cmd_bench)
    return root


def add_superset_options(command: argparse.ArgumentParser, url_role: str, target_help: str) -> None:
    """--url and --target of the commands that talk to a Superset (sync, export, plan, drift)."""
    command.add_argument("--url", help=f"Superset {url_role} (default {server.url()})")
    command.add_argument(
        "--target", choices=superset_sync.TARGETS, default="duckdb", help=f"{target_help} (default duckdb)"
    )


def main(argv: list[str] | None = None) -> int:
    """The one place a PulseError, raised where a failure happened, becomes `error: <message>` and exit code 1."""
    try:
        args = parser().parse_args(argv)
        if args.project_dir is not None:  # children (dbt, Superset, the admin) inherit it
            os.environ[project.ENV_NAME] = str(args.project_dir.expanduser().resolve())
            project.root()  # a folder that is no project is refused before any command starts
        return run(args)
    except PulseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def run(args: argparse.Namespace) -> int:
    on_main_thread = threading.current_thread() is threading.main_thread()
    if on_main_thread:
        previous = signal.signal(signal.SIGTERM, interrupt)  # SIGTERM stops a command as Ctrl-C does: cleanup runs
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if on_main_thread:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
