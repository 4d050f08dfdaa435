{#-
  The rows of a telemetry-level source view (telemetry, statistics_step, statistics_cycle), each exactly once, with the
  test's recipe_id, every device_metadata column as dm__* and every recipe_metadata column as rm__*.
  Left joins on unique keys (tested in models/sources/_sources_models.yml): no row is dropped or duplicated.
-#}
{% macro with_test_metadata(records) %}
select
    records.*,
    device_test_recipe.recipe_id,
    {{ prefixed_columns(ref('device_metadata'), 'device_metadata', 'dm__') }},
    {{ prefixed_columns(ref('recipe_metadata'), 'recipe_metadata', 'rm__') }}
from {{ records }} as records
left join {{ ref('device_test_recipe') }} as device_test_recipe
    on records.device_id = device_test_recipe.device_id
    and records.test_id = device_test_recipe.test_id
left join {{ ref('device_metadata') }} as device_metadata
    on records.device_id = device_metadata.device_id
left join {{ ref('recipe_metadata') }} as recipe_metadata
    on device_test_recipe.recipe_id = recipe_metadata.recipe_id
{% endmacro %}
