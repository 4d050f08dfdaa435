-- One row per part with cycles on the life curves: when its capacity retention falls below end_of_life_retention
-- (80 %), measured where it has, projected where it has not yet. The projection is a least-squares line through the
-- retention of the part's last end_of_life_fit_cycles cycles on the life curves (the recent fade, not the whole
-- history: fade often speeds up), extended to end_of_life_retention; formulas in _marts.yml.
-- One pass over part_statistics_cycle (each step below reads the one before once): Trino expands a view once per
-- reference, and part_statistics_cycle read three times exceeds its limit of query stages.
with curve as (
    select
        part_id,
        recipe_id,
        part_cycle_number,
        capacity_retention,
        row_number() over (partition by part_id order by part_cycle_number desc) as cycles_back
    from {{ ref('part_statistics_cycle') }}
    where life_curve_exclusion is null
        and capacity_retention is not null
),

parts as (
    select
        part_id,
        max(case when cycles_back = 1 then recipe_id end) as recipe_id,
        count(*) as curve_cycles,
        max(part_cycle_number) as last_cycle_number,
        min(capacity_retention) as lowest_capacity_retention,
        min(
            case when capacity_retention < {{ var('end_of_life_retention') }} then part_cycle_number end
        ) as measured_end_of_life_cycle,
        count(*) filter (where cycles_back <= {{ var('end_of_life_fit_cycles') }}) as fit_cycles,
        min(part_cycle_number) filter (where cycles_back <= {{ var('end_of_life_fit_cycles') }})
            as fit_first_cycle_number,
        regr_slope(capacity_retention, part_cycle_number) filter (
            where cycles_back <= {{ var('end_of_life_fit_cycles') }}
        ) as fit_slope,
        regr_intercept(capacity_retention, part_cycle_number) filter (
            where cycles_back <= {{ var('end_of_life_fit_cycles') }}
        ) as fit_intercept
    from curve
    group by part_id
),

lives as (
    select
        parts.*,
        -- a line needs two points (engines differ on what one point gives: null or NaN)
        case when fit_cycles >= 2 then fit_slope end as retention_fade_per_cycle,
        case
            when measured_end_of_life_cycle is null
                and fit_cycles >= {{ var('end_of_life_min_fit_cycles') }}
                and fit_slope < 0
                then ceiling(({{ var('end_of_life_retention') }} - fit_intercept) / fit_slope)
        end as reached_at
    from parts
)

select
    lives.part_id,
    lives.recipe_id,
    part_metadata.team,
    {{ prefixed_columns(ref('part_metadata'), 'part_metadata', 'pm__') }},
    lives.curve_cycles,
    lives.last_cycle_number,
    lives.lowest_capacity_retention,
    lives.measured_end_of_life_cycle,
    lives.fit_cycles,
    lives.fit_first_cycle_number,
    lives.retention_fade_per_cycle,
    case
        when lives.reached_at <= {{ var('end_of_life_max_projected_cycles') }}
            then cast(greatest(lives.reached_at, lives.last_cycle_number + 1) as bigint)
    end as projected_end_of_life_cycle
from lives
left join {{ ref('part_metadata') }} as part_metadata
    on lives.part_id = part_metadata.part_id
