"""Catalog properties Trino 476 knows, per connector, as Trino's documentation lists them.

Sources (docs/src/main/sphinx in the trinodb/trino repository, releases up to 480):
  connector/iceberg.md (general configuration), object-storage/metastores.md (REST, JDBC, Nessie catalogs),
  object-storage/file-system-s3.md, connector/postgresql.md with the jdbc-*.fragment files it includes,
  connector/googlesheets.md.
Trino 481 renamed `fs.native-s3.enabled` to `fs.s3.enabled` (and `fs.native-local.enabled` to `fs.local.enabled`);
the pinned 476 knows only the former, and fails to start on a catalog file with a property it does not use. The
catalogs of trino_catalogs/catalog/ are also loaded by a real Trino 476 in every test run (the Trino pass of `make
test`); this list keeps the examples (trino_catalogs/examples/), which no test server loads, to the same standard.
"""

from __future__ import annotations

TRINO_VERSION = "476"

S3_FILE_SYSTEM = {
    "fs.native-s3.enabled",
    "s3.endpoint",
    "s3.region",
    "s3.cross-region-access",
    "s3.path-style-access",
    "s3.storage-class",
    "s3.signer-type",
    "s3.canned-acl",
    "s3.sse.type",
    "s3.sse.kms-key-id",
    "s3.sse.customer-key",
    "s3.streaming.part-size",
    "s3.requester-pays",
    "s3.max-connections",
    "s3.connection-ttl",
    "s3.connection-max-idle-time",
    "s3.socket-connect-timeout",
    "s3.socket-timeout",
    "s3.tcp-keep-alive",
    "s3.http-proxy",
    "s3.http-proxy.secure",
    "s3.http-proxy.username",
    "s3.http-proxy.password",
    "s3.http-proxy.non-proxy-hosts",
    "s3.http-proxy.preemptive-basic-auth",
    "s3.retry-mode",
    "s3.max-error-retries",
    "s3.application-id",
    "s3.aws-access-key",
    "s3.aws-secret-key",
    "s3.sts.endpoint",
    "s3.sts.region",
    "s3.iam-role",
    "s3.role-session-name",
    "s3.external-id",
    "s3.security-mapping.enabled",
    "s3.security-mapping.config-file",
    "s3.security-mapping.config-uri",
    "s3.security-mapping.json-pointer",
    "s3.security-mapping.iam-role-credential-name",
    "s3.security-mapping.kms-key-id-credential-name",
    "s3.security-mapping.refresh-period",
    "s3.security-mapping.colon-replacement",
}

ICEBERG = {
    "connector.name",
    "iceberg.catalog.type",
    "iceberg.file-format",
    "iceberg.compression-codec",
    "iceberg.use-file-size-from-metadata",
    "iceberg.max-partitions-per-writer",
    "iceberg.target-max-file-size",
    "iceberg.unique-table-location",
    "iceberg.dynamic-filtering.wait-timeout",
    "iceberg.delete-schema-locations-fallback",
    "iceberg.minimum-assigned-split-weight",
    "iceberg.table-statistics-enabled",
    "iceberg.projection-pushdown-enabled",
    "iceberg.hive-catalog-name",
    "iceberg.materialized-views.storage-schema",
    "iceberg.register-table-procedure.enabled",
    "iceberg.add-files-procedure.enabled",
    "iceberg.query-partition-filter-required",
    "iceberg.security",
    "security.config-file",
    # JDBC catalog
    "iceberg.jdbc-catalog.driver-class",
    "iceberg.jdbc-catalog.connection-url",
    "iceberg.jdbc-catalog.connection-user",
    "iceberg.jdbc-catalog.connection-password",
    "iceberg.jdbc-catalog.catalog-name",
    "iceberg.jdbc-catalog.default-warehouse-dir",
    "iceberg.jdbc-catalog.schema-version",
    # REST catalog
    "iceberg.rest-catalog.uri",
    "iceberg.rest-catalog.prefix",
    "iceberg.rest-catalog.warehouse",
    "iceberg.rest-catalog.parent-namespace",
    "iceberg.rest-catalog.security",
    "iceberg.rest-catalog.session",
    "iceberg.rest-catalog.oauth2.token",
    "iceberg.rest-catalog.oauth2.credential",
    "iceberg.rest-catalog.oauth2.scope",
    "iceberg.rest-catalog.vended-credentials-enabled",
} | S3_FILE_SYSTEM

POSTGRESQL = {
    "connector.name",
    "connection-url",
    "connection-user",
    "connection-password",
    "postgresql.include-system-tables",
    "postgresql.array-mapping",
    "postgresql.experimental.enable-string-pushdown-with-collate",
    "case-insensitive-name-matching",
    "case-insensitive-name-matching.cache-ttl",
    "case-insensitive-name-matching.config-file",
    "case-insensitive-name-matching.config-file.refresh-period",
    "metadata.cache-ttl",
    "metadata.cache-missing",
    "metadata.cache-maximum-size",
    "write.batch-size",
    "dynamic-filtering.enabled",
    "dynamic-filtering.wait-timeout",
    "join-pushdown.enabled",
    "domain-compaction-threshold",
    "insert.non-transactional-insert.enabled",
}

GSHEETS = {
    "connector.name",
    "gsheets.credentials-path",
    "gsheets.credentials-key",
    "gsheets.metadata-sheet-id",
    "gsheets.max-data-cache-size",
    "gsheets.data-cache-ttl",
    "gsheets.connection-timeout",
    "gsheets.read-timeout",
    "gsheets.write-timeout",
}

LOCAL_FILE_SYSTEM = {"fs.native-local.enabled", "local.location"}
ICEBERG |= LOCAL_FILE_SYSTEM

KNOWN = {"iceberg": ICEBERG, "postgresql": POSTGRESQL, "gsheets": GSHEETS}

# Properties a catalog of each kind cannot start without.
REQUIRED = {
    "iceberg": {"iceberg.catalog.type"},
    "postgresql": {"connection-url"},
    "gsheets": {"gsheets.metadata-sheet-id"},
}
REQUIRED_ICEBERG_CATALOG = {
    "jdbc": {
        "iceberg.jdbc-catalog.driver-class",
        "iceberg.jdbc-catalog.connection-url",
        "iceberg.jdbc-catalog.default-warehouse-dir",
        "iceberg.jdbc-catalog.catalog-name",
    },
    "rest": {"iceberg.rest-catalog.uri"},
}

# Values Trino accepts for properties with a fixed set (case as documented).
CHOICES = {
    "iceberg.catalog.type": {"hive_metastore", "glue", "jdbc", "rest", "nessie", "snowflake"},
    "iceberg.file-format": {"PARQUET", "ORC", "AVRO"},
    "iceberg.compression-codec": {"NONE", "SNAPPY", "LZ4", "ZSTD", "GZIP"},
    "iceberg.jdbc-catalog.schema-version": {"V0", "V1"},
    "iceberg.security": {"ALLOW_ALL", "SYSTEM", "READ_ONLY", "FILE"},
}
BOOLEANS = {
    "fs.native-s3.enabled",
    "fs.native-local.enabled",
    "s3.path-style-access",
    "s3.cross-region-access",
    "s3.requester-pays",
    "case-insensitive-name-matching",
    "join-pushdown.enabled",
    "dynamic-filtering.enabled",
}

# Iceberg catalog types whose documentation lists view management (CREATE VIEW kept in the catalog): the analytics
# catalog must use one of them. JDBC only from schema version V1 on.
ICEBERG_CATALOGS_WITH_VIEWS = {"hive_metastore", "glue", "rest", "jdbc"}
