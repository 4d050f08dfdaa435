#!/bin/sh
# First start of the PostgreSQL container (docker-entrypoint-initdb.d): one database and one owner per use.
#   lab       the lab metadata, Trino catalog `metadata` (PostgreSQL connector)
#   iceberg   the Iceberg JDBC catalog behind Trino catalogs `telemetry` and `analytics`
#   superset  Superset's own metadata (users, dashboards, charts)
# Passwords come from the container environment (docker-compose.yml, values in .env).
set -eu

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v lab_password="$METADATA_DB_PASSWORD" \
    -v iceberg_password="$ICEBERG_CATALOG_PASSWORD" \
    -v superset_password="$SUPERSET_DB_PASSWORD" <<'SQL'
CREATE ROLE lab LOGIN PASSWORD :'lab_password';
CREATE DATABASE lab OWNER lab;
CREATE ROLE iceberg LOGIN PASSWORD :'iceberg_password';
CREATE DATABASE iceberg OWNER iceberg;
CREATE ROLE superset LOGIN PASSWORD :'superset_password';
CREATE DATABASE superset OWNER superset;
SQL

# Trino's Iceberg JDBC catalog does not create its tables: create them as Apache Iceberg's JdbcUtil defines them, at
# schema version V1 (iceberg_type tells tables from views; it is what lets the analytics catalog hold views).
psql -v ON_ERROR_STOP=1 --username iceberg --dbname iceberg <<'SQL'
CREATE TABLE iceberg_tables (
    catalog_name VARCHAR(255) NOT NULL,
    table_namespace VARCHAR(255) NOT NULL,
    table_name VARCHAR(255) NOT NULL,
    metadata_location VARCHAR(1000),
    previous_metadata_location VARCHAR(1000),
    iceberg_type VARCHAR(5),
    PRIMARY KEY (catalog_name, table_namespace, table_name)
);
CREATE TABLE iceberg_namespace_properties (
    catalog_name VARCHAR(255) NOT NULL,
    namespace VARCHAR(255) NOT NULL,
    property_key VARCHAR(255),
    property_value VARCHAR(1000),
    PRIMARY KEY (catalog_name, namespace, property_key)
);
SQL
