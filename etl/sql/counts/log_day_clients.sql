-- The distinct addresses of the people's lines of the days before $cutoff (`visitor_lines`,
-- log_batch_visitors.sql), for etl.access_log to place in a country.
select distinct client
from visitor_lines
where event_date < $cutoff
