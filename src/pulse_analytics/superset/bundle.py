"""The asset files of one bundle folder, read and rendered once, with every problem found on the way.

A bundle folder is the repository root (or a copy of its asset folders): datasets/databases, datasets/datasets,
dashboards/charts and dashboards/dashboards, as assets.FOLDERS lays them out.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pulse_analytics.superset import assets, rendering

KINDS = tuple(assets.FOLDERS)  # databases, datasets, charts, dashboards
UUID_LINE = re.compile(r"^uuid:\s*['\"]?([0-9a-fA-F-]{36})", re.MULTILINE)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file: shown as `file: what is wrong, and what it refers to`."""

    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


@dataclass
class Asset:
    kind: str
    path: Path
    text: str
    raw: Any  # the file parsed as it is written, templates not rendered
    data: dict[str, Any]  # as preset-cli imports it in the first environment (the embedded DuckDB one)
    rendered: dict[str, dict[str, Any]] = field(default_factory=dict)  # environment name -> the asset rendered there

    @property
    def uuid(self) -> str:
        return str(self.data.get("uuid"))


@dataclass
class Bundle:
    root: Path
    environments: list[rendering.Environment]
    assets: dict[str, list[Asset]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    problems: list[Problem] = field(default_factory=list)
    unreadable: set[str] = field(default_factory=set)  # uuids of files that could not be read (already reported)

    def name(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def report(self, where: Asset | Path, message: str) -> None:
        path = where.path if isinstance(where, Asset) else where
        self.problems.append(Problem(self.name(path), message))

    def known(self, kind: str, uuid: object) -> bool:
        """True when an asset of that kind has the uuid, or an unreadable file (reported already) may have it."""
        return str(uuid) in self.by_uuid(kind) or str(uuid) in self.unreadable

    def by_uuid(self, kind: str) -> dict[str, Asset]:
        """The assets of one kind by uuid (the first file wins when a uuid repeats; the repeat is reported)."""
        found: dict[str, Asset] = {}
        for asset in self.assets[kind]:
            found.setdefault(asset.uuid, asset)
        return found


def names(text: str) -> frozenset[str]:
    """The words of a text: a compact way to write a set of key names."""
    return frozenset(text.split())


def parse(root: Path, environments: list[rendering.Environment]) -> Bundle:
    """Every asset file under root, parsed and rendered for every environment; unreadable files become problems."""
    bundle = Bundle(root, environments)
    for kind in KINDS:
        directory = assets.folder(kind, root)
        if not directory.is_dir():
            bundle.report(directory, f"folder is missing; it holds the {kind} of the Superset assets")
            continue
        for path in assets.files(kind, directory):
            asset = read(bundle, kind, path)
            if asset is not None:
                bundle.assets[kind].append(asset)
    return bundle


def read(bundle: Bundle, kind: str, path: Path) -> Asset | None:
    text = path.read_text(encoding="utf-8")
    try:
        raw = rendering.parse_yaml(text)
    except yaml.YAMLError as error:
        bundle.report(path, f"is not valid YAML: {yaml_error(error)}")
        bundle.unreadable.update(UUID_LINE.findall(text))
        return None
    rendered: dict[str, dict[str, Any]] = {}
    for environment in bundle.environments:
        try:
            data = rendering.render(text, environment, path) if rendering.is_template(text) else copy.deepcopy(raw)
        except rendering.RenderError as error:
            bundle.report(path, str(error))
            continue
        if not isinstance(data, dict):
            bundle.report(path, f"holds {type(data).__name__}, not a mapping; every asset file holds one {kind[:-1]}")
            return None
        rendered[environment.name] = data
    if len(rendered) < len(bundle.environments):
        bundle.unreadable.update(UUID_LINE.findall(text))
        return None
    first = rendered[bundle.environments[0].name]
    return Asset(kind, path, text, raw, first, rendered)


def yaml_error(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark else problem
