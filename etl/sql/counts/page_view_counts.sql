-- Page views and visitors by cell (contract.PAGE_VIEWS_COLUMNS), from the visitor groups of
-- `line_groups` (log_line_groups.sql), each placed by its address's country (`client_countries`, keyed
-- by the address's hash under this load's salt) and its user agent's device class (`agent_classes`);
-- crawlers and scripts are left out.
-- A group is one visitor: visitors counts groups. A visitor's record key is drawn from its address
-- and user agent under this load's salt ($salt), uniform in 0..255; only its sum per cell leaves here.
with agents as (
    select hash(agent, $salt) as agent_key, is_bot, device
    from agent_classes
),

visitors as (
    select
        line_groups.event_date,
        route_steps.feature,
        route_steps.route_step as step,
        client_countries.country::varchar as country,
        agents.device,
        line_groups.lines,
        line_groups.key_sum,
        hash(line_groups.client, line_groups.agent_key, $salt) % 256 as visitor_key
    -- in this order, each join's hash table on its right side (etl.access_log runs this query with
    -- DuckDB's join reordering off): the addresses' hashes and countries, never the wider visitor groups
    from line_groups
    inner join client_countries on client_countries.client_key = hash(line_groups.client, $salt)
    inner join agents using (agent_key)
    inner join route_steps using (route_id)
    where not line_groups.by_agent and line_groups.route_id is not null and not agents.is_bot
)

select
    -- the dimensions, contract.PAGE_VIEW_DIMENSIONS
    event_date,
    feature,
    step,
    country,
    device,
    -- the counts, each with the sum of its record keys
    sum(lines)::bigint as views,
    sum(key_sum)::bigint as views_key_sum,
    count(*)::bigint as visitors,
    sum(visitor_key)::bigint as visitors_key_sum
from visitors
group by all
order by all
