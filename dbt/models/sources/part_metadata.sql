-- The source table with column names lower case on every engine, one row per part_id (a key written twice
-- keeps its first row by the other columns: macros/select_lowercase.sql). Its team (access/teams.yaml) is null where the
-- table has no team column.
{{ select_lowercase(source('lab_metadata', 'part_metadata'), one_row_per=['part_id'], text_columns=['team']) }}
