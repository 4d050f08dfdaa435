"""Make the Superset admin match PULSE_ANALYTICS_SUPERSET_ADMIN_USER / _PASSWORD: create it, or reset its password.

Run by `pulse superset start` as `python -m pulse_analytics.superset.admin` in a child process with Superset's
environment (SUPERSET_CONFIG_PATH set), so the password travels in the environment, never on a command line.
"""

from __future__ import annotations

import sys

from werkzeug.security import check_password_hash

from pulse_analytics import config
from pulse_analytics.errors import PulseError


def ensure_admin() -> str:
    """Create the admin user or set its password; returns what was done."""
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from superset import security_manager

        username, password = config.get("SUPERSET_ADMIN_USER"), config.get("SUPERSET_ADMIN_PASSWORD")
        user = security_manager.find_user(username=username)
        if user is None:
            created = security_manager.add_user(
                username,
                "Pulse",
                "Admin",
                f"{username}@localhost",
                security_manager.find_role("Admin"),
                password=password,
            )
            if not created:
                raise PulseError(f"Superset could not create the admin user '{username}'; see the log above.")
            return f"created admin user '{username}'"
        if check_password_hash(user.password, password):
            return f"admin user '{username}' is up to date"
        security_manager.reset_password(user.id, password)
        return f"reset the password of admin user '{username}' to PULSE_ANALYTICS_SUPERSET_ADMIN_PASSWORD"


if __name__ == "__main__":
    try:
        print(ensure_admin(), file=sys.stderr)
    except PulseError as error:
        sys.exit(f"error: {error}")
