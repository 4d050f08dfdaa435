-- The steps of every test of a part in time order, with part metadata and part-level cycle and step numbers.
with part_steps as (
    {{ with_part_metadata(ref('test_statistics_step')) }}
)

select
    part_steps.*,
    dense_rank() over (
        partition by part_id order by part_test_number, cycle_number
    ) as part_cycle_number,
    dense_rank() over (
        partition by part_id order by part_test_number, step_number
    ) as part_step_number
from part_steps
