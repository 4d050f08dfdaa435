-- Every cycle once, with its test's recipe, the device and recipe metadata, and the cycle metrics of the test
-- (formulas in _marts.yml): coulombic and energy efficiency; and from int_cycles, where their windows run over narrow
-- rows: cumulative throughput within the test, whether the cycle is a full one, whether its test is a cycling or a
-- characterisation test, and whether the voltage-curve charts overlay it by default.
with cycles as (
    {{ with_test_metadata(ref('statistics_cycle')) }}
)

select
{{- cycle_columns('cycles', 'cycle_facts') }}
from cycles
left join {{ ref('int_cycles') }} as cycle_facts
    on cycles.device_id = cycle_facts.device_id
    and cycles.test_id = cycle_facts.test_id
    and cycles.cycle_number = cycle_facts.cycle_number
