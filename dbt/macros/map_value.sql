{#- The value of a map column at a key, null where the map lacks the key: DuckDB's map[key], Trino's element_at
    (Trino's map[key] fails on a missing key). -#}
{% macro map_value(map_column, key) %}
    {{ return(adapter.dispatch('map_value')(map_column, key)) }}
{% endmacro %}

{% macro default__map_value(map_column, key) %}{{ map_column }}['{{ key }}']{% endmacro %}

{% macro trino__map_value(map_column, key) %}element_at({{ map_column }}, '{{ key }}'){% endmacro %}
