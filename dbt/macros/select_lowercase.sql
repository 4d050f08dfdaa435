{#-
  SELECT every column of a relation under its lower-case name (Trino lower-cases identifiers; DuckDB keeps case), the
  ids (device, test, recipe, part) as text whatever their type in the table (integers and UUIDs are cast: '42').
  With `one_row_per` (key columns), each key keeps one row whatever the relation holds: the row whose other columns
  sort first, column by column in table order, nulls last. A key the lab wrote twice can then never multiply the rows
  that join to it; the sources' data tests still fail the build naming the key (models/sources/_sources.yml).
  `text_columns` are lab-optional text columns (part_metadata's team): cast to text like the ids, and null when the
  table has no such column, so the views that carry them build on every lab's tables.
-#}
{% macro select_lowercase(relation, one_row_per=none, text_columns=[]) %}
{%- set columns = columns_of(relation) %}
{%- set names = columns | map(attribute='name') | map('lower') | list %}
select
{%- for name in text_columns if name not in names %}
    cast(null as varchar) as {{ name }},
{%- endfor %}
{%- for column in columns %}
    {%- if column.name | lower in id_columns() + text_columns and column_kind(column) != 'text' %}
    cast({{ adapter.quote(column.name) }} as varchar) as {{ column.name | lower }}{{ "," if not loop.last }}
    {%- else %}
    {{ adapter.quote(column.name) }} as {{ column.name | lower }}{{ "," if not loop.last }}
    {%- endif %}
{%- endfor %}
{%- if one_row_per %}
{%- set others = columns | rejectattr('name', 'in', one_row_per) | list %}
from (
    select
        *,
        row_number() over (
            partition by {{ one_row_per | join(', ') }}
            order by {% for column in others %}{{ adapter.quote(column.name) }} nulls last{{ ", " if not loop.last }}{% else %}{{ one_row_per | join(', ') }}{% endfor %}
        ) as row_of_key
    from {{ relation }}
) as rows_by_key
where row_of_key = 1
{%- else %}
from {{ relation }}
{%- endif %}
{% endmacro %}
