-- The distinct addresses of an access log's counted lines (`line_groups`, log_line_groups.sql),
-- for etl.access_log to place in a country.
select distinct client
from line_groups
where not by_agent and client is not null
