"""The connection an import stages in: the warehouse's source catalogs attached read-write, under DuckDB's memory limit,
spilling beyond it to <warehouse>/.import-spill/<pid> (docs/bdf.md, "Size and memory")."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pulse_analytics import config, warehouse
from pulse_analytics.bdf.report import BdfError

# Staging spills to a temporary folder beyond this much memory (DuckDB's buffer manager keeps the rest on disk).
MEMORY_LIMIT = "1GB"
SPILL_FOLDER = ".import-spill"  # in the warehouse folder: one subfolder per importing process, named by its pid


@contextmanager
def staging_connection(warehouse_dir: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse's source catalogs, attached read-write, with staging that spills to <warehouse>/.import-spill/
    <pid>, removed afterwards; what a killed import left there is removed by the next one."""
    spills = (warehouse_dir or config.warehouse_dir()) / SPILL_FOLDER
    remove_abandoned_spills(spills)
    try:
        connection = warehouse.connect_sources(warehouse_dir)
    except duckdb.IOException as error:
        raise BdfError(
            f"cannot open the warehouse for writing: {str(error).splitlines()[0]}. Close the "
            f"program holding it (another pulse command, Superset, a duckdb shell) and run again."
        ) from error
    spill = spills / str(os.getpid())
    try:
        spill.mkdir(parents=True, exist_ok=True)
        connection.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        connection.execute(f"SET temp_directory = '{spill}'")
        warehouse.create_source_tables(connection)
        yield connection
    finally:
        connection.close()
        shutil.rmtree(spill, ignore_errors=True)


def remove_abandoned_spills(spills: Path) -> None:
    """Remove the spill folders of imports whose process is gone (killed with SIGKILL, or the machine stopped)."""
    if not spills.is_dir():
        return
    for folder in spills.iterdir():
        if folder.name.isdigit() and not process_alive(int(folder.name)):
            size = sum(file.stat().st_size for file in folder.rglob("*") if file.is_file())
            shutil.rmtree(folder, ignore_errors=True)
            print(f"removed {folder} ({size / 1e6:.0f} MB), left by an import that was stopped", file=sys.stderr)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
