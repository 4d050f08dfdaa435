"""Who may see what: the read-only "Pulse Viewer" role, and the local demo's users.

The role can open dashboards and everything their charts and native filters need, on the Pulse warehouse only; it
cannot explore, edit, open SQL Lab or see other databases. It is set through Superset's security API (enabled by
default), so `pulse sync` sets it on any Superset, not just the local one.
"""

from __future__ import annotations

import sys

from pulse_analytics.errors import PulseError
from pulse_analytics.superset.api import SupersetApi, SupersetError

VIEWER_ROLE = "Pulse Viewer"
DATABASE_NAME = "Pulse warehouse"  # database_name in datasets/databases/pulse_warehouse.yaml

# (permission, view menu) pairs: viewing dashboards, running their charts' queries, using their native filters and
# share links, and the user's own profile and password. Nothing that writes an asset, explores or runs SQL.
VIEWER_PERMISSIONS = {
    ("menu_access", "Dashboards"),
    ("can_read", "Dashboard"),
    ("can_read", "Chart"),
    ("can_read", "Dataset"),
    ("can_dashboard", "Superset"),
    ("can_explore_json", "Superset"),
    ("can_dashboard_permalink", "Superset"),
    ("can_read", "DashboardPermalinkRestApi"),
    ("can_read", "DashboardFilterStateRestApi"),
    ("can_write", "DashboardFilterStateRestApi"),
    ("can_time_range", "Api"),
    ("can_query_form_data", "Api"),
    ("can_query", "Api"),
    ("can_read", "CssTemplate"),
    ("can_read", "Theme"),
    ("can_read", "CurrentUserRestApi"),
    ("can_read", "SecurityRestApi"),  # the CSRF token API clients need
    ("can_get", "Datasource"),
    ("can_read", "Annotation"),
    ("can_write", "DashboardPermalinkRestApi"),
    ("can_share_dashboard", "Superset"),
    ("can_log", "Superset"),
    ("can_recent_activity", "Log"),
    ("can_write", "Log"),
    ("can_get", "MenuApi"),
    ("can_read", "AvailableDomains"),
    ("can_language_pack", "Superset"),
    ("can_list", "AsyncEventsRestApi"),
    ("can_userinfo", "UserDBModelView"),
    ("resetmypassword", "UserDBModelView"),
    ("can_this_form_get", "ResetMyPasswordView"),
    ("can_this_form_post", "ResetMyPasswordView"),
}


def ensure_viewer_role(api: SupersetApi) -> None:
    """Create the viewer role if needed and give it exactly the viewer permissions (data: the Pulse warehouse)."""
    ensure_read_only_role(api, VIEWER_ROLE)


def ensure_read_only_role(api: SupersetApi, name: str) -> int:
    """Create the role `name` if needed and give it exactly the viewer permissions; its id. Team roles
    (access/teams.yaml) are read-only roles whose rows Superset's row-level security filters narrow."""
    role_id = ensure_role(api, name)
    wanted = set(VIEWER_PERMISSIONS)
    database_perm = database_permission(api)
    if database_perm:
        wanted.add(("database_access", database_perm))
    ids = {}
    for item in api.list_all("/api/v1/security/permissions-resources/"):
        pair = (item["permission"]["name"], item["view_menu"]["name"])
        if pair in wanted:
            ids[pair] = item["id"]
    missing = wanted - ids.keys()
    if missing:  # a permission this Superset version does not have: say so, grant the rest
        print(
            f"warning: Superset at {api.url} has no permission {sorted(missing)}; role {name} goes without.",
            file=sys.stderr,
        )
    granted = {item["id"] for item in api.get(f"/api/v1/security/roles/{role_id}/permissions/")["result"]}
    if granted != set(ids.values()):
        api.post(f"/api/v1/security/roles/{role_id}/permissions", {"permission_view_menu_ids": sorted(ids.values())})
    return role_id


def database_permission(api: SupersetApi) -> str | None:
    """The view-menu name of database_access on the Pulse warehouse, e.g. "[Pulse warehouse].(id:1)"; None before
    the first sync."""
    for database in api.list_all("/api/v1/database/"):
        if database["database_name"] == DATABASE_NAME:
            return f"[{DATABASE_NAME}].(id:{database['id']})"
    return None


def ensure_role(api: SupersetApi, name: str) -> int:
    for role in api.list_all("/api/v1/security/roles/"):
        if role["name"] == name:
            return int(role["id"])
    return int(api.post("/api/v1/security/roles/", {"name": name})["id"])


def ensure_user(api: SupersetApi, username: str, password: str, role: str, last_name: str = "(read-only)") -> None:
    """Create a user with one role, unless a user of that name exists (its password and roles are then left alone)."""
    if any(user["username"] == username for user in api.list_all("/api/v1/security/users/")):
        return
    role_id = ensure_role(api, role)
    try:
        api.post(
            "/api/v1/security/users/",
            {
                "username": username,
                "password": password,
                "first_name": username,
                "last_name": last_name,
                "email": f"{username}@localhost",
                "active": True,
                "roles": [role_id],
            },
        )
    except SupersetError as error:
        raise PulseError(f"could not create Superset user '{username}': {error}") from error
