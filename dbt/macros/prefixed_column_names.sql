{#- The <prefix><column> columns prefixed_columns named, as alias.<prefix><column>, to select them again further on. -#}
{% macro prefixed_column_names(relation, alias, prefix) %}
{%- for column in columns_of(relation) %}
    {{ alias }}.{{ prefix }}{{ column.name | lower }}{{ "," if not loop.last }}
{%- endfor %}
{% endmacro %}
