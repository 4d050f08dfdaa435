{#-
  The rows of a relation keyed by device_id and test_id (a telemetry-level source view, or int_part_test_offsets),
  each exactly once, with the test's recipe_id, every device_metadata column as dm__* and every recipe_metadata column
  as rm__* (prefixed_column_names selects them again by these names), and team: the team of the test's part
  (part_metadata.team; null without a part or a team), the column access/teams.yaml filters each team's rows by.
  Left joins on unique keys (tested in models/sources/_sources_models.yml): no row is dropped or duplicated. The recipe
  and its metadata are joined to each other first, so a record meets two hash joins, not three (telemetry at 10M
  rows: a third of the joins' time).
-#}
{% macro with_test_metadata(records) %}
select
    records.*,
    test_recipes.recipe_id,
    test_recipes.team,
    {{ prefixed_columns(ref('device_metadata'), 'device_metadata', 'dm__') }},
    {{ prefixed_column_names(ref('recipe_metadata'), 'test_recipes', 'rm__') }}
from {{ records }} as records
left join (
    select
        tests.device_id,
        tests.test_id,
        device_test_recipe.recipe_id,
        part_metadata.team,
        {{ prefixed_columns(ref('recipe_metadata'), 'recipe_metadata', 'rm__') }}
    from (
        select device_id, test_id from {{ ref('device_test_recipe') }}
        union
        select device_id, test_id from {{ ref('device_test_part') }}
    ) as tests
    left join {{ ref('device_test_recipe') }} as device_test_recipe
        on tests.device_id = device_test_recipe.device_id
        and tests.test_id = device_test_recipe.test_id
    left join {{ ref('recipe_metadata') }} as recipe_metadata
        on device_test_recipe.recipe_id = recipe_metadata.recipe_id
    left join {{ ref('device_test_part') }} as device_test_part
        on tests.device_id = device_test_part.device_id
        and tests.test_id = device_test_part.test_id
    left join {{ ref('part_metadata') }} as part_metadata
        on device_test_part.part_id = part_metadata.part_id
) as test_recipes
    on records.device_id = test_recipes.device_id
    and records.test_id = test_recipes.test_id
left join {{ ref('device_metadata') }} as device_metadata
    on records.device_id = device_metadata.device_id
{% endmacro %}
