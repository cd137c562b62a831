-- The distinct user agents of an access log's lines that were not rejected (`line_groups`,
-- log_line_groups.sql), for etl.access_log to flag crawlers and class devices.
select distinct agent
from line_groups
where by_agent and agent is not null
