"""Superset's configuration in the compose stack (baked into the image at /app/pythonpath/superset_config.py).

Every value comes from the container environment (docker-compose.yml, secrets from .env): the metadata database is
the stack's PostgreSQL, the secret key is the one in .env. Superset reads the analytics catalog of Trino as the
`superset` user, which Trino's access rules (trino_catalogs/rules.json) allow to read that catalog and nothing else.
"""

import os
from typing import Any
from urllib.parse import quote


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

# No Redis in this stack: rate limits live in each worker's memory; say so, so Flask-Limiter does not warn.
RATELIMIT_STORAGE_URI = "memory://"

FEATURE_FLAGS = {
    # The dashboards are small: render every chart at once, as the embedded demo does.
    "DASHBOARD_VIRTUALIZATION": False,
}


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


FLASK_APP_MUTATOR = answer_anonymous_event_logs_quietly

# Results follow each `dbt build` at once: no data cache, as in the embedded demo.
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}

# Trino's engine has no 30-minute grain in Superset 6.1; the Test explorer's voltage and current charts use one (as
# src/pulse_analytics/superset/superset_config.py adds it; a test keeps the two equal).
TIME_GRAIN_ADDON_EXPRESSIONS = {
    "trino": {
        "PT30M": "date_trunc('minute', CAST({col} AS TIMESTAMP)) "
        "- interval '1' minute * (minute(CAST({col} AS TIMESTAMP)) % 30)",
    },
}
