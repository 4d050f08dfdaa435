-- The cycles of every test of a part in time order, with part metadata, part_cycle_number and the part's life metrics
-- (formulas in _marts.yml): capacity retention against the part's first full cycle, cumulative throughput and
-- equivalent full cycles over the part's whole life, and why a cycle is left out of the life curves, if it is.
-- The numbering (int_cycles) and the life metrics are computed over the cycles' keys and capacities alone (life) and
-- joined back on the cycle's key: windows over the wide rows (every metadata column) cost several times more, on every
-- query. The rows are test_statistics_cycle's (cycle_columns), written out here rather than read from that view, so
-- int_cycles is evaluated once, not twice: DuckDB does not share it between two views (planning 35 -> 16 ms at 10M).
-- The reference cycle: the cycle a part's recipe names in recipe_metadata.reference_cycle_number (optional column; the
-- earliest test whose recipe names one), when that cycle is a full one; else the part's first full cycle of a cycling
-- test.
-- depends_on: {{ ref('device_test_recipe') }}
{%- set recipes_name_reference_cycles = has_column(ref('recipe_metadata'), 'reference_cycle_number') %}
with numbered as (
    select *
    from {{ ref('int_cycles') }}
    where part_id is not null
),

full_cycles as (
    select
        numbered.part_id,
        numbered.discharge_capacity__ah,
        row_number() over (
            partition by numbered.part_id
            order by
            {%- if recipes_name_reference_cycles %}
                case
                    when numbered.cycle_number = try_cast(recipe_metadata.reference_cycle_number as integer) then 0
                    else 1
                end,
            {%- endif %}
                numbered.part_cycle_number
        ) as full_cycle_rank
    from numbered
    {%- if recipes_name_reference_cycles %}
    left join {{ ref('device_test_recipe') }} as device_test_recipe
        on numbered.device_id = device_test_recipe.device_id
        and numbered.test_id = device_test_recipe.test_id
    left join {{ ref('recipe_metadata') }} as recipe_metadata
        on device_test_recipe.recipe_id = recipe_metadata.recipe_id
    {%- endif %}
    where numbered.cycle_kind = 'full'
    {%- if recipes_name_reference_cycles %}
        and (
            numbered.test_purpose = 'cycling'
            or numbered.cycle_number = try_cast(recipe_metadata.reference_cycle_number as integer)
        )
    {%- else %}
        and numbered.test_purpose = 'cycling'
    {%- endif %}
),

reference_capacities as (
    select
        part_id,
        discharge_capacity__ah as reference_capacity__ah
    from full_cycles
    where full_cycle_rank = 1
),

life as (
    select
        numbered.*,
        reference_capacities.reference_capacity__ah,
        numbered.discharge_capacity__ah / nullif(reference_capacities.reference_capacity__ah, 0) as capacity_retention,
        sum(numbered.charge_capacity__ah + numbered.discharge_capacity__ah) over (
            partition by numbered.part_id order by numbered.part_cycle_number
            rows between unbounded preceding and current row
        ) as part_cumulative_throughput__ah,
        sum(numbered.charge_energy__wh + numbered.discharge_energy__wh) over (
            partition by numbered.part_id order by numbered.part_cycle_number
            rows between unbounded preceding and current row
        ) as part_cumulative_throughput__wh,
        sum(numbered.discharge_capacity__ah) over (
            partition by numbered.part_id order by numbered.part_cycle_number
            rows between unbounded preceding and current row
        ) / nullif(reference_capacities.reference_capacity__ah, 0) as equivalent_full_cycles
    from numbered
    left join reference_capacities
        on numbered.part_id = reference_capacities.part_id
),

cycles as (
    {{ with_test_metadata(ref('statistics_cycle')) }}
),

part_cycles as (
    select
        life.part_id,
        life.part_test_number,
        {{- cycle_columns('cycles', 'life') }},
        {{- prefixed_columns(ref('part_metadata'), 'part_metadata', 'pm__') }},
        life.part_cycle_number,
        life.reference_capacity__ah,
        life.capacity_retention,
        life.part_cumulative_throughput__ah,
        life.part_cumulative_throughput__wh,
        life.equivalent_full_cycles
    from cycles
    inner join life
        on cycles.device_id = life.device_id
        and cycles.test_id = life.test_id
        and cycles.cycle_number = life.cycle_number
    left join {{ ref('part_metadata') }} as part_metadata
        on life.part_id = part_metadata.part_id
)

select
    part_cycles.*,
    case
        when part_cycles.test_purpose = 'characterisation' then 'characterisation test'
        when part_cycles.cycle_kind = 'rest' then 'rest-only cycle'
        when part_cycles.cycle_kind = 'partial' then 'partial cycle'
        when part_cycles.coulombic_efficiency > {{ var('max_plausible_coulombic_efficiency') }}
            then 'implausible coulombic efficiency'
        when part_cycles.capacity_retention > {{ var('max_plausible_capacity_retention') }}
            then 'implausible capacity retention'
    end as life_curve_exclusion
from part_cycles
