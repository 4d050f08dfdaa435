{#-
  The rows of a test mart for tests linked to a part, with part_id, part_test_number (1 for the part's first test in
  time order, 2 for its second, ...) and every part_metadata column as pm__*. Rows of tests without a part are left out.
-#}
{% macro with_part_metadata(test_records) %}
select
    part_tests.part_id,
    part_tests.part_test_number,
    records.*,
    {{ prefixed_columns(ref('part_metadata'), 'part_metadata', 'pm__') }}
from {{ test_records }} as records
inner join {{ ref('int_part_tests') }} as part_tests
    on records.device_id = part_tests.device_id
    and records.test_id = part_tests.test_id
left join {{ ref('part_metadata') }} as part_metadata
    on part_tests.part_id = part_metadata.part_id
{% endmacro %}
