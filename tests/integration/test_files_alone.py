"""A lab's own recordings are enough: BDF files imported into an empty warehouse build into views with no metadata
tables filled in, as a new user's first act does."""

from __future__ import annotations

from pathlib import Path

from pulse_analytics import warehouse
from tests.conftest import pulse_env, run_pulse


def write_cycles(path: Path, cycles: int) -> None:
    """A cell charged and discharged at 1 A for 10 minutes each, one record a minute, with a minute of rest between."""
    lines = ["test_time_second,voltage_volt,current_ampere"]
    time = 0
    for _ in range(cycles):
        for current, start, slope in ((1.0, 3.6, 0.05), (0.0, 4.1, 0.0), (-1.0, 4.0, -0.05), (0.0, 3.5, 0.0)):
            for minute in range(10 if current else 1):
                lines.append(f"{time},{start + slope * minute:.3f},{current}")
                time += 60
    path.write_text("\n".join(lines) + "\n")


def test_imported_files_alone_build_into_views(tmp_path: Path) -> None:
    warehouse_dir = tmp_path / "warehouse"
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    for cell in ("A1", "A2"):
        write_cycles(recordings / f"LAB__{cell}__2025-01-15__cycling__Maccor.bdf.csv", cycles=4)
    env = pulse_env(warehouse_dir)

    imported = run_pulse("import-bdf", *map(str, sorted(recordings.iterdir())), env=env)
    assert "2 file(s) imported; run `pulse build` to create the views that show them." in imported.stdout
    build = run_pulse("build", env=env, check=False)

    assert build.returncode == 0 and "build OK" in build.stdout, build.stdout + build.stderr
    assert "metadata table metadata.pulse.device_metadata (device_metadata) is empty" in build.stdout
    connection = warehouse.connect_analytics(read_only=True, warehouse_dir=warehouse_dir)
    cells = connection.execute(
        "select part_id, count(*), min(cycle_kind), max(capacity_retention) "
        "from pulse.part_statistics_cycle group by part_id order by part_id"
    ).fetchall()
    assert [(part, cycles, kind) for part, cycles, kind, _ in cells] == [("A1", 4, "full"), ("A2", 4, "full")]
    assert all(abs(retention - 1.0) < 1e-9 for *_, retention in cells)  # the same capacity every cycle


def test_a_file_imported_into_a_built_warehouse_shows_in_the_views_at_once(tmp_path: Path) -> None:
    """The views read the warehouse's tables: after the first build, an import shows without another build, and
    pulse says so (it had told the user to build again)."""
    warehouse_dir = tmp_path / "warehouse"
    env = pulse_env(warehouse_dir)
    first, second = (
        tmp_path / "LAB__B1__2025-01-15__cycling__Maccor.bdf.csv",
        tmp_path / "LAB__B2__2025-01-16__cycling__Maccor.bdf.csv",
    )
    write_cycles(first, cycles=2)
    write_cycles(second, cycles=3)
    run_pulse("import", str(first), env=env)
    run_pulse("build", env=env)

    imported = run_pulse("import", str(second), env=env)

    assert "1 file(s) imported: the views show them now; `pulse build` runs the data tests on them." in imported.stdout
    connection = warehouse.connect_analytics(read_only=True, warehouse_dir=warehouse_dir)
    cycles = connection.execute("select part_id, count(*) from pulse.part_statistics_cycle group by part_id order by 1")
    assert cycles.fetchall() == [("B1", 2), ("B2", 3)]
