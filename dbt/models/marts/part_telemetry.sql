-- The telemetry of every test of a part, one after another in time order, with part metadata and part-level numbers:
-- part_cycle_number, part_step_number and part_record_number start at 1 and step up by one whenever the test's own
-- number changes or the next test of the part begins.
-- Where a part's numbers are consecutive in each of its tests, a part number is the test's own number plus the test's
-- offset (int_part_test_offsets explains why): no record is sorted, and a part_id filter reads only the part's
-- telemetry. ranked_records ranks the records of the other parts, the definition the offsets reproduce.
-- The columns are test_telemetry's, but the device and recipe metadata join the part's tests (part_tests), not each
-- record: a record meets one hash join on its way, where test_telemetry's two and the offsets' would be three.
with part_tests as (
    {{ with_test_metadata(ref('int_part_test_offsets')) }}
),

ranked_records as (
    select
        part_tests.part_id,
        telemetry.device_id,
        telemetry.test_id,
        telemetry.cycle_number,
        telemetry.step_number,
        telemetry.record_number,
        dense_rank() over (
            partition by part_tests.part_id order by part_tests.part_test_number, telemetry.cycle_number
        ) as part_cycle_number,
        dense_rank() over (
            partition by part_tests.part_id order by part_tests.part_test_number, telemetry.step_number
        ) as part_step_number,
        dense_rank() over (
            partition by part_tests.part_id order by part_tests.part_test_number, telemetry.record_number
        ) as part_record_number
    from {{ ref('telemetry') }} as telemetry
    inner join {{ ref('int_part_test_offsets') }} as part_tests
        on telemetry.device_id = part_tests.device_id
        and telemetry.test_id = part_tests.test_id
    where not part_tests.part_numbers_consecutive
)

select
    part_tests.part_id,
    part_tests.part_test_number,
    records.*,
    part_tests.recipe_id,
    part_tests.team,
    {{- prefixed_column_names(ref('device_metadata'), 'part_tests', 'dm__') }},
    {{- prefixed_column_names(ref('recipe_metadata'), 'part_tests', 'rm__') }},
    {{ map_value('records.auxiliary', var('temperature_auxiliary_key')) }} as temperature__c,
    {{- prefixed_column_names(ref('part_metadata'), 'part_tests', 'pm__') }},
    case
        when part_tests.part_numbers_consecutive then records.cycle_number + part_tests.part_cycle_offset
        else ranked_records.part_cycle_number
    end as part_cycle_number,
    case
        when part_tests.part_numbers_consecutive then records.step_number + part_tests.part_step_offset
        else ranked_records.part_step_number
    end as part_step_number,
    case
        when part_tests.part_numbers_consecutive then records.record_number + part_tests.part_record_offset
        else ranked_records.part_record_number
    end as part_record_number
from {{ ref('telemetry') }} as records
inner join part_tests
    on records.device_id = part_tests.device_id
    and records.test_id = part_tests.test_id
left join ranked_records
    on part_tests.part_id = ranked_records.part_id
    and records.device_id = ranked_records.device_id
    and records.test_id = ranked_records.test_id
    and records.cycle_number = ranked_records.cycle_number
    and records.step_number = ranked_records.step_number
    and records.record_number = ranked_records.record_number
