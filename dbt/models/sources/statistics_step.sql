-- 1:1 with the source table, column names lower case on every engine (Trino's voltage__v is DuckDB's voltage__V).
{{ select_lowercase(source('pulse_telemetry', 'statistics_step')) }}
