-- One row per part with cycles on the life curves: when its capacity retention falls below end_of_life_retention
-- (80 %), measured where it has, projected where it has not yet. The projection is a least-squares line through the
-- retention of the part's last end_of_life_fit_cycles cycles on the life curves (the recent fade, not the whole
-- history: fade often speeds up), extended to end_of_life_retention; formulas in _marts.yml.
with curve as (
    select
        part_id,
        recipe_id,
        part_cycle_number,
        capacity_retention
    from {{ ref('part_statistics_cycle') }}
    where life_curve_exclusion is null
        and capacity_retention is not null
),

recent as (
    select
        part_id,
        part_cycle_number,
        capacity_retention,
        row_number() over (partition by part_id order by part_cycle_number desc) as cycles_back
    from curve
),

fits as (
    select
        part_id,
        count(*) as fit_cycles,
        min(part_cycle_number) as fit_first_cycle_number,
        -- a line needs two points (engines differ on what one point gives: null or NaN)
        case when count(*) >= 2 then regr_slope(capacity_retention, part_cycle_number) end
            as retention_fade_per_cycle,
        case when count(*) >= 2 then regr_intercept(capacity_retention, part_cycle_number) end as fit_intercept
    from recent
    where cycles_back <= {{ var('end_of_life_fit_cycles') }}
    group by part_id
),

lives as (
    select
        part_id,
        count(*) as curve_cycles,
        max(part_cycle_number) as last_cycle_number,
        min(capacity_retention) as lowest_capacity_retention,
        min(
            case when capacity_retention < {{ var('end_of_life_retention') }} then part_cycle_number end
        ) as measured_end_of_life_cycle
    from curve
    group by part_id
),

last_recipes as (
    select
        curve.part_id,
        curve.recipe_id
    from curve
    inner join lives
        on curve.part_id = lives.part_id
        and curve.part_cycle_number = lives.last_cycle_number
),

projections as (
    select
        lives.part_id,
        case
            when lives.measured_end_of_life_cycle is null
                and fits.fit_cycles >= {{ var('end_of_life_min_fit_cycles') }}
                and fits.retention_fade_per_cycle < 0
                then ceiling(
                    ({{ var('end_of_life_retention') }} - fits.fit_intercept) / fits.retention_fade_per_cycle
                )
        end as reached_at
    from lives
    inner join fits
        on lives.part_id = fits.part_id
)

select
    lives.part_id,
    last_recipes.recipe_id,
    {{ prefixed_columns(ref('part_metadata'), 'part_metadata', 'pm__') }},
    lives.curve_cycles,
    lives.last_cycle_number,
    lives.lowest_capacity_retention,
    lives.measured_end_of_life_cycle,
    fits.fit_cycles,
    fits.fit_first_cycle_number,
    fits.retention_fade_per_cycle,
    case
        when projections.reached_at <= {{ var('end_of_life_max_projected_cycles') }}
            then cast(greatest(projections.reached_at, lives.last_cycle_number + 1) as bigint)
    end as projected_end_of_life_cycle
from lives
inner join fits
    on lives.part_id = fits.part_id
inner join projections
    on lives.part_id = projections.part_id
left join last_recipes
    on lives.part_id = last_recipes.part_id
left join {{ ref('part_metadata') }} as part_metadata
    on lives.part_id = part_metadata.part_id
