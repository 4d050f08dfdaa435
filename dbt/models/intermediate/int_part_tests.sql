-- The tests of each part in time order: the order the part marts re-index numbers in.
-- A test starts at its first cycle's start_time; ties (and tests without statistics, last) break on device and test.
with test_starts as (
    select
        device_id,
        test_id,
        min(start_time) as test_start_time
    from {{ ref('statistics_cycle') }}
    group by device_id, test_id
)

select
    device_test_part.part_id,
    device_test_part.device_id,
    device_test_part.test_id,
    part_metadata.team,
    test_starts.test_start_time,
    row_number() over (
        partition by device_test_part.part_id
        order by test_starts.test_start_time nulls last, device_test_part.device_id, device_test_part.test_id
    ) as part_test_number
from {{ ref('device_test_part') }} as device_test_part
left join test_starts
    on device_test_part.device_id = test_starts.device_id
    and device_test_part.test_id = test_starts.test_id
left join {{ ref('part_metadata') }} as part_metadata
    on device_test_part.part_id = part_metadata.part_id
