{#- Whether a relation has a column of this name (any case): for optional, lab-defined metadata columns. -#}
{% macro has_column(relation, name) %}
    {{ return(name | lower in columns_of(relation) | map(attribute='name') | map('lower') | list) }}
{% endmacro %}
