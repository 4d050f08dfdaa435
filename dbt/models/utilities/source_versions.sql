-- One row per source table with the version of its content, and one for the views themselves (the id of the dbt
-- build that made them). Superset's data cache on Trino files every chart result under these rows and looks them up
-- again for every request, so a result is never served once any of them changed: a commit to a telemetry table, a
-- table a load put in its place, an edited metadata row, a new build of the views (src/pulse_analytics/superset/
-- data_cache.py). On DuckDB the cache follows the warehouse files instead; this view is built there too.
{%- set telemetry_tables = ['telemetry', 'statistics_step', 'statistics_cycle'] %}
{%- set metadata_tables = ['device_metadata', 'recipe_metadata', 'device_test_recipe', 'part_metadata', 'device_test_part'] %}
{% for name in telemetry_tables %}
select '{{ name }}' as source_table, {{ snapshot_version(source('pulse_telemetry', name)) }} as version
union all
{% endfor %}
{%- for name in metadata_tables %}
select '{{ name }}' as source_table, {{ rows_version(source('lab_metadata', name)) }} as version
union all
{% endfor %}
select 'views' as source_table, '{{ invocation_id }}' as version
