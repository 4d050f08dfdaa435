{#-
  test_statistics_cycle's columns, from a row of with_test_metadata(statistics_cycle) (cycles) and its int_cycles row
  (cycle_facts): one list for test_statistics_cycle and part_statistics_cycle, which joins int_cycles once for its
  own windows and for these columns.
-#}
{% macro cycle_columns(cycles, cycle_facts) %}
    {{ cycles }}.*,
    {{ cycles }}.discharge_capacity__ah / nullif({{ cycles }}.charge_capacity__ah, 0) as coulombic_efficiency,
    {{ cycles }}.discharge_energy__wh / nullif({{ cycles }}.charge_energy__wh, 0) as energy_efficiency,
    {{ cycle_facts }}.cumulative_throughput__ah,
    {{ cycle_facts }}.cumulative_throughput__wh,
    {{ cycle_facts }}.cycle_kind,
    {{ cycle_facts }}.test_purpose,
    {{ cycle_facts }}.curve_overlay
{%- endmacro %}
