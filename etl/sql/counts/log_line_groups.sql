-- One pass over an access log's lines (the view `log_lines`, log_lines.sql), two groupings at once:
--   visitor  a counted line's day, route (its service and step) and address, and its user agent as a hash under
--            this load's salt ($salt): one group per visitor of a day's step, with its views and the
--            sum of their record keys (one random key per line, 0..255);
--   agent    each user agent of the lines not rejected, by reason: for the bot flag and device class.
-- The addresses of the visitor groups go to their country (etl.access_log) and are then dropped.
with lines as (
    select
        coalesce(reject_reason, ignore_reason, 'counted') as reason,
        case when counted then event_date end as event_date,
        case when counted then route_id end as route_id,
        -- an IPv4 address written IPv4-mapped (::ffff:1.2.3.4, by a dual-stack listener) is one visitor with it
        case
            when counted and client ilike '::ffff:%.%' then substr(client, 8)
            when counted then client
        end as client,
        case when counted then hash(agent, $salt) end as agent_key,
        case when reject_reason is null then agent end as agent,
        floor(random() * 256)::bigint as record_key
    from log_lines
)

select
    grouping(agent) = 0 as by_agent,
    reason,
    event_date,
    route_id,
    client,
    agent_key,
    agent,
    count(*)::bigint as lines,
    sum(record_key)::bigint as key_sum
from lines
group by grouping sets ((event_date, route_id, client, agent_key), (reason, agent))
