-- The distinct addresses of a batch's counted lines (`log_batch`, log_stream.sql) from people, not
-- crawlers or scripts (`agent_classes`), for etl.access_log to place in a country.
select distinct log_batch.client
from log_batch
inner join agent_classes using (agent_key)
where log_batch.reason = 'counted' and not agent_classes.is_bot
