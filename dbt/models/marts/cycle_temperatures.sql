-- Cell temperature per cycle: the lowest, time-averaged and highest reading of the auxiliary value under the key dbt
-- var temperature_auxiliary_key names (as test_telemetry.temperature__c), for each cycle with at least one reading.
-- The mean weights each reading by the time since the previous record (duration__s), as the cycle statistics'
-- time-averaged voltage does; where those times are all 0, the plain mean. With the cycle's part and
-- part_cycle_number (int_curve_cycles), so a filter on test, cycle or part reaches the telemetry scan.
with readings as (
    select
        telemetry.device_id,
        telemetry.test_id,
        telemetry.cycle_number,
        curve_cycles.part_id,
        curve_cycles.part_cycle_number,
        curve_cycles.test_purpose,
        telemetry.duration__s,
        {{ map_value('telemetry.auxiliary', var('temperature_auxiliary_key')) }} as temperature__c
    from {{ ref('telemetry') }} as telemetry
    inner join {{ ref('int_curve_cycles') }} as curve_cycles
        on telemetry.device_id = curve_cycles.device_id
        and telemetry.test_id = curve_cycles.test_id
        and telemetry.cycle_number = curve_cycles.cycle_number
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
