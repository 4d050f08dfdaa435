-- Every cycle of every test (statistics_cycle's keys and capacities), with what the cycle marts need to know about it:
-- its part, the test's place among the part's tests and the cycle's part_cycle_number (null for a test without a
-- part), its kind and its test's purpose (int_cycle_kinds), and whether the voltage-curve charts overlay it by default
-- (curve_overlay): the first and last cycle of its part (of its test, for a test without a part), then the first
-- and last of its test and every Nth cycle between, N chosen so that about curve_overlay_cycles (dbt var, 10) cycles
-- of each part (each test without a part) show.
-- With the cycle's cumulative throughput within its test (test_statistics_cycle shows it).
-- Narrow on purpose: the numbering, the throughput and the life metrics run their windows over these rows, not over
-- wide ones (a window over test_statistics_cycle's rows, every metadata column, cost 18 ms of its 47 at 10M).
with cycles as (
    select
        cycles.device_id,
        cycles.test_id,
        cycles.cycle_number,
        cycles.charge_capacity__ah,
        cycles.discharge_capacity__ah,
        cycles.charge_energy__wh,
        cycles.discharge_energy__wh,
        part_tests.part_id,
        part_tests.team,
        part_tests.part_test_number,
        cycle_kinds.cycle_kind,
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
        count(*) over (partition by device_id, test_id) as test_cycles,
        sum(charge_capacity__ah + discharge_capacity__ah) over (
            partition by device_id, test_id order by cycle_number
            rows between unbounded preceding and current row
        ) as cumulative_throughput__ah,
        sum(charge_energy__wh + discharge_energy__wh) over (
            partition by device_id, test_id order by cycle_number
            rows between unbounded preceding and current row
        ) as cumulative_throughput__wh
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
    charge_capacity__ah,
    discharge_capacity__ah,
    charge_energy__wh,
    discharge_energy__wh,
    part_id,
    team,
    part_test_number,
    case when part_id is not null then part_cycle_rank end as part_cycle_number,
    cycle_kind,
    test_purpose,
    cumulative_throughput__ah,
    cumulative_throughput__wh,
    case
        when overlay_rank in (1, overlay_cycles) then 'first and last'
        when test_cycle_rank in (1, test_cycles)
            or mod(
                overlay_rank - 1,
                greatest(1, cast(ceiling(overlay_cycles / {{ var('curve_overlay_cycles') }}.0) as bigint))
            ) = 0
            then 'sampled'
        else 'other'
    end as curve_overlay
from overlay
