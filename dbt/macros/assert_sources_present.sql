{#-
  on-run-start: every source table must exist, and have columns the views can read; the telemetry tables must hold
  rows (a lab's metadata tables may still be empty: a warehouse of imported files alone builds). Fails naming the table,
  the column and the variable that sets it, before any view is (re)built, so a broken source leaves the views as they
  were. Columns the pulse-telemetry schemas define must have their kind of type (source_column_problems), and every
  column name must be a plain identifier: the views pass metadata columns on by name (pm__<column>, ...).
-#}
{% macro assert_sources_present() %}
    {%- if not execute or flags.WHICH not in ('build', 'run') -%}
        {{ return('') }}
    {%- endif -%}
    {%- set problems = [] -%}
    {%- for node in graph.sources.values() -%}
        {%- set relation = adapter.get_relation(node.database, node.schema, node.identifier) -%}
        {%- set where = node.database ~ '.' ~ node.schema ~ '.' ~ node.identifier -%}
        {%- if relation is none -%}
            {%- do problems.append("source table " ~ where ~ " (" ~ node.name ~ ") does not exist") -%}
        {%- else -%}
            {%- set result = run_query('select 1 from ' ~ relation ~ ' limit 1') -%}
            {%- if result | length == 0 and node.source_name == 'pulse_telemetry' -%}
                {%- do problems.append("source table " ~ where ~ " (" ~ node.name ~ ") is empty") -%}
            {%- elif result | length == 0 -%}
                {{ log("note: metadata table " ~ where ~ " (" ~ node.name ~ ") is empty: the views leave its columns null, and Lab operations lists the tests missing it", info=True) }}
            {%- endif -%}
            {%- for problem in source_column_problems(relation, node.source_name == 'pulse_telemetry') -%}
                {%- do problems.append("source table " ~ where ~ " (" ~ node.name ~ ") " ~ problem) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if problems -%}
        {{ exceptions.raise_compiler_error(problems | join('; ') ~ ". Fix the table, or point PULSE_ANALYTICS_<NAME>_TABLE / _CATALOG / _SCHEMA at the right one.") }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}

{#-
  What is wrong with a source table's columns, one sentence each. The kinds follow the pulse-telemetry schemas:
  in the telemetry tables, measurements (a name with a unit after a double underscore, e.g. voltage__V) are numbers;
  in every table, cycle, step and record numbers are integers, times are timestamps, step types are text. Device,
  test, recipe and part ids may be text, integers (a LIMS's serial keys) or UUIDs: the source views give them one type,
  text (macros/select_lowercase.sql), so joins and dashboards work the same; a number with a fraction, a time or a
  nested value cannot be an identifier. The lab's own metadata columns may have any type. A type of another kind
  would make the views compare or sum text (max('n/a') > max(4.2)), so it fails here instead.
-#}
{% macro source_column_problems(relation, is_telemetry) %}
    {%- set integer_columns = ['cycle_number', 'step_number', 'record_number', 'step_id', 'num_records'] -%}
    {%- set time_columns = ['timestamp', 'start_time', 'end_time', 'update_ts'] -%}
    {%- set problems = [] -%}
    {%- for column in columns_of(relation) -%}
        {%- set name = column.name | lower -%}
        {%- set kind = column_kind(column) -%}
        {%- set expected = none -%}
        {%- if not modules.re.match('^[a-z_][a-z0-9_]*$', name) -%}
            {%- do problems.append('column "' ~ column.name ~ '": name it with letters, digits and underscores only (e.g. ' ~ modules.re.sub('[^a-z0-9_]+', '_', name).strip('_') ~ ')') -%}
        {%- elif name in integer_columns -%}
            {%- set expected = 'an integer' if kind != 'integer' -%}
        {%- elif name in time_columns -%}
            {%- set expected = 'a timestamp' if kind != 'timestamp' -%}
        {%- elif name in id_columns() -%}
            {%- set expected = 'text, an integer or a UUID (an identifier)' if kind not in ('text', 'integer', 'uuid') -%}
        {%- elif name == 'step_type' -%}
            {%- set expected = 'text (varchar)' if kind != 'text' -%}
        {%- elif is_telemetry and '__' in name -%}
            {%- set expected = 'a number' if kind not in ('number', 'integer') -%}
        {%- endif -%}
        {%- if expected -%}
            {%- do problems.append('column ' ~ column.name ~ ' is ' ~ column.dtype ~ ', expected ' ~ expected) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(problems) }}
{% endmacro %}
