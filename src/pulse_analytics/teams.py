"""Teams as code: access/teams.yaml says which Superset role (and which Trino users) see which team's cells.

A team is a value of part_metadata.team, carried by every view of a part's tests as the column `team`. For each role
of the file, `pulse sync` makes the role (Pulse Viewer's read-only permissions) and Superset row-level security
filters named "Pulse team: <role>": `team IN (<its teams>)` on every dataset with the column, `1 = 0` on the closed
datasets; open datasets are left whole. Filters of that name the file no longer has are deleted. `pulse export` reads
the teams of each role back from those filters; `pulse check` checks the file against the datasets; trino_rules()
gives Trino's access rules the same row filters for the roles' Trino users.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pulse_analytics import config, project
from pulse_analytics.errors import PulseError
from pulse_analytics.superset.api import SupersetApi

RULE_PREFIX = "Pulse team: "
CLOSED = "1 = 0"
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_. -]*$")  # a team, a Trino user: nothing that needs quoting in SQL
KEYS = {"column", "roles", "open_datasets", "closed_datasets"}
ROLE_KEYS = {"name", "teams", "demo_user", "trino_users"}


@dataclass(frozen=True)
class TeamRole:
    name: str
    teams: tuple[str, ...]
    demo_user: str | None = None
    trino_users: tuple[str, ...] = ()


@dataclass(frozen=True)
class Teams:
    column: str
    roles: tuple[TeamRole, ...]
    open_datasets: tuple[str, ...] = ()
    closed_datasets: tuple[str, ...] = field(default=())

    def role_clause(self, role: TeamRole) -> str:
        return f"{self.column} IN (" + ", ".join(f"'{team}'" for team in role.teams) + ")"


def teams_file() -> Path:
    return project.path("access", "teams.yaml")


def load(path: Path | None = None) -> Teams:
    """The teams file, checked for shape: every error names the file and the key."""
    path = path or teams_file()
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        return Teams(column="team", roles=())
    except yaml.YAMLError as error:
        raise PulseError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(raw, dict) or set(raw) - KEYS:
        found = sorted(raw) if isinstance(raw, dict) else repr(raw)
        raise PulseError(f"{path}: expected a mapping with keys {sorted(KEYS)}; found {found}")
    column = raw.get("column", "team")
    if not isinstance(column, str) or not re.fullmatch(r"[a-z_][a-z0-9_]*", column):
        raise PulseError(f"{path}: column {column!r} is not a lower-case column name")
    roles = tuple(load_role(path, index, item) for index, item in enumerate(raw.get("roles") or []))
    names = [role.name for role in roles]
    if len(set(names)) != len(names):
        raise PulseError(f"{path}: a role is listed twice: {sorted({n for n in names if names.count(n) > 1})}")
    open_datasets = names_list(path, "open_datasets", raw.get("open_datasets"))
    closed_datasets = names_list(path, "closed_datasets", raw.get("closed_datasets"))
    both = set(open_datasets) & set(closed_datasets)
    if both:
        raise PulseError(f"{path}: datasets {sorted(both)} are both open and closed")
    return Teams(column, roles, open_datasets, closed_datasets)


def load_role(path: Path, index: int, item: Any) -> TeamRole:
    where = f"{path}: roles[{index}]"
    if not isinstance(item, dict) or set(item) - ROLE_KEYS or "name" not in item:
        raise PulseError(f"{where}: expected a mapping with `name`, `teams` and optional `demo_user`, `trino_users`")
    name = item["name"]
    if not isinstance(name, str) or not NAME.match(name):
        raise PulseError(f"{where}: name {name!r} is not a role name (letters, digits, space, '.', '_', '-')")
    teams = names_list(path, f"roles[{index}].teams", item.get("teams"))
    if not teams:
        raise PulseError(f"{where} ({name}): `teams` lists no team")
    demo_user = item.get("demo_user")
    if demo_user is not None and (not isinstance(demo_user, str) or not NAME.match(demo_user)):
        raise PulseError(f"{where} ({name}): demo_user {demo_user!r} is not a user name")
    trino_users = names_list(path, f"roles[{index}].trino_users", item.get("trino_users"))
    return TeamRole(name, teams, demo_user, trino_users)


def names_list(path: Path, key: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and NAME.match(v) for v in value):
        raise PulseError(
            f"{path}: {key} must be a list of names (letters, digits, space, '.', '_', '-'); found {value!r}"
        )
    return tuple(value)


def problems(teams: Teams, dataset_columns: dict[str, list[str]]) -> list[str]:
    """What is wrong with the file given the columns of each dataset (table name -> columns): every dataset is either
    filtered by the column (so it must have it), open or closed; the open and closed ones must exist."""
    if not teams.roles:
        return []
    found = []
    for table, columns in sorted(dataset_columns.items()):
        if table in teams.open_datasets or table in teams.closed_datasets:
            continue
        if teams.column not in columns:
            found.append(
                f"dataset {table} has no column `{teams.column}`, so a team role would see all its rows: add the "
                f"column to its dbt model and dataset, or list it under open_datasets or closed_datasets"
            )
    for key, listed in (("open_datasets", teams.open_datasets), ("closed_datasets", teams.closed_datasets)):
        for table in listed:
            if table not in dataset_columns:
                found.append(f"{key} names {table}, which is not a dataset of the bundle")
    return found


def rls_rules(teams: Teams, datasets: dict[str, int], roles: dict[str, int]) -> dict[str, dict[str, Any]]:
    """The row-level security filters Superset should hold (name -> payload), given dataset ids by table name and
    role ids by name."""
    filtered = sorted(
        dataset_id
        for table, dataset_id in datasets.items()
        if table not in teams.open_datasets and table not in teams.closed_datasets
    )
    closed = sorted(datasets[table] for table in teams.closed_datasets if table in datasets)
    rules = {}
    for role in teams.roles:
        for suffix, clause, tables in (("", teams.role_clause(role), filtered), (" (closed datasets)", CLOSED, closed)):
            if tables:
                rules[f"{RULE_PREFIX}{role.name}{suffix}"] = {
                    "filter_type": "Regular",
                    "tables": tables,
                    "roles": [roles[role.name]],
                    "clause": clause,
                    "group_key": "",
                    "description": f"access/teams.yaml: role {role.name} sees teams {', '.join(role.teams)}",
                }
    return rules


def apply(api: SupersetApi, teams: Teams, ensure_role: Any) -> str:
    """Make Superset's team roles and row-level security filters what the file says; returns a one-line summary.
    `ensure_role(api, name)` makes a role with the read-only viewer permissions and returns its id."""
    roles = {role.name: ensure_role(api, role.name) for role in teams.roles}
    datasets = {item["table_name"]: item["id"] for item in api.list_all("/api/v1/dataset/")}
    wanted = rls_rules(teams, datasets, roles)
    held = {item["name"]: item for item in api.list_all("/api/v1/rowlevelsecurity/")}
    changed = 0
    for name, payload in wanted.items():
        current = held.get(name)
        if current and same_rule(current, payload):
            continue
        if current:
            api.put(f"/api/v1/rowlevelsecurity/{current['id']}", {"name": name, **payload})
        else:
            api.post("/api/v1/rowlevelsecurity/", {"name": name, **payload})
        changed += 1
    stale = [item for name, item in held.items() if name.startswith(RULE_PREFIX) and name not in wanted]
    for item in stale:
        api.delete(f"/api/v1/rowlevelsecurity/{item['id']}")
    return (
        f"{len(teams.roles)} team role(s), {len(wanted)} row-level security filter(s) "
        f"({changed} written, {len(stale)} deleted)"
    )


def same_rule(held: dict[str, Any], payload: dict[str, Any]) -> bool:
    return (
        held.get("filter_type") == payload["filter_type"]
        and sorted(table["id"] for table in held.get("tables") or []) == payload["tables"]
        and sorted(role["id"] for role in held.get("roles") or []) == sorted(payload["roles"])
        and held.get("clause") == payload["clause"]
        and (held.get("description") or "") == payload["description"]
    )


def exported(api: SupersetApi, git: Teams) -> Teams:
    """The file as Superset holds it: each role's teams from its filter's clause (roles without a filter are gone;
    a filter made in the UI under the "Pulse team: " name adds its role). Trino users, demo users, the column and the
    open and closed datasets stay as in git: Superset does not hold them."""
    by_name = {role.name: role for role in git.roles}
    roles = []
    for item in sorted(api.list_all("/api/v1/rowlevelsecurity/"), key=lambda rule: rule["id"]):
        name = item["name"]
        if not name.startswith(RULE_PREFIX) or name.endswith(" (closed datasets)"):
            continue
        role_name = name[len(RULE_PREFIX) :]
        teams = clause_teams(git.column, item.get("clause") or "")
        if teams is None:
            raise PulseError(
                f"Superset's row-level security filter '{name}' has clause {item.get('clause')!r}, not "
                f"`{git.column} IN ('a', ...)`: edit it in Superset (or delete it), then export again"
            )
        kept = by_name.get(role_name, TeamRole(role_name, ()))
        roles.append(TeamRole(role_name, teams, kept.demo_user, kept.trino_users))
    order = {role.name: index for index, role in enumerate(git.roles)}
    roles.sort(key=lambda role: order.get(role.name, len(order)))
    return Teams(git.column, tuple(roles), git.open_datasets, git.closed_datasets)


def clause_teams(column: str, clause: str) -> tuple[str, ...] | None:
    match = re.fullmatch(rf"\s*{column}\s+IN\s*\((.*)\)\s*", clause, flags=re.IGNORECASE)
    if not match:
        return None
    teams = [part.strip() for part in match.group(1).split(",")]
    if not all(re.fullmatch(r"'[^']+'", team) for team in teams):
        return None
    return tuple(team[1:-1] for team in teams)


def write(teams: Teams, path: Path | None = None) -> bool:
    """Write the roles of `teams` into the file, keeping its comments and other keys; True when it changed."""
    path = path or teams_file()
    text = path.read_text()
    roles_block = yaml.safe_dump(
        {"roles": [role_mapping(role) for role in teams.roles]}, sort_keys=False, default_flow_style=None, width=120
    )
    pattern = re.compile(r"^roles:\n(?:(?:[ \t-].*)?\n)*", flags=re.MULTILINE)
    if not pattern.search(text):
        raise PulseError(f"{path}: found no `roles:` block to write the roles into")
    new_text = pattern.sub(lambda _match: indent_list(roles_block), text, count=1)
    if new_text == text:
        return False
    path.write_text(new_text)
    return True


def role_mapping(role: TeamRole) -> dict[str, Any]:
    mapping: dict[str, Any] = {"name": role.name, "teams": list(role.teams)}
    if role.demo_user:
        mapping["demo_user"] = role.demo_user
    if role.trino_users:
        mapping["trino_users"] = list(role.trino_users)
    return mapping


def indent_list(block: str) -> str:
    """PyYAML writes list items flush with their key; the file indents them by two."""
    lines = block.splitlines()
    return "\n".join([lines[0]] + [("  " + line) for line in lines[1:]]) + "\n"


def trino_rules(
    base: dict[str, Any], teams: Teams, tables_with_column: list[str], open_tables: list[str], catalog: str, schema: str
) -> dict[str, Any]:
    """Trino's access rules: `base` (trino_catalogs/rules.json) with, first in each section (Trino takes the first
    rule that matches), each role's Trino users reading the analytics catalog: the tables with the column through a
    row filter of the role's teams, the open tables whole. Nothing else: the base rules give other users' catalogs
    to their users only, and the analytics catalog's other tables to no one else."""
    rules = {key: list(value) for key, value in base.items()}
    catalog_rules, table_rules = [], []
    for role in teams.roles:
        if not role.trino_users:
            continue
        users = "|".join(re.escape(user) for user in role.trino_users)
        catalog_rules.append({"user": users, "catalog": catalog, "allow": "read-only"})
        for tables, row_filter in ((tables_with_column, {"filter": teams.role_clause(role)}), (open_tables, {})):
            if tables:
                table_rules.append(
                    {
                        "user": users,
                        "catalog": catalog,
                        "schema": re.escape(schema),
                        "table": "|".join(re.escape(table) for table in sorted(tables)),
                        "privileges": ["SELECT"],
                        **row_filter,
                    }
                )
    rules["catalogs"] = catalog_rules + rules.get("catalogs", [])
    rules["tables"] = table_rules + rules.get("tables", [])
    return rules


def trino_users(teams: Teams | None = None) -> tuple[str, ...]:
    """The Trino users the file names, each once, in file order."""
    teams = teams or load()
    return tuple(dict.fromkeys(user for role in teams.roles for user in role.trino_users))


def write_trino_rules(path: Path) -> Path:
    """Trino's access rules for a stack (the native one's security folder, compose's trino-security volume):
    trino_catalogs/rules.json with the team rules of access/teams.yaml, for the views of the analytics catalog whose
    dbt model has the column (dbt's YAML docs, as `pulse check` reads them)."""
    from pulse_analytics.superset import model_columns

    found = load()
    base = json.loads(project.path("trino_catalogs", "rules.json").read_text())
    columns = model_columns.declared_columns(project.path("dbt"))
    with_column = [model for model, names in columns.items() if found.column in names]
    open_tables = [model for model in found.open_datasets if model in columns]
    rules = trino_rules(
        base, found, with_column, open_tables, config.get("TARGET_CATALOG"), config.get("TARGET_SCHEMA")
    )
    staged = path.with_name(path.name + ".new")  # Trino re-reads the file every 5 s: never half written
    staged.write_text(json.dumps(rules, indent=2) + "\n")
    staged.replace(path)
    return path
