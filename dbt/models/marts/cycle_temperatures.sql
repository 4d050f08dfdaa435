-- Cell temperature per cycle: the lowest, time-averaged and highest reading of the auxiliary value under the key dbt
-- var temperature_auxiliary_key names (as test_telemetry.temperature__c), for each cycle with at least one reading.
-- The mean weights each reading by the time since the previous record (duration__s), as the cycle statistics'
-- time-averaged voltage does; where those times are all 0, the plain mean. With the cycle's part, part_cycle_number
-- and test purpose (int_cycles).
-- The records are grouped by cycle first and the cycle's columns joined after: over every cell (Cycle life's chart)
-- that is half the time of joining 10M records first (0.26 s against 0.51 s in DuckDB); a filter on the test reaches
-- the telemetry scan, one on the part is applied after the grouping (0.27 s for one cell at 10M records).
with readings as (
    select
        device_id,
        test_id,
        cycle_number,
        duration__s,
        {{ map_value('auxiliary', var('temperature_auxiliary_key')) }} as temperature__c
    from {{ ref('telemetry') }}
),

cycle_readings as (
    select
        device_id,
        test_id,
        cycle_number,
        count(temperature__c) as temperature_records,
        min(temperature__c) as min_temperature__c,
        coalesce(
            sum(temperature__c * duration__s)
            / nullif(sum(case when temperature__c is not null then duration__s end), 0),
            avg(temperature__c)
        ) as mean_temperature__c,
        max(temperature__c) as max_temperature__c
    from readings
    group by device_id, test_id, cycle_number
    having count(temperature__c) > 0
)

select
    cycle_readings.device_id,
    cycle_readings.test_id,
    cycle_readings.cycle_number,
    cycles.part_id,
    cycles.team,
    cycles.part_cycle_number,
    cycles.test_purpose,
    cycle_readings.temperature_records,
    cycle_readings.min_temperature__c,
    cycle_readings.mean_temperature__c,
    cycle_readings.max_temperature__c
from cycle_readings
inner join {{ ref('int_cycles') }} as cycles
    on cycle_readings.device_id = cycles.device_id
    and cycle_readings.test_id = cycles.test_id
    and cycle_readings.cycle_number = cycles.cycle_number
