-- Page views and visitors by cell (contract.PAGE_VIEWS_COLUMNS) of the days before $cutoff, from the
-- people's lines read so far (`visitor_lines`, log_batch_visitors.sql) and their addresses' countries
-- (`day_countries`). A visitor is a day's route (a service and step), address and user agent: its
-- lines are its views. A visitor's record key is drawn from its address and user agent under this
-- load's salt ($salt), uniform in 0..255; only its sum per cell leaves here.
with visitors as (
    select
        event_date,
        route_id,
        client,
        agent_key,
        any_value(device) as device,  -- one user agent, one device class
        count(*) as lines,
        sum(record_key) as key_sum
    from visitor_lines
    where event_date < $cutoff
    group by event_date, route_id, client, agent_key
)

select
    -- the dimensions, contract.PAGE_VIEW_DIMENSIONS
    visitors.event_date,
    route_steps.feature,
    route_steps.route_step as step,
    day_countries.country,
    visitors.device,
    -- the counts, each with the sum of its record keys
    sum(visitors.lines)::bigint as views,
    sum(visitors.key_sum)::bigint as views_key_sum,
    count(*)::bigint as visitors,
    sum(hash(visitors.client, visitors.agent_key, $salt) % 256)::bigint as visitors_key_sum
from visitors
inner join day_countries using (client)
inner join route_steps using (route_id)
group by all
