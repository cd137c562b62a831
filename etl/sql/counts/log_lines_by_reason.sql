-- An access log's lines by reason, for the batch log and the operator: `counted`, or why not; no
-- value. Reads the `agent` groups of `line_groups` (log_line_groups.sql), `agent_classes` and the
-- lines DuckDB's reader rejected (`reader_rejects`, reader_rejects.sql; `reader_reasons` names them).
-- A line from a crawler or a script is `bot`, whatever it asked for, unless rejected or a health check.
-- Each line's random record key is summed too (the batch log's counts are published).
with agent_lines as (
    select
        case
            when line_groups.reason in ('counted', 'other_method_or_status', 'asset', 'other_page') and agent_classes.is_bot
                then 'bot'
            else line_groups.reason
        end as reason,
        line_groups.lines,
        line_groups.key_sum
    from line_groups
    left join agent_classes using (agent)
    where line_groups.by_agent
),

reader_lines as (
    select
        coalesce(reader_reasons.reason, 'malformed') as reason,
        1 as lines,
        floor(random() * 256)::bigint as key_sum
    from reader_rejects
    left join reader_reasons using (error_type)
)

select reason, sum(lines)::bigint as lines, sum(key_sum)::bigint as key_sum
from (
    select * from agent_lines
    union all
    select * from reader_lines
)
group by reason
order by reason
