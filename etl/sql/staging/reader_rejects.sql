-- The rows DuckDB's reader rejected, one per row: a row number and an error type, never the line.
-- Reads DuckDB's temporary table `csv_rejects` (one row per error; a row may have several).
-- Parameters: $header_lines (DuckDB counts lines of the file, a reader counts rows after the
-- header) and $line_too_long (DuckDB reports a line over its size limit in pieces, with too many
-- columns: the size is the error kept).
with errors as (
    select line, error_type::varchar as error_type
    from csv_rejects
),

by_row as (
    select
        line - $header_lines as row_no,
        coalesce(max(error_type) filter (where error_type = $line_too_long), min(error_type)) as error_type
    from errors
    group by line
)

select * from by_row
