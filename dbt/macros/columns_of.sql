{#-
  The columns of a relation, as the engine reports them. One place, so every macro sees the same list.

  With the var `recorded_columns` ({"catalog.schema.table": ["column", ...]}, keys and names lower case), the columns
  come from that record instead of the engine: `dbt compile` then needs no connection, which is how the tests compile
  the trino target without a Trino (tests/static/test_dbt_trino.py records them from the DuckDB warehouse, whose
  columns are Trino's by contract). A relation missing from the record is an error, never a guess.
-#}
{% macro columns_of(relation) %}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set recorded = var('recorded_columns', none) -%}
    {%- if recorded is none -%}
        {{ return(adapter.get_columns_in_relation(relation)) }}
    {%- endif -%}
    {%- set key = (relation.database ~ '.' ~ relation.schema ~ '.' ~ relation.identifier) | lower -%}
    {%- if key not in recorded -%}
        {{ exceptions.raise_compiler_error("var recorded_columns has no entry for " ~ key ~ "; record every relation the models read.") }}
    {%- endif -%}
    {%- set columns = [] -%}
    {%- for name in recorded[key] -%}
        {%- do columns.append(api.Column.create(name, 'unknown')) -%}
    {%- endfor -%}
    {{ return(columns) }}
{% endmacro %}
