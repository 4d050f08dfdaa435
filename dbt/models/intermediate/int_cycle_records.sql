-- The telemetry records with their cycle's part, part_cycle_number, test purpose and curve_overlay (int_cycles), and
-- the record columns the curve views read (cycle_voltage_curves, cycle_incremental_capacity). The cycle's columns are
-- joined to the records before any window or group-by runs, and those run over them with the cycle's key, so a filter
-- on test, cycle, part or overlay reaches the telemetry scan.
select
    telemetry.device_id,
    telemetry.test_id,
    telemetry.cycle_number,
    cycles.part_id,
    cycles.team,
    cycles.part_cycle_number,
    cycles.test_purpose,
    cycles.curve_overlay,
    telemetry.record_number,
    telemetry.step_type,
    telemetry.voltage__v,
    telemetry.capacity_charged__ah,
    telemetry.capacity_discharged__ah
from {{ ref('telemetry') }} as telemetry
inner join {{ ref('int_cycles') }} as cycles
    on telemetry.device_id = cycles.device_id
    and telemetry.test_id = cycles.test_id
    and telemetry.cycle_number = cycles.cycle_number
