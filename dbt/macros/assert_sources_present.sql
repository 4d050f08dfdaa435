{#-
  on-run-start: every source table must exist and hold rows. Fails naming the table and the variable that sets it,
  before any view is (re)built, so a broken configuration leaves the analytics catalog as it was.
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
            {%- if result | length == 0 -%}
                {%- do problems.append("source table " ~ where ~ " (" ~ node.name ~ ") is empty") -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if problems -%}
        {{ exceptions.raise_compiler_error(problems | join('; ') ~ ". Load it, or point PULSE_ANALYTICS_<NAME>_TABLE / _CATALOG / _SCHEMA at the right table.") }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}
