-- A batch of an access log's lines (`log_batch`, log_stream.sql) by reason, with the sum of their
-- record keys: `counted`, or why not. A line from a crawler or a script (`agent_classes`) is `bot`,
-- whatever it asked for, unless rejected or a health check.
select
    case
        when log_batch.reason in ('counted', 'other_method_or_status', 'asset', 'other_page') and agent_classes.is_bot
            then 'bot'
        else log_batch.reason
    end as reason,
    count(*)::bigint as lines,
    sum(log_batch.record_key)::bigint as key_sum
from log_batch
left join agent_classes using (agent_key)
group by 1
