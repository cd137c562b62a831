-- The distinct addresses of an access log's counted lines (`line_groups`, log_line_groups.sql) from
-- people, not crawlers or scripts (`agent_classes`; page_view_counts.sql leaves those out), for
-- etl.access_log to place in a country. $salt: this load's, under which line_groups hashed the agents.
select distinct line_groups.client
from line_groups
inner join agent_classes on hash(agent_classes.agent, $salt) = line_groups.agent_key
where not line_groups.by_agent and line_groups.client is not null and not agent_classes.is_bot
