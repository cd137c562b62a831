-- The user agents of a batch of an access log's lines (`log_batch`, log_stream.sql) not seen before in
-- this load (`agent_classes`), one text each, for etl.access_log to flag crawlers and class devices.
select agent_key, any_value(agent) as agent
from log_batch
anti join agent_classes using (agent_key)
where agent_key is not null
group by agent_key
