-- Row numbers of rejected rows, for the reject report: a row number and a reason, nothing else.
-- `query_rejects` (query_rejects.sql: row_no counted among the rows the reader returned, reason)
-- and `reader_rejects` (reader_rejects.sql: row_no in the file, error_type) are this file's two
-- kinds of rejects; `reader_reasons` maps DuckDB's error types to ours.
-- Parameter $other_error: the reason for any other error.
with numbered as (
    select
        row_no,
        row_no - row_number() over (order by row_no) as good_before,
        row_number() over (order by row_no) as skipped_so_far
    from reader_rejects
),

-- rows the reader skipped leave gaps that the rows after them must count
steps as (
    select good_before, max(skipped_so_far) as skipped
    from numbered
    group by good_before
),

from_query as (
    select query_rejects.row_no + coalesce(steps.skipped, 0) as row_no, query_rejects.reason
    from query_rejects
    asof left join steps on query_rejects.row_no > steps.good_before
),

from_reader as (
    select reader_rejects.row_no, coalesce(reader_reasons.reason, $other_error) as reason
    from reader_rejects
    left join reader_reasons using (error_type)
)

select row_no as row, reason from from_reader
union all
select row_no, reason from from_query
order by row
