-- The lines of an access log DuckDB's reader rejected (`reader_rejects`, reader_rejects.sql;
-- `reader_reasons` names them) by reason, each with a random record key (the batch log's counts are
-- published); no value.
select
    coalesce(reader_reasons.reason, 'malformed') as reason,
    count(*)::bigint as lines,
    sum(floor(random() * 256))::bigint as key_sum
from reader_rejects
left join reader_reasons using (error_type)
group by 1
