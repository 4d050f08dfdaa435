{#-
  The kind of a column's type as DuckDB or Trino names it (DuckDB: INTEGER, VARCHAR, DECIMAL(18,3); Trino: integer,
  varchar(255), decimal(18,3), timestamp(6) with time zone): text, integer (a decimal without fraction digits too),
  number, timestamp, uuid, or other. One place, so the source contracts and the source views agree.
-#}
{% macro column_kind(column) %}
    {%- set dtype = column.dtype | lower | replace(' with time zone', '') -%}
    {%- set base = dtype.split('(')[0].strip() -%}
    {%- set decimal_digits = modules.re.search(',\\s*(\\d+)\\s*\\)', dtype) -%}
    {%- if base in ('varchar', 'char', 'text', 'string', 'character varying', 'character') -%}
        {{ return('text') }}
    {%- elif base in ('tinyint', 'smallint', 'integer', 'int', 'bigint', 'hugeint', 'utinyint', 'usmallint', 'uinteger', 'ubigint', 'uhugeint') -%}
        {{ return('integer') }}
    {%- elif base in ('decimal', 'numeric') and decimal_digits and decimal_digits.group(1) == '0' -%}
        {{ return('integer') }}
    {%- elif base in ('double', 'real', 'float', 'decimal', 'numeric') -%}
        {{ return('number') }}
    {%- elif base.startswith('timestamp') -%}
        {{ return('timestamp') }}
    {%- elif base == 'uuid' -%}
        {{ return('uuid') }}
    {%- endif -%}
    {{ return('other') }}
{% endmacro %}

{#- The identifiers that join telemetry to the lab's metadata: text in every source view, whatever the table holds. -#}
{% macro id_columns() %}
    {{ return(['device_id', 'test_id', 'recipe_id', 'part_id']) }}
{% endmacro %}
