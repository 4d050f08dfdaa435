-- Every cycle of every test (statistics_cycle's keys) with its part's cycle number, its test's purpose (cycling or
-- characterisation, int_cycle_kinds: Cycle life shows cycling tests), and whether the voltage-curve
-- charts overlay it by default: the first and last cycle of its test, and of its part, and every Nth cycle between,
-- N chosen so that about curve_overlay_cycles (dbt var, 10) cycles of each part (each test without a part) show.
-- Cycle-level only: the curve marts join it to their telemetry-level points.
with cycles as (
    select
        cycles.device_id,
        cycles.test_id,
        cycles.cycle_number,
        part_tests.part_id,
        part_tests.part_test_number,
        cycle_kinds.test_purpose
    from {{ ref('statistics_cycle') }} as cycles
    left join {{ ref('int_part_tests') }} as part_tests
        on cycles.device_id = part_tests.device_id
        and cycles.test_id = part_tests.test_id
    left join {{ ref('int_cycle_kinds') }} as cycle_kinds
        on cycles.device_id = cycle_kinds.device_id
        and cycles.test_id = cycle_kinds.test_id
        and cycles.cycle_number = cycle_kinds.cycle_number
),

ranked as (
    select
        cycles.*,
        dense_rank() over (partition by part_id order by part_test_number, cycle_number) as part_cycle_rank,
        count(*) over (partition by part_id) as part_cycles,
        row_number() over (partition by device_id, test_id order by cycle_number) as test_cycle_rank,
        count(*) over (partition by device_id, test_id) as test_cycles
    from cycles
),

-- The overlay runs over the part's cycles, or the test's where the test has no part.
overlay as (
    select
        ranked.*,
        case when part_id is null then test_cycle_rank else part_cycle_rank end as overlay_rank,
        case when part_id is null then test_cycles else part_cycles end as overlay_cycles
    from ranked
)

select
    device_id,
    test_id,
    cycle_number,
    part_id,
    case when part_id is not null then part_cycle_rank end as part_cycle_number,
    test_purpose,
    case
        when test_cycle_rank in (1, test_cycles)
            or overlay_rank = overlay_cycles
            or mod(
                overlay_rank - 1,
                greatest(1, cast(ceiling(overlay_cycles / {{ var('curve_overlay_cycles') }}.0) as bigint))
            ) = 0
            then 'sampled'
        else 'other'
    end as curve_overlay
from overlay
