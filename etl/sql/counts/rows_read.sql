-- Rows read from the file: every row the query counted, loaded or rejected (`file_counts`), and
-- every row DuckDB's reader rejected before the query could see it (`reader_rejects`).
with counted as (
    select coalesce(sum(visits), 0) as read_rows
    from file_counts
),

reader_rejected as (
    select count(*) as read_rows
    from reader_rejects
)

select counted.read_rows + reader_rejected.read_rows as rows_read
from counted
cross join reader_rejected
