-- Voltage against capacity through each cycle's charge and its discharge, downsampled by capacity: the records of the
-- cycle's charge steps (discharge steps), in record order, with the capacity charged (discharged) so far in the cycle;
-- the direction's capacity is cut into voltage_curve_points (dbt var, 100) equal slices and each slice holding
-- records gives one point, the mean capacity and mean voltage of its records. Slices by capacity, not by time, keep a
-- curve's shape: a long constant-voltage tail (much time, little capacity) becomes a few points, a steep knee keeps
-- its own. Rest records carry no capacity and are left out. The slice is taken after rounding to 9 decimals: records
-- of equal capacity put slice edges exactly on records, where the last bit of a running sum (whose order of
-- additions differs between engines) would otherwise decide the slice.
-- Windows and groups run over the cycle's key with its part columns (int_cycle_records), so a filter on test, cycle,
-- part or overlay reaches the telemetry scan.
{%- set cycle_key = 'device_id, test_id, cycle_number, part_id, team, part_cycle_number, test_purpose, curve_overlay' %}
with records as (
    select
        {{ cycle_key }},
        record_number,
        voltage__v,
        case when step_type = 'Charge' then 'charge' else 'discharge' end as direction,
        case when step_type = 'Charge' then capacity_charged__ah else capacity_discharged__ah end as capacity__ah
    from {{ ref('int_cycle_records') }}
    where step_type in ('Charge', 'Discharge')
),

through_cycle as (
    select
        {{ cycle_key }},
        direction,
        voltage__v,
        sum(coalesce(capacity__ah, 0)) over (
            partition by {{ cycle_key }}, direction order by record_number
            rows between unbounded preceding and current row
        ) as cycle_capacity__ah,
        sum(coalesce(capacity__ah, 0)) over (partition by {{ cycle_key }}, direction) as direction_capacity__ah
    from records
),

points as (
    select
        {{ cycle_key }},
        direction,
        least(
            cast(floor(round(
                {{ var('voltage_curve_points') }} * cycle_capacity__ah / direction_capacity__ah, 9
            )) as integer),
            {{ var('voltage_curve_points') }} - 1
        ) as curve_point,
        count(*) as records,
        avg(cycle_capacity__ah) as capacity__ah,
        avg(voltage__v) as voltage__v
    from through_cycle
    where direction_capacity__ah > 0
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10  -- the cycle's key, direction, curve_point
)

select
    device_id,
    test_id,
    cycle_number,
    part_id,
    team,
    part_cycle_number,
    test_purpose,
    curve_overlay,
    direction,
    curve_point,
    records,
    capacity__ah,
    voltage__v
from points
