-- A batch's counted lines from people, not crawlers or scripts (`log_batch`, log_stream.sql;
-- `agent_classes`): each line's day, route (a service and step), address, user agent's hash and
-- device class, and its record key. They wait in `visitor_lines` until their day is counted
-- (page_view_counts.sql).
select
    log_batch.event_date,
    log_batch.route_id,
    log_batch.client,
    log_batch.agent_key,
    agent_classes.device,
    log_batch.record_key
from log_batch
inner join agent_classes using (agent_key)
where log_batch.reason = 'counted' and not agent_classes.is_bot
