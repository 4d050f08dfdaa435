-- One row per test and UTC day with telemetry records: how many, the first and the last of the day, with the test's
-- recipe and the device and recipe metadata. The records are counted before they meet the metadata, so a question
-- about activity (when did each device last record, how much per day) reads one grouped scan of telemetry, not a
-- join per record: at 10M rows on the native Trino cluster, Lab operations' two activity charts took 3.6 and 5.5 s
-- through test_telemetry.
with days as (
    select
        device_id,
        test_id,
        cast("timestamp" as date) as record_date,
        count(*) as records,
        min("timestamp") as first_record_time,
        max("timestamp") as last_record_time
    from {{ ref('telemetry') }}
    group by device_id, test_id, cast("timestamp" as date)
)

{{ with_test_metadata('days') }}
