-- 1:1 with the source table, column names lower case on every engine.
{{ select_lowercase(source('lab_metadata', 'device_test_recipe')) }}
