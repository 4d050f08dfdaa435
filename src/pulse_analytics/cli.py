"""The `pulse` command line: each step of the bundle, and the whole demo."""

from __future__ import annotations

import argparse
import sys

from pulse_analytics import config, dbt, generate, warehouse
from pulse_analytics.progress import step


def cmd_seed(args: argparse.Namespace) -> int:
    generate.seed(rows=args.rows, seed_value=args.seed)
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    return dbt.build(target=args.target, select=args.select).exit_code


def cmd_demo(args: argparse.Namespace) -> int:
    step(f"1/2 Demo data in {config.warehouse_dir()}")
    if demo_data_present():
        print("demo data already present: reusing it (run `pulse seed` to write it again)")
    else:
        generate.seed(rows=args.rows, seed_value=args.seed)
    step("2/2 Building the views with dbt (target duckdb)")
    result = dbt.build(target="duckdb")
    if result.exit_code != 0:
        return result.exit_code
    print(f"Warehouse ready: duckdb -init {config.warehouse_dir() / 'attach.sql'} "
          f"{warehouse.catalog_path(config.get('TARGET_CATALOG'))}")  # fmt: skip
    return 0


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


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="pulse", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add_size_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--rows", type=int, default=generate.DEFAULT_ROWS,
                             help=f"approximate telemetry rows to write (default {generate.DEFAULT_ROWS:,})")
        seed_help = f"random seed: the same seed and rows give the same data (default {generate.DEFAULT_SEED})"
        command.add_argument("--seed", type=int, default=generate.DEFAULT_SEED, help=seed_help)

    seed = commands.add_parser("seed", help="write the demo lab's telemetry and metadata into the warehouse")
    add_size_options(seed)
    seed.set_defaults(func=cmd_seed)

    build = commands.add_parser("build", help="run `dbt build`: create the views and run the data tests")
    build.add_argument("--target", choices=dbt.TARGETS, default="duckdb", help="dbt target (default duckdb)")
    build.add_argument("--select", help="dbt node selection, e.g. part_telemetry+")
    build.set_defaults(func=cmd_build)

    demo = commands.add_parser("demo", help="the whole demo: seed (if needed) and build")
    add_size_options(demo)
    demo.set_defaults(func=cmd_demo)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
