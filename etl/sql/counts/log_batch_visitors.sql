-- A batch's counted lines from people (`log_batch`, log_stream.sql; `agent_classes`) by visitor group:
-- a day, a route (a service and step), an address and a user agent's hash, with the address's country
-- (`batch_countries`) and the agent's device class. Its views and the sum of their record keys.
-- A group may come again in the next batch: page_view_counts.sql adds them up.
select
    log_batch.event_date,
    log_batch.route_id,
    batch_countries.country::country_code as country,
    agent_classes.device,
    log_batch.client,
    log_batch.agent_key,
    count(*)::bigint as lines,
    sum(log_batch.record_key)::bigint as key_sum
from log_batch
inner join agent_classes using (agent_key)
inner join batch_countries using (client)
where log_batch.reason = 'counted' and not agent_classes.is_bot
group by all
