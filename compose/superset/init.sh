#!/bin/sh
# One-shot Superset initialisation (compose service superset-init): migrate the metadata database, create the admin
# (once; later runs keep it), set up roles and permissions. Every step is idempotent, so each `docker compose up`
# can run it again.
set -eu
superset db upgrade
superset fab create-admin --username "$SUPERSET_ADMIN_USER" --password "$SUPERSET_ADMIN_PASSWORD" \
    --firstname Pulse --lastname Admin --email "$SUPERSET_ADMIN_USER@pulse.invalid"
# create-admin says "already exists" and exits 0 on later runs, and exits 0 after a failed creation too: check.
if ! superset fab list-users | grep -q "username:$SUPERSET_ADMIN_USER |"; then
    echo "error: the Superset admin '$SUPERSET_ADMIN_USER' could not be created; see the messages above." >&2
    exit 1
fi
superset init
