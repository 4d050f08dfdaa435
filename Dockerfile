# The pulse image: the `pulse` command with the dbt project, for the jobs that run against Trino (seed and load the
# demo data, `pulse build --target trino`, sync dashboards to Superset). docker-compose.yml builds it, and
# examples/dbt-job.yaml runs it as a Kubernetes Job:  docker build -t pulse-analytics:0.2.0 .
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    PULSE_ANALYTICS_WAREHOUSE_DIR=/data/warehouse

WORKDIR /app
RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin pulse \
    && mkdir -p /data/warehouse && chown pulse:pulse /data/warehouse

# Dependencies first (a layer that changes only with pyproject.toml), then the package, installed as a wheel would
# be. /app is the project `pulse` works on (WORKDIR, found by its pulse_project.yml): the dbt project, the assets, the
# teams and Trino's base access rules (`pulse trino secrets` writes the stack's rules from both).
COPY pyproject.toml README.md ./
RUN mkdir -p src/pulse_analytics && touch src/pulse_analytics/__init__.py \
    && pip install . && pip uninstall --yes pulse-analytics && rm -rf src build
COPY src ./src
RUN pip install --no-deps . && rm -rf src build
COPY pulse_project.yml ./
COPY dbt ./dbt
COPY datasets ./datasets
COPY dashboards ./dashboards
COPY access ./access
COPY trino_catalogs/rules.json ./trino_catalogs/rules.json
RUN mkdir -p dbt/target && chown -R pulse:pulse dbt/target

USER pulse
ENTRYPOINT ["pulse"]
CMD ["--help"]
