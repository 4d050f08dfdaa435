{#- SELECT every column of a relation under its lower-case name (Trino lower-cases identifiers; DuckDB keeps case). -#}
{% macro select_lowercase(relation) %}
select
{%- for column in columns_of(relation) %}
    {{ adapter.quote(column.name) }} as {{ column.name | lower }}{{ "," if not loop.last }}
{%- endfor %}
from {{ relation }}
{% endmacro %}
