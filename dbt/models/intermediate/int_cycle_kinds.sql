-- Each cycle of statistics_cycle classified full, partial or rest, with its test's purpose: cycling or
-- characterisation (rules in _intermediate.yml; thresholds are dbt vars in dbt_project.yml). The recipe states the
-- purpose where the lab records it (optional recipe_metadata column test_purpose), else the test's full cycles do.
-- Only keys and capacities are read.
-- depends_on: {{ ref('device_test_recipe') }}
-- depends_on: {{ ref('recipe_metadata') }}
{%- set recipes_state_purpose = has_column(ref('recipe_metadata'), 'test_purpose') %}
with capacities as (
    select
        device_id,
        test_id,
        cycle_number,
        coalesce(charge_capacity__ah, 0) as charge_capacity__ah,
        coalesce(discharge_capacity__ah, 0) as discharge_capacity__ah
    from {{ ref('statistics_cycle') }}
),

-- Cycles that charged and discharged about as much as each other: candidates for a full cycle.
balanced as (
    select
        device_id,
        test_id,
        discharge_capacity__ah,
        row_number() over (partition by device_id, test_id order by discharge_capacity__ah) as position,
        count(*) over (partition by device_id, test_id) as balanced_cycles
    from capacities
    where charge_capacity__ah > 0
        and discharge_capacity__ah > 0
        and least(charge_capacity__ah, discharge_capacity__ah)
        >= {{ var('full_cycle_min_balance') }} * greatest(charge_capacity__ah, discharge_capacity__ah)
),

-- The test's typical discharge capacity: the exact median over its balanced cycles.
typical as (
    select
        device_id,
        test_id,
        avg(discharge_capacity__ah) as typical_discharge_capacity__ah
    from balanced
    where position in (floor((balanced_cycles + 1) / 2.0), floor((balanced_cycles + 2) / 2.0))
    group by device_id, test_id
),

classified as (
    select
        capacities.device_id,
        capacities.test_id,
        capacities.cycle_number,
        case
            when capacities.charge_capacity__ah <= 0 and capacities.discharge_capacity__ah <= 0 then 'rest'
            when capacities.charge_capacity__ah > 0
                and capacities.discharge_capacity__ah > 0
                and least(capacities.charge_capacity__ah, capacities.discharge_capacity__ah)
                >= {{ var('full_cycle_min_balance') }}
                * greatest(capacities.charge_capacity__ah, capacities.discharge_capacity__ah)
                and capacities.discharge_capacity__ah
                >= {{ var('full_cycle_min_share') }} * typical.typical_discharge_capacity__ah
                then 'full'
            else 'partial'
        end as cycle_kind
    from capacities
    left join typical
        on capacities.device_id = typical.device_id
        and capacities.test_id = typical.test_id
)

select
    classified.device_id,
    classified.test_id,
    classified.cycle_number,
    classified.cycle_kind,
    case
    {%- if recipes_state_purpose %}
        when lower(trim(cast(recipe_metadata.test_purpose as varchar))) = 'cycling' then 'cycling'
        when trim(cast(recipe_metadata.test_purpose as varchar)) <> '' then 'characterisation'
    {%- endif %}
        when count(case when classified.cycle_kind = 'full' then 1 end) over (
            partition by classified.device_id, classified.test_id
        ) >= {{ var('cycling_test_min_full_cycles') }} then 'cycling'
        else 'characterisation'
    end as test_purpose
from classified
{%- if recipes_state_purpose %}
left join {{ ref('device_test_recipe') }} as device_test_recipe
    on classified.device_id = device_test_recipe.device_id
    and classified.test_id = device_test_recipe.test_id
left join {{ ref('recipe_metadata') }} as recipe_metadata
    on device_test_recipe.recipe_id = recipe_metadata.recipe_id
{%- endif %}
