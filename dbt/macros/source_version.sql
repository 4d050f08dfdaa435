{#-
  The version of a source table's content, as text, for Superset's data cache (models/utilities/source_versions.sql).
  snapshot_version: on Trino, the current snapshot of an Iceberg table (its `$refs` table, branch main): every
  commit, and every table a load puts in its place, has a new one; null for another connector or engine (no version:
  Superset then keeps nothing). rows_version: the row count and a checksum of every row, for the small metadata tables
  (on any connector).
-#}
{% macro snapshot_version(relation) %}
    {{ return(adapter.dispatch('snapshot_version')(relation)) }}
{% endmacro %}

{% macro default__snapshot_version(relation) %}cast(null as varchar){% endmacro %}

{% macro trino__snapshot_version(relation) %}
    {%- set connector = none -%}
    {%- if execute -%}
        {%- set found = run_query("select connector_name from system.metadata.catalogs where catalog_name = '" ~ relation.database ~ "'") -%}
        {%- set connector = found.columns[0].values()[0] if found | length else none -%}
    {%- endif -%}
    {%- if connector == 'iceberg' -%}
        (select cast(snapshot_id as varchar) from {{ adapter.quote(relation.database) }}.{{ adapter.quote(relation.schema) }}.{{ adapter.quote(relation.identifier ~ '$refs') }} where name = 'main')
    {%- else -%}
        cast(null as varchar)
    {%- endif -%}
{% endmacro %}

{% macro rows_version(relation) %}
    {{ return(adapter.dispatch('rows_version')(relation)) }}
{% endmacro %}

{% macro default__rows_version(relation) %}
    {%- set columns = columns_of(relation) | map(attribute='name') | list -%}
    (select cast(count(*) as varchar) || ':' || coalesce(cast(sum(hash({{ columns | join(', ') }})) as varchar), '') from {{ relation }})
{%- endmacro %}

{% macro trino__rows_version(relation) %}
    {%- set columns = columns_of(relation) | map(attribute='name') | list -%}
    (select cast(count(*) as varchar) || ':' || coalesce(to_hex(checksum(row({{ columns | join(', ') }}))), '') from {{ relation }})
{%- endmacro %}
