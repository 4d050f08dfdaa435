-- Keys the lab's metadata tables hold more than once, read live from the source tables: one row per such key, with
-- its table and number of rows. The source views keep one row of each (macros/select_lowercase.sql) so the marts stay
-- right meanwhile, but which row is right only the lab knows. Shown on Lab operations; `pulse build` fails naming them.
{%- set keyed_tables = [
    ('device_metadata', ['device_id']),
    ('recipe_metadata', ['recipe_id']),
    ('part_metadata', ['part_id']),
    ('device_test_recipe', ['device_id', 'test_id']),
    ('device_test_part', ['device_id', 'test_id']),
] %}
{%- set key_columns = ['device_id', 'test_id', 'recipe_id', 'part_id'] %}
{% for table, keys in keyed_tables %}
select
    '{{ table }}' as metadata_table,
{%- for column in key_columns %}
    {% if column in keys %}cast({{ column }} as varchar){% else %}cast(null as varchar){% endif %} as {{ column }},
{%- endfor %}
    count(*) as key_rows
from {{ source('lab_metadata', table) }}
group by {{ keys | join(', ') }}
having count(*) > 1
{% if not loop.last %}
union all
{%- endif %}
{%- endfor %}
