-- A batch of an access log's lines (`log_batch`, log_stream.sql) by reason, with the sum of their
-- record keys: `counted`, or why not. A line from a crawler or a script (`agent_classes`) is `bot`,
-- whatever it asked for, unless rejected or a health check.
with by_agent as (
    -- grouped before the join: a few reasons and user agents, however many lines
    select reason, agent_key, count(*) as lines, sum(record_key) as key_sum
    from log_batch
    group by all
)

select
    case
        when by_agent.reason in ('counted', 'other_method_or_status', 'asset', 'other_page') and agent_classes.is_bot
            then 'bot'
        else by_agent.reason
    end as reason,
    sum(by_agent.lines)::bigint as lines,
    sum(by_agent.key_sum)::bigint as key_sum
from by_agent
left join agent_classes using (agent_key)
group by 1
