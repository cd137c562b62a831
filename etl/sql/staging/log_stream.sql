-- An access log's lines (`log_lines`, log_lines.sql) as etl.access_log reads them: in the file's
-- order, a batch at a time. Of each line: why it is not counted ('counted' when it is), its day and
-- route (its service and step) and its address when counted, its user agent when not rejected (the
-- text, for the bot flag and device class of an agent not seen before, and its hash under this load's
-- salt, $salt), a random record key (0..255) and its length in bytes.
select
    coalesce(reject_reason, ignore_reason, 'counted') as reason,
    case when counted then event_date end as event_date,
    case when counted then route_id end as route_id,
    -- an IPv4 address written IPv4-mapped (::ffff:1.2.3.4, by a dual-stack listener) is one visitor with it
    case
        when counted and client ilike '::ffff:%.%' then substr(client, 8)
        when counted then client
    end as client,
    case when reject_reason is null then hash(agent, $salt) end as agent_key,
    case when reject_reason is null then agent end as agent,
    floor(random() * 256)::utinyint as record_key,
    line_bytes
from log_lines
