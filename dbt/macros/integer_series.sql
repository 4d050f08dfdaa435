{#- The integers low..high (both included) as an array, for `cross join unnest(...)`: DuckDB's generate_series,
    Trino's sequence. -#}
{% macro integer_series(low, high) %}
    {{ return(adapter.dispatch('integer_series')(low, high)) }}
{% endmacro %}

{% macro default__integer_series(low, high) %}generate_series({{ low }}, {{ high }}){% endmacro %}

{% macro trino__integer_series(low, high) %}sequence({{ low }}, {{ high }}){% endmacro %}
