-- Every telemetry record once, with its test's recipe, the device and recipe metadata, and the cell temperature: the
-- auxiliary value under the key dbt var temperature_auxiliary_key names (temperature__C, the BDF importer's and the
-- demo's key for the cell's first temperature sensor).
with records as (
    {{ with_test_metadata(ref('telemetry')) }}
)

select
    records.*,
    {{ map_value('records.auxiliary', var('temperature_auxiliary_key')) }} as temperature__c
from records
