-- The source table with column names lower case on every engine, one row per recipe_id (a key written twice
-- keeps its first row by the other columns: macros/select_lowercase.sql).
{{ select_lowercase(source('lab_metadata', 'recipe_metadata'), one_row_per=['recipe_id']) }}
