-- The source table with column names lower case on every engine, one row per device_id and test_id (a key written twice
-- keeps its first row by the other columns: macros/select_lowercase.sql).
{{ select_lowercase(source('lab_metadata', 'device_test_part'), one_row_per=['device_id', 'test_id']) }}
