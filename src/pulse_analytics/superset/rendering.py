"""The asset files are Jinja templates that preset-cli renders at sync time; this module renders them the same way.

`pulse sync` runs `superset-cli ... sync native --load-env -o target=<duckdb|trino> -o schema=<TARGET_SCHEMA>`, so a
template sees `target`, `schema`, `env` (the environment, with every PULSE_ANALYTICS_* variable resolved), `instance`
(the Superset URL), `filepath`, `functions` and `raise`. Here the same template is rendered with StrictUndefined, so a
variable that is not set is an error instead of preset-cli's silent empty string.

Environments the bundle supports (`pulse check` renders every template for each):
  embedded DuckDB        target duckdb, the PULSE_ANALYTICS_* variables in force here (defaults filled in);
  docker compose Trino   target trino, the defaults overlaid with the `superset-sync` service's environment in
                         docker-compose.yml (its ${VAR} references filled in from .env.example).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

from pulse_analytics import config, project
from pulse_analytics.superset import server

COMPOSE_FILE = "docker-compose.yml"  # in the project's root, beside its .env.example
COMPOSE_SYNC_SERVICE = "superset-sync"
COMPOSE_REFERENCE = re.compile(r"\$\{(\w+)(?::?[-?]([^}]*))?\}")


class RenderError(ValueError):
    """A template could not be rendered or its result is not YAML; the message says why."""


@dataclass(frozen=True)
class Environment:
    """One place the bundle is synced to: the template options and environment variables preset-cli would see."""

    name: str
    target: str
    env: dict[str, str]
    instance: str

    @property
    def schema(self) -> str:
        return self.env[config.PREFIX + "TARGET_SCHEMA"]

    def context(self, path: Path) -> dict[str, Any]:
        return {
            "target": self.target,
            "schema": self.schema,
            "env": self.env,
            "instance": self.instance,
            "filepath": path,
            "functions": {},
            "raise": _raise,
        }


def _raise(message: str, *args: object) -> None:
    raise RenderError(message % args)


def embedded() -> Environment:
    """The embedded DuckDB warehouse with the PULSE_ANALYTICS_* settings in force here (defaults filled in)."""
    return Environment("embedded DuckDB", "duckdb", config.resolved_environment(), server.url())


def sync_environment(target: str, instance: str) -> Environment:
    """Exactly what `pulse sync --target <target>` renders with here: the whole environment, settings resolved."""
    name = "embedded DuckDB" if target == "duckdb" else "Trino"
    env = config.with_trino_password({**os.environ, **config.resolved_environment()})
    return Environment(name, target, env, instance=instance)


def docker_compose(compose_file: Path) -> Environment:
    """The docker compose stack of compose_file: its sync job's PULSE_ANALYTICS_* variables (values from the
    .env.example beside it) over the defaults, target trino."""
    env_example = compose_file.with_name(".env.example")
    defaults = {variable.env_name: variable.default for variable in config.VARIABLES}
    example = _dotenv(env_example) if env_example.exists() else {}
    compose = parse_yaml(compose_file.read_text(encoding="utf-8"))
    service = compose.get("services", {}).get(COMPOSE_SYNC_SERVICE)
    if service is None:
        raise RenderError(f"{compose_file} has no service '{COMPOSE_SYNC_SERVICE}' (the job that syncs the assets)")
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    for key, value in environment.items():
        defaults[key] = COMPOSE_REFERENCE.sub(lambda match: example.get(match[1], match[2] or ""), str(value))
    return Environment("docker compose Trino", "trino", defaults, instance=_sync_url(compose_file, service))


def _sync_url(compose_file: Path, service: dict[str, Any]) -> str:
    """The Superset the compose stack's sync job syncs into: the `--url` of its command."""
    command = service.get("command") or []
    if isinstance(command, str):
        command = command.split()
    if "--url" not in command[:-1]:
        raise RenderError(f"{compose_file}: service '{COMPOSE_SYNC_SERVICE}' has no `--url` in its command")
    return str(command[command.index("--url") + 1])


def supported_environments(root: Path | None = None) -> list[Environment]:
    """Embedded DuckDB, and docker compose Trino where the project under root (default: the project `pulse` works
    on) has a docker-compose.yml (a clone has; the pulse image has not)."""
    compose_file = (root or project.root()) / COMPOSE_FILE
    return [embedded(), docker_compose(compose_file)] if compose_file.exists() else [embedded()]


def _dotenv(path: Path) -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in path.read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    )
    return {key.strip(): value.strip() for key, value in pairs}


def parse_yaml(text: str) -> Any:
    """YAML as yaml.safe_load reads it, with libyaml's parser where PyYAML has it (ten times faster)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


def render_text(text: str, environment: Environment, path: Path) -> str:
    """The file's text rendered as preset-cli renders it, failing on any variable that is not set."""
    jinja = jinja2.Environment(undefined=jinja2.StrictUndefined)
    try:
        try:
            template = jinja.from_string(text)
        except jinja2.TemplateSyntaxError:
            # preset-cli's fallback (for JSON strings with braces): render the JSON form of the parsed YAML.
            template = jinja.from_string(json.dumps(parse_yaml(text)))
        return template.render(**environment.context(path))
    except jinja2.UndefinedError as error:
        raise RenderError(
            f"template uses a variable that is not set in the {environment.name} environment ({error.message})"
        ) from error
    except jinja2.TemplateError as error:
        raise RenderError(f"template does not render for {environment.name}: {error}") from error
    except yaml.YAMLError as error:
        raise RenderError(f"is not valid YAML: {error}") from error


def render(text: str, environment: Environment, path: Path) -> Any:
    """The asset as preset-cli would import it in that environment (templates rendered, then parsed)."""
    rendered = render_text(text, environment, path)
    try:
        return parse_yaml(rendered)
    except yaml.YAMLError as error:
        raise RenderError(f"is not valid YAML once rendered for {environment.name}: {error}") from error
