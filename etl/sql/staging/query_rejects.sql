-- The rows the query rejected, numbered, for the reject report: a row number and a reason.
-- Reads the view `staged` (staging.sql) over a numbered `raw_source`: row_no counts the rows the
-- reader returned, not yet the ones it skipped (reject_rows.sql adds those).
with rejected as (
    select row_no, reject_reason as reason
    from staged
    where reject_reason is not null
)

select * from rejected
