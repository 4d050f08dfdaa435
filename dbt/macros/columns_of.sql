{#-
  The columns of a relation, as the engine reports them. One place, so every macro sees the same list.
-#}
{% macro columns_of(relation) %}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {{ return(adapter.get_columns_in_relation(relation)) }}
{% endmacro %}
