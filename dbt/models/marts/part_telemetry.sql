-- The telemetry of every test of a part, one after another in time order, with part metadata and part-level numbers:
-- part_cycle_number, part_step_number and part_record_number start at 1 and step up by one whenever the test's own
-- number changes or the next test of the part begins.
with part_records as (
    {{ with_part_metadata(ref('test_telemetry')) }}
)

select
    part_records.*,
    dense_rank() over (
        partition by part_id order by part_test_number, cycle_number
    ) as part_cycle_number,
    dense_rank() over (
        partition by part_id order by part_test_number, step_number
    ) as part_step_number,
    dense_rank() over (
        partition by part_id order by part_test_number, record_number
    ) as part_record_number
from part_records
