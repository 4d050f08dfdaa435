-- One row per test linked to a part that has telemetry, with what part_telemetry adds to each of the test's records:
-- part_id, part_test_number, every part_metadata column as pm__*, and the offsets that turn the test's own cycle, step
-- and record numbers into the part's (part_cycle_offset, part_step_offset, part_record_offset).
--
-- The part numbers are dense ranks over the part's tests in time order: a record's part number is the count of
-- distinct numbers in the part's earlier tests plus the rank of its own number within its test. When a test's
-- numbers are consecutive (cycles a..b all present, steps c..d, records e..f), that rank is number - first + 1, so
-- part number = number + offset, and part_telemetry needs no sort of the records: a part_id filter reaches the
-- telemetry table through a join with this small relation. part_numbers_consecutive says whether that holds for every
-- test of the part (it does for pulse-telemetry data); where it does not, part_telemetry ranks that part's records.
--
-- Records are checked step by step, so no record is counted twice: within a step the telemetry key makes record
-- numbers distinct, and a step's records are consecutive when count = last - first + 1; steps must not overlap
-- (each starts after the test's earlier steps end), so the test's record count is the sum over its steps.
-- Aggregates group by part_id, device_id and test_id, never by a computed column, so DuckDB estimates this relation
-- as small as it is and keeps the records on the probe side of part_telemetry's joins; and a part_id filter reaches
-- the telemetry scan through the group-bys.
with steps as (
    select
        part_tests.part_id,
        telemetry.device_id,
        telemetry.test_id,
        telemetry.cycle_number,
        telemetry.step_number,
        count(*) as records,
        min(telemetry.record_number) as first_record_number,
        max(telemetry.record_number) as last_record_number
    from {{ ref('telemetry') }} as telemetry
    inner join {{ ref('int_part_tests') }} as part_tests
        on telemetry.device_id = part_tests.device_id
        and telemetry.test_id = part_tests.test_id
    group by part_tests.part_id, telemetry.device_id, telemetry.test_id, telemetry.cycle_number, telemetry.step_number
),

checked_steps as (
    select
        steps.*,
        case
            when records = last_record_number - first_record_number + 1
                and first_record_number > coalesce(max(last_record_number) over (
                    partition by part_id, device_id, test_id order by first_record_number
                    rows between unbounded preceding and 1 preceding
                ), first_record_number - 1)
                then 1
            else 0
        end as records_consecutive
    from steps
),

tests as (
    select
        part_id,
        device_id,
        test_id,
        count(distinct cycle_number) as cycles,
        min(cycle_number) as first_cycle_number,
        max(cycle_number) as last_cycle_number,
        count(distinct step_number) as steps,
        min(step_number) as first_step_number,
        max(step_number) as last_step_number,
        sum(records) as records,
        min(first_record_number) as first_record_number,
        max(last_record_number) as last_record_number,
        min(records_consecutive) as records_consecutive
    from checked_steps
    group by part_id, device_id, test_id
),

part_tests as (
    select
        part_tests.part_test_number,
        tests.*,
        case
            when tests.cycles = tests.last_cycle_number - tests.first_cycle_number + 1
                and tests.steps = tests.last_step_number - tests.first_step_number + 1
                and tests.records_consecutive = 1
                and tests.records = tests.last_record_number - tests.first_record_number + 1
                then 1
            else 0
        end as numbers_consecutive
    from {{ ref('int_part_tests') }} as part_tests
    inner join tests
        on part_tests.part_id = tests.part_id
        and part_tests.device_id = tests.device_id
        and part_tests.test_id = tests.test_id
),

offsets as (
    select
        part_tests.*,
        cast(coalesce(sum(cycles) over (
            partition by part_id order by part_test_number rows between unbounded preceding and 1 preceding
        ), 0) - first_cycle_number + 1 as bigint) as part_cycle_offset,
        cast(coalesce(sum(steps) over (
            partition by part_id order by part_test_number rows between unbounded preceding and 1 preceding
        ), 0) - first_step_number + 1 as bigint) as part_step_offset,
        cast(coalesce(sum(records) over (
            partition by part_id order by part_test_number rows between unbounded preceding and 1 preceding
        ), 0) - first_record_number + 1 as bigint) as part_record_offset,
        min(numbers_consecutive) over (partition by part_id) = 1 as part_numbers_consecutive
    from part_tests
)

select
    offsets.part_id,
    offsets.part_test_number,
    offsets.device_id,
    offsets.test_id,
    offsets.part_cycle_offset,
    offsets.part_step_offset,
    offsets.part_record_offset,
    offsets.part_numbers_consecutive,
    {{ prefixed_columns(ref('part_metadata'), 'part_metadata', 'pm__') }}
from offsets
left join {{ ref('part_metadata') }} as part_metadata
    on offsets.part_id = part_metadata.part_id
