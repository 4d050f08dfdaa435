{#- Every column of a metadata relation, renamed <prefix><column>: new metadata columns appear on the next build. -#}
{% macro prefixed_columns(relation, alias, prefix) %}
{%- for column in columns_of(relation) %}
    {{ alias }}.{{ column.name | lower }} as {{ prefix }}{{ column.name | lower }}{{ "," if not loop.last }}
{%- endfor %}
{% endmacro %}
