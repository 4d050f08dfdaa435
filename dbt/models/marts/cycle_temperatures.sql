-- Cell temperature per cycle: the lowest, time-averaged and highest reading of the auxiliary value under the key dbt
-- var temperature_auxiliary_key names (as test_telemetry.temperature__c), for each cycle with at least one reading.
-- The mean weights each reading by the time since the previous record (duration__s), as the cycle statistics'
-- time-averaged voltage does; where those times are all 0, the plain mean. With the cycle's part and
-- part_cycle_number (int_cycle_records), so a filter on test, cycle or part reaches the telemetry scan.
with readings as (
    select
        device_id,
        test_id,
        cycle_number,
        part_id,
        part_cycle_number,
        test_purpose,
        duration__s,
        {{ map_value('auxiliary', var('temperature_auxiliary_key')) }} as temperature__c
    from {{ ref('int_cycle_records') }}
)

select
    device_id,
    test_id,
    cycle_number,
    part_id,
    part_cycle_number,
    test_purpose,
    count(temperature__c) as temperature_records,
    min(temperature__c) as min_temperature__c,
    coalesce(
        sum(temperature__c * duration__s) / nullif(sum(case when temperature__c is not null then duration__s end), 0),
        avg(temperature__c)
    ) as mean_temperature__c,
    max(temperature__c) as max_temperature__c
from readings
group by device_id, test_id, cycle_number, part_id, part_cycle_number, test_purpose
having count(temperature__c) > 0
