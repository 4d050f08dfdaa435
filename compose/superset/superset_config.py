"""Superset's configuration in the compose stack (baked into the image at /app/pythonpath/superset_config.py).

Every value comes from the container environment (docker-compose.yml, secrets from .env): the metadata database is
the stack's PostgreSQL, the secret key is the one in .env. Superset reads the analytics catalog of Trino as the
`superset` user, which Trino's access rules (trino_catalogs/rules.json) allow to read that catalog and nothing else.
"""

import os
from typing import Any
from urllib.parse import quote

from superset.config import THEME_DARK, THEME_DEFAULT  # Superset's own, defined before it reads this file


def required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise RuntimeError(f"{name} is not set: copy .env.example to .env and fill it in (see docs/trino.md).")
    return value


SECRET_KEY = required("SUPERSET_SECRET_KEY")
SQLALCHEMY_DATABASE_URI = (
    f"postgresql+psycopg2://superset:{quote(required('SUPERSET_DB_PASSWORD'), safe='')}@postgres:5432/superset"
)
APP_NAME = "Pulse Analytics"

# Logins are throttled per client address, the form's and the REST API's (as the local Superset's). The counts live
# in each worker's memory (no Redis in this stack). No application-wide limit: dashboards send bursts of requests.
RATELIMIT_ENABLED = True
RATELIMIT_APPLICATION = None
AUTH_RATE_LIMITED = True
AUTH_RATE_LIMIT = "20 per minute"
RATELIMIT_STORAGE_URI = "memory://"

# The session cookie is sent over https only where Superset is served over https (a TLS proxy in front of it): set
# SUPERSET_HTTPS=true in .env there. The stack itself serves http on localhost, where a Secure cookie would be dropped.
SESSION_COOKIE_SECURE = os.environ.get("SUPERSET_HTTPS", "").lower() == "true"

FEATURE_FLAGS = {
    # The dashboards are small: render every chart at once, as the embedded demo does.
    "DASHBOARD_VIRTUALIZATION": False,
}


# Charts draw at once (ECharts' first-draw animation off), as in the local Superset (a test keeps them equal).
NO_CHART_ANIMATION = {"echartsOptionsOverrides": {"animation": False}}
THEME_DEFAULT = {**THEME_DEFAULT, **NO_CHART_ANIMATION}
THEME_DARK = {**THEME_DARK, **NO_CHART_ANIMATION} if THEME_DARK else None


def answer_anonymous_event_logs_quietly(app: Any) -> None:
    """Superset's pages post their usage events to /superset/log/, the login page too, as its form is submitted. Sent
    without a login, that request is refused with a redirect whose response writes the session cookie (an "access
    denied" message): when it arrives after the login's own response, it replaces the new login's cookie and the
    user is logged out at once. Answered here, before any other hook, with 204 and no cookie: there is nothing to
    log for a visitor who is not logged in. The local Superset has the same hook (a test keeps them equal)."""
    from flask import request, session

    def answer_quietly() -> tuple[str, int] | None:
        if request.path == "/superset/log/" and "_user_id" not in session:
            return "", 204
        return None

    app.before_request_funcs.setdefault(None, []).insert(0, answer_quietly)


def throttle_api_logins(app: Any) -> None:
    """Superset throttles its login form (AUTH_RATE_LIMIT) but not the login of its REST API, which takes the same
    passwords: the same limit is put on it here."""
    endpoint = "SecurityApi.login"
    limiter = app.appbuilder.sm.limiter
    limit = app.config["AUTH_RATE_LIMIT"]
    app.view_functions[endpoint] = limiter.limit(limit, methods=["POST"])(app.view_functions[endpoint])


def adapt_app(app: Any) -> None:
    answer_anonymous_event_logs_quietly(app)
    throttle_api_logins(app)


FLASK_APP_MUTATOR = adapt_app

# Results follow every write to Trino at once: no data cache (the producers that write Trino's catalogs are out of
# sight, so no kept result could be known to be current; the Pulse database's cache_timeout is -1 on Trino as well).
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}

# Trino's engine has no 30-minute grain in Superset 6.1; an analyst's chart in Explore may ask for one (as
# src/pulse_analytics/superset/superset_config.py adds it; a test keeps the two equal).
TIME_GRAIN_ADDON_EXPRESSIONS = {
    "trino": {
        "PT30M": "date_trunc('minute', CAST({col} AS TIMESTAMP)) "
        "- interval '1' minute * (minute(CAST({col} AS TIMESTAMP)) % 30)",
    },
}
