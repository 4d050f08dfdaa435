-- dQ/dV (incremental capacity) of each cycle's charge and its discharge against voltage, on a fixed voltage grid the
-- same for every cycle and test: bins incremental_capacity_voltage_step (dbt var, 0.01 V) wide, from 0 V up.
-- The capacity a record charged (discharged) since the previous record of its cycle is spread evenly over the voltage
-- the cell moved through meanwhile, from the previous record's voltage to its own: voltage is
-- taken as linear in capacity between records, so sparse records do not leave empty bins between full ones (a record
-- that did not move the voltage puts all its capacity in its own bin). A bin's dQ/dV is its capacity over the bin
-- width: a voltage linear in capacity gives a constant dQ/dV, a plateau a peak at its voltage.
-- Smoothed: the capacity of the bins within incremental_capacity_smoothing_bins (2) on either side (bins without
-- capacity count as 0 Ah) over the width they span, a centred moving average.
-- The bin at the direction's cut-off (the charge's highest voltage bin, the discharge's lowest) is left out: a
-- constant-voltage phase piles its capacity there, a spike that is not the cell's dQ/dV.
-- Windows and groups run over the cycle's key with its part columns (int_cycle_records), so a filter on test, cycle,
-- part or overlay reaches the telemetry scan.
{%- set step = var('incremental_capacity_voltage_step') %}
{%- set smoothing = var('incremental_capacity_smoothing_bins') %}
{%- set cycle_key = 'device_id, test_id, cycle_number, part_id, team, part_cycle_number, test_purpose, curve_overlay' %}
with records as (
    select
        {{ cycle_key }},
        record_number,
        step_type,
        voltage__v,
        capacity_charged__ah,
        capacity_discharged__ah
    from {{ ref('int_cycle_records') }}
    where voltage__v is not null
),

-- The voltage span each charge (discharge) record's capacity was moved through: from the previous record of the
-- cycle (a rest's too: the first record after a rest carries the capacity of the jump away from it) to its own.
spans as (
    select
        {{ cycle_key }},
        case when step_type = 'Charge' then 'charge' else 'discharge' end as direction,
        coalesce(case when step_type = 'Charge' then capacity_charged__ah else capacity_discharged__ah end, 0)
            as capacity__ah,
        least(voltage__v, previous_voltage__v) as low__v,
        greatest(voltage__v, previous_voltage__v) as high__v
    from (
        select
            records.*,
            coalesce(
                lag(voltage__v) over (partition by {{ cycle_key }} order by record_number), voltage__v
            ) as previous_voltage__v
        from records
    ) as with_previous
    where step_type in ('Charge', 'Discharge')
),

-- Each span cut at the grid: the share of the record's capacity in each bin it crosses.
shares as (
    select
        {%- for column in cycle_key.split(', ') %}
        spans.{{ column }},
        {%- endfor %}
        spans.direction,
        grid.voltage_bin,
        case
            when spans.high__v = spans.low__v then spans.capacity__ah
            else spans.capacity__ah * (
                least(spans.high__v, (grid.voltage_bin + 1) * {{ step }})
                - greatest(spans.low__v, grid.voltage_bin * {{ step }})
            ) / (spans.high__v - spans.low__v)
        end as capacity__ah
    from spans
    cross join unnest({{ integer_series(
        'cast(floor(spans.low__v / ' ~ step ~ ') as bigint)',
        'cast(floor(spans.high__v / ' ~ step ~ ') as bigint)'
    ) }}) as grid (voltage_bin)
),

bins as (
    select
        {{ cycle_key }},
        direction,
        voltage_bin,
        sum(capacity__ah) as capacity__ah,
        max(voltage_bin) over (partition by {{ cycle_key }}, direction) as highest_bin,
        min(voltage_bin) over (partition by {{ cycle_key }}, direction) as lowest_bin
    from shares
    group by {{ cycle_key }}, direction, voltage_bin
),

smoothed as (
    select
        bins.*,
        sum(capacity__ah) over (
            partition by {{ cycle_key }}, direction order by voltage_bin
            range between {{ smoothing }} preceding and {{ smoothing }} following
        ) as window_capacity__ah
    from bins
    where voltage_bin <> case when direction = 'charge' then highest_bin else lowest_bin end
)

select
    {{ cycle_key }},
    direction,
    cast((voltage_bin + 0.5) * {{ step }} as double) as voltage__v,
    capacity__ah,
    capacity__ah / {{ step }} as incremental_capacity__ah_v,
    window_capacity__ah / ((2 * {{ smoothing }} + 1) * {{ step }}) as smoothed_incremental_capacity__ah_v
from smoothed
