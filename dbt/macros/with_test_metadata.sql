{#-
  The rows of a relation keyed by device_id and test_id (a telemetry-level source view, or int_part_test_offsets),
  each exactly once, with the test's recipe_id, every device_metadata column as dm__* and every recipe_metadata column
  as rm__* (prefixed_column_names selects them again by these names).
  Left joins on unique keys (tested in models/sources/_sources_models.yml): no row is dropped or duplicated. The recipe
  and its metadata are joined to each other first, so a record meets two hash joins, not three (telemetry at 10M
  rows: a third of the joins' time).
-#}
{% macro with_test_metadata(records) %}
select
    records.*,
    test_recipes.recipe_id,
    {{ prefixed_columns(ref('device_metadata'), 'device_metadata', 'dm__') }},
    {{ prefixed_column_names(ref('recipe_metadata'), 'test_recipes', 'rm__') }}
from {{ records }} as records
left join (
    select
        device_test_recipe.device_id,
        device_test_recipe.test_id,
        device_test_recipe.recipe_id,
        {{ prefixed_columns(ref('recipe_metadata'), 'recipe_metadata', 'rm__') }}
    from {{ ref('device_test_recipe') }} as device_test_recipe
    left join {{ ref('recipe_metadata') }} as recipe_metadata
        on device_test_recipe.recipe_id = recipe_metadata.recipe_id
) as test_recipes
    on records.device_id = test_recipes.device_id
    and records.test_id = test_recipes.test_id
left join {{ ref('device_metadata') }} as device_metadata
    on records.device_id = device_metadata.device_id
{% endmacro %}
