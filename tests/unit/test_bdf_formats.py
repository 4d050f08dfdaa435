"""The one table of formats (bdf/formats.py) is what docs/bdf.md lists, what `pulse import --help` names, what a
folder import takes and what the refusal of another file names."""

from __future__ import annotations

import re

from pulse_analytics.bdf import formats
from pulse_analytics.bdf.files import bdf_files, file_stem
from tests.conftest import REPO_ROOT, pulse_env, run_pulse


def documented() -> list[list[str]]:
    """The rows of docs/bdf.md's format table: format, file names, cycler, reader (licence)."""
    text = (REPO_ROOT / "docs" / "bdf.md").read_text()
    table = text.split("<!-- formats:", 1)[1].split("\n\n", 1)[0]
    return [[cell.strip() for cell in line.strip("|").split("|")][:4] for line in table.splitlines()[3:]]


def test_the_docs_list_every_format_with_its_names_cycler_and_reader():
    expected = [
        [found.name, ", ".join(f"`{suffix}`" for suffix in found.suffixes), found.cycler, found.reader]
        for found in formats.FORMATS
    ]
    assert documented() == expected


def test_the_help_of_pulse_import_names_the_same_formats(tmp_path):
    result = run_pulse("import", "--help", env=pulse_env(tmp_path / "warehouse"))
    assert " ".join(formats.listed().split()) in " ".join(result.stdout.split())


def test_a_folder_import_takes_every_format_by_name_and_stems_drop_the_suffixes(tmp_path):
    names = [f"cell{index}{found.suffixes[-1]}" for index, found in enumerate(formats.FORMATS)]
    for name in [*names, "notes.txt", "cell.mpt", "cell.yaml"]:
        (tmp_path / name).write_text("x")
    assert [path.name for path in bdf_files(tmp_path)] == sorted(names)
    assert {file_stem(tmp_path / name) for name in names} == {f"cell{index}" for index in range(len(names))}
    assert file_stem(tmp_path / "A__B__2024-01-02__X.bdf.parquet") == "A__B__2024-01-02__X"
    assert re.fullmatch(r"[^;]+( \([^)]+\))(; [^;]+ \([^)]+\))+", formats.listed())
