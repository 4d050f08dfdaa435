#!/bin/sh
# `make test-e2e`: the compose stack up with demo data, the Trino test suites against it, the stack down again.
#   1. .env: kept if present, else written with random secrets (compose/new-env.sh)
#   2. docker compose up --detach --build; waits for the last one-shot job (superset-sync) and checks its exit code
#   3. pytest --dbt-target=trino on tests/integration (the quality suite on Trino) and tests/e2e (access rules, load,
#      views surviving a restart, every dashboard of the compose Superset rendering in Chromium)
#   4. docker compose down --volumes, also after a failure (the stack's logs are kept in test-artifacts/compose.log)
# Needs Docker with Compose v2 (`docker compose`); COMPOSE overrides the command, e.g. COMPOSE="docker-compose".
set -eu
cd "$(dirname "$0")/.."
COMPOSE="${COMPOSE:-docker compose}"
PYTEST="${PYTEST:-.venv/bin/pytest}"

if ! $COMPOSE version >/dev/null 2>&1; then
    echo "error: '$COMPOSE' does not run here: install Docker with the Compose plugin (or set COMPOSE)." >&2
    exit 1
fi
if [ ! -f .env ]; then
    echo "==> No .env: writing one with random secrets (compose/new-env.sh)"
    sh compose/new-env.sh > .env
fi
set -a
# shellcheck source=/dev/null
. ./.env
set +a

finish() {
    status=$?
    mkdir -p test-artifacts
    $COMPOSE logs --no-color > test-artifacts/compose.log 2>&1 || true
    echo "==> Stopping the stack and deleting its volumes (logs: test-artifacts/compose.log)"
    $COMPOSE down --volumes --remove-orphans || true
    exit "$status"
}
trap finish EXIT
trap 'exit 130' INT TERM

echo "==> Building and starting the stack (first run: images to pull and build, a few minutes)"
$COMPOSE up --detach --build
echo "==> Waiting for the demo data load, dbt build and dashboard sync"
$COMPOSE wait superset-sync >/dev/null || true
for job in seed dbt-build superset-sync; do
    code="$(docker inspect --format '{{.State.ExitCode}}' "$($COMPOSE ps --all --quiet "$job")")"
    if [ "$code" != 0 ]; then
        echo "error: the $job job exited with $code; its log:" >&2
        $COMPOSE logs --no-color "$job" >&2
        exit 1
    fi
done

# Trino over https with the users' passwords of .env, its certificate verified with the CA the trino-secrets job made.
mkdir -p test-artifacts
$COMPOSE cp trino-secrets:/etc/trino-ca/trusted.pem test-artifacts/trino-trusted.pem
umask 077
printf '{"loader": "%s", "dbt": "%s", "superset": "%s", "admin": "%s"}\n' "$TRINO_LOADER_PASSWORD" \
    "$TRINO_DBT_PASSWORD" "$TRINO_SUPERSET_PASSWORD" "$TRINO_ADMIN_PASSWORD" > test-artifacts/trino-users.json
umask 022
export PULSE_ANALYTICS_TRINO_HOST=localhost PULSE_ANALYTICS_TRINO_PORT="${TRINO_PORT:-8443}"
export PULSE_ANALYTICS_TRINO_USER=dbt PULSE_ANALYTICS_TRINO_AUTH_METHOD=ldap PULSE_ANALYTICS_TRINO_HTTP_SCHEME=https
export PULSE_ANALYTICS_TRINO_CA_FILE="$PWD/test-artifacts/trino-trusted.pem"
export PULSE_ANALYTICS_TRINO_PASSWORDS_FILE="$PWD/test-artifacts/trino-users.json"
export PULSE_ANALYTICS_S3_ENDPOINT="http://localhost:${MINIO_PORT:-9000}"
export PULSE_ANALYTICS_S3_ACCESS_KEY="$S3_ACCESS_KEY" PULSE_ANALYTICS_S3_SECRET_KEY="$S3_SECRET_KEY"
export PULSE_ANALYTICS_SUPERSET_PORT="${SUPERSET_PORT:-8088}"
export PULSE_ANALYTICS_SUPERSET_ADMIN_USER="${SUPERSET_ADMIN_USER:-admin}"
export PULSE_ANALYTICS_SUPERSET_ADMIN_PASSWORD="$SUPERSET_ADMIN_PASSWORD"
export PULSE_E2E_COMPOSE="$COMPOSE" PULSE_E2E_SUPERSET_URL="http://localhost:${SUPERSET_PORT:-8088}"
echo "==> pytest --dbt-target=trino tests/integration tests/e2e"
"$PYTEST" --dbt-target=trino tests/integration tests/e2e
