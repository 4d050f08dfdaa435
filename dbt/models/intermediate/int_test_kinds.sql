-- Each test with cycle statistics: a cycling test or a characterisation test (rules in _intermediate.yml). The recipe
-- says so where the lab records it (optional recipe_metadata column test_purpose), else the test's full cycles do.
-- depends_on: {{ ref('device_test_recipe') }}
-- depends_on: {{ ref('recipe_metadata') }}
{%- set recipe_columns = columns_of(ref('recipe_metadata')) | map(attribute='name') | map('lower') | list %}
{%- set recipes_state_purpose = 'test_purpose' in recipe_columns %}
with full_cycle_counts as (
    select
        device_id,
        test_id,
        count(case when cycle_kind = 'full' then 1 end) as full_cycles
    from {{ ref('int_cycle_kinds') }}
    group by device_id, test_id
)

select
    counts.device_id,
    counts.test_id,
    case
    {%- if recipes_state_purpose %}
        when lower(trim(cast(recipe_metadata.test_purpose as varchar))) = 'cycling' then 'cycling'
        when trim(cast(recipe_metadata.test_purpose as varchar)) <> '' then 'characterisation'
    {%- endif %}
        when counts.full_cycles >= {{ var('cycling_test_min_full_cycles') }} then 'cycling'
        else 'characterisation'
    end as test_purpose
from full_cycle_counts as counts
{%- if recipes_state_purpose %}
left join {{ ref('device_test_recipe') }} as device_test_recipe
    on counts.device_id = device_test_recipe.device_id
    and counts.test_id = device_test_recipe.test_id
left join {{ ref('recipe_metadata') }} as recipe_metadata
    on device_test_recipe.recipe_id = recipe_metadata.recipe_id
{%- endif %}
