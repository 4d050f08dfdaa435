-- Every telemetry record once, with its test's recipe and the device and recipe metadata.
{{ with_test_metadata(ref('telemetry')) }}
