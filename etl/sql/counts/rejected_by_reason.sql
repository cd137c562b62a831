-- Rejected rows counted by reason, for the batch log and the operator; no row number, no value.
-- Reads `file_counts` (file_counts.sql: the rows the query rejected, by reason), `reader_rejects`
-- (reader_rejects.sql: the rows DuckDB's reader rejected, by error type) and `reader_reasons`
-- (DuckDB's error types -> our reasons). Parameter $other_error: the reason for any other error.
-- Each rejected row has a random record key too (the batch log's counts are published): the query's
-- from file_counts, the reader's drawn here.
with query_rejected as (
    select reject_reason as reason, visits, key_sum
    from file_counts
    where reject_reason is not null
),

reader_rejected as (
    select
        coalesce(reader_reasons.reason, $other_error) as reason,
        1 as visits,
        floor(random() * 256)::bigint as key_sum
    from reader_rejects
    left join reader_reasons using (error_type)
),

by_reason as (
    select reason, sum(visits)::bigint as rejected, sum(key_sum)::bigint as key_sum
    from (
        select reason, visits, key_sum from query_rejected
        union all
        select reason, visits, key_sum from reader_rejected
    )
    group by reason
)

select * from by_reason
order by reason
