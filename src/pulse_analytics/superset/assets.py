"""The Superset assets kept in git: where they live, their normal YAML form, and the bundle preset-cli imports.

datasets/databases/*.yaml            the database connection (a Jinja template rendered per environment)
datasets/datasets/<database>/*.yaml  one dataset per view (columns, verbose names, descriptions, metrics)
dashboards/charts/*.yaml             one chart per file
dashboards/dashboards/*.yaml         one dashboard per file (layout and native filters)

Every file but the database template is in normal form (`normal_yaml`): keys sorted, no database ids, no timestamps,
so a file written by hand, by `pulse export` or by this module is byte-for-byte the same for the same content.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from pulse_analytics import project
from pulse_analytics.errors import PulseError
from pulse_analytics.superset import layout

YAML_SUFFIXES = {".yaml", ".yml"}

# preset-cli's folder name -> where that kind of asset lives in a project.
FOLDERS: dict[str, Path] = {
    "databases": Path("datasets", "databases"),
    "datasets": Path("datasets", "datasets"),
    "charts": Path("dashboards", "charts"),
    "dashboards": Path("dashboards", "dashboards"),
}


class _NormalDumper(yaml.SafeDumper):
    """SafeDumper writing multi-line strings (SQL, Markdown) as literal blocks, so they read as they were written."""


def _represent_string(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_NormalDumper.add_representer(str, _represent_string)


def normal_yaml(asset: dict[str, Any]) -> str:
    """The one YAML text of an asset: block style, keys sorted, unicode kept, long strings folded at 120 columns,
    multi-line strings as literal blocks."""
    return yaml.dump(
        asset, Dumper=_NormalDumper, sort_keys=True, allow_unicode=True, default_flow_style=False, width=120
    )


def files(kind: str, directory: Path | None = None) -> list[Path]:
    """The asset files of one kind (databases, datasets, charts, dashboards) in `directory` (default: the project's
    folder of that kind), in name order."""
    directory = directory or folder(kind)
    return sorted(path for path in directory.rglob("*") if is_asset_file(path, directory))


def folder(kind: str, root: Path | None = None) -> Path:
    """Where one kind of asset lives under root (default: the project `pulse` works on)."""
    return (root or project.root()) / FOLDERS[kind]


def is_asset_file(path: Path, directory: Path) -> bool:
    """A YAML file preset-cli imports from that asset folder (not an `.overrides.yaml` file, nor in a hidden folder)."""
    hidden = any(part.startswith(".") for part in path.parent.relative_to(directory).parts)
    return path.is_file() and path.suffix in YAML_SUFFIXES and ".overrides" not in path.suffixes and not hidden


def load(path: Path) -> dict[str, Any]:
    """An asset file as written (templates not rendered)."""
    with path.open(encoding="utf-8") as stream:
        asset = yaml.safe_load(stream)
    if not isinstance(asset, dict):
        raise PulseError(f"{path} is not a YAML mapping; every asset file holds one asset.")
    return asset


def dashboard(slug: str) -> dict[str, Any]:
    """The dashboard in git with this slug (as Superset's URLs name it)."""
    for path in files("dashboards"):
        found = load(path)
        if found.get("slug") == slug:
            return found
    raise PulseError(f"no dashboard in {folder('dashboards')} has the slug '{slug}'.")


def chart_uuids(dashboard: dict[str, Any]) -> list[str]:
    """The charts a dashboard shows, on all its tabs, in layout order."""
    return [node["meta"]["uuid"] for node in layout.chart_nodes(dashboard.get("position") or {})]


@contextmanager
def preset_cli_folder() -> Iterator[Path]:
    """A temporary folder with databases/, datasets/, charts/ and dashboards/ side by side, as preset-cli reads them.

    Files are copied, not linked, so an edit during a sync cannot change what is imported half-way.
    """
    with tempfile.TemporaryDirectory(prefix="pulse-assets-") as temporary:
        root = Path(temporary)
        for kind in FOLDERS:
            source = folder(kind)
            if not source.is_dir():
                raise PulseError(f"{source} does not exist; it holds the {kind} of the Superset assets.")
            shutil.copytree(source, root / kind)
        yield root
