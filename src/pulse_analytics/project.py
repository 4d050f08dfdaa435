"""The project `pulse` works on: the checkout holding dbt/, datasets/, dashboards/, trino_catalogs/ and compose files.

Found the way git and dbt find theirs: PULSE_ANALYTICS_PROJECT_DIR (set by `pulse --project-dir DIR`) when set, else
the current directory or the nearest folder above it holding the marker file pulse_project.yml. So `pulse`, installed
from one clone or as a wheel, works on the clone you stand in, and relative settings (the warehouse, Superset's state,
Trino's home) are folders of that project, wherever in it you run `pulse`.
"""

from __future__ import annotations

import os
from pathlib import Path

from pulse_analytics.errors import PulseError

MARKER = "pulse_project.yml"
ENV_NAME = "PULSE_ANALYTICS_PROJECT_DIR"  # the setting PROJECT_DIR of config.py


def root() -> Path:
    """The project's folder; a PulseError saying where it looked when there is none."""
    explicit = os.environ.get(ENV_NAME, "")
    if explicit:
        folder = Path(explicit).expanduser().resolve()
        if not (folder / MARKER).is_file():
            raise PulseError(
                f"{folder} (from --project-dir or {ENV_NAME}) is not a Pulse Analytics project: it has "
                f"no {MARKER}; give the folder of a clone of the bundle"
            )
        return folder
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / MARKER).is_file():
            return folder
    raise PulseError(
        f"not in a Pulse Analytics project: neither {here} nor a folder above it holds {MARKER}; cd into "
        f"a clone of the bundle, or pass --project-dir DIR (or set {ENV_NAME})"
    )


def path(*parts: str) -> Path:
    """A file or folder of the project, e.g. path("dbt") or path("trino_catalogs", "rules.json")."""
    return root().joinpath(*parts)
