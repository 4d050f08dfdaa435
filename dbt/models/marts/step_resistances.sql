-- DC internal resistance at the edge that starts each step (rest to load, load to rest, a pulse): the change in voltage
-- over the change in current from the previous step's last record to the step's first record at least
-- resistance_time_after_edge__s (dbt var, 10 s) after it. Counted where the current changed by at least
-- resistance_min_current_change (0.5) of the larger of the two currents, and the reading came at most
-- resistance_max_time__s (120 s) after the edge; resistance_time__s says when it came (sparse records put it later,
-- and a later reading holds more of the cell's slow polarisation). One row per such step, with the cycle's part and
-- part_cycle_number (int_cycles), joined after the readings: a filter on test or cycle reaches the telemetry scan, one
-- on the part is applied after it (one cell at 10M records: 0.35 s, every cell 0.29 s).
with edges as (
    select
        device_id,
        test_id,
        cycle_number,
        step_number,
        step_type,
        lag(end_time) over (partition by device_id, test_id order by step_number) as edge_time,
        lag(end_voltage__v) over (partition by device_id, test_id order by step_number) as voltage_before__v,
        lag(end_current__a) over (partition by device_id, test_id order by step_number) as current_before__a
    from {{ ref('statistics_step') }}
),

-- The first record from resistance_time_after_edge__s to resistance_max_time__s after the edge: the window bounds
-- the records each step aggregates (all cells at 10M records: 0.27 s instead of 0.46 s).
readings as (
    select
        edges.device_id,
        edges.test_id,
        edges.cycle_number,
        edges.step_number,
        min_by(telemetry.voltage__v, telemetry.record_number) as voltage_after__v,
        min_by(telemetry.current__a, telemetry.record_number) as current_after__a,
        min_by(telemetry.timestamp, telemetry.record_number) as reading_time
    from {{ ref('telemetry') }} as telemetry
    inner join edges
        on telemetry.device_id = edges.device_id
        and telemetry.test_id = edges.test_id
        and telemetry.cycle_number = edges.cycle_number
        and telemetry.step_number = edges.step_number
    where date_diff('millisecond', edges.edge_time, telemetry.timestamp)
        between {{ var('resistance_time_after_edge__s') }} * 1000 and {{ var('resistance_max_time__s') }} * 1000
    group by edges.device_id, edges.test_id, edges.cycle_number, edges.step_number
)

select
    edges.device_id,
    edges.test_id,
    edges.cycle_number,
    edges.step_number,
    edges.step_type,
    cycles.part_id,
    cycles.team,
    cycles.part_cycle_number,
    cycles.test_purpose,
    edges.voltage_before__v,
    edges.current_before__a,
    readings.voltage_after__v,
    readings.current_after__a,
    cast(date_diff('millisecond', edges.edge_time, readings.reading_time) as double) / 1000 as resistance_time__s,
    (readings.voltage_after__v - edges.voltage_before__v)
    / (readings.current_after__a - edges.current_before__a) as resistance__ohm
from edges
inner join readings
    on edges.device_id = readings.device_id
    and edges.test_id = readings.test_id
    and edges.cycle_number = readings.cycle_number
    and edges.step_number = readings.step_number
inner join {{ ref('int_cycles') }} as cycles
    on edges.device_id = cycles.device_id
    and edges.test_id = cycles.test_id
    and edges.cycle_number = cycles.cycle_number
where readings.current_after__a <> edges.current_before__a
    and abs(readings.current_after__a - edges.current_before__a) >= {{ var('resistance_min_current_change') }}
    * greatest(abs(readings.current_after__a), abs(edges.current_before__a))
