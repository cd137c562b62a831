-- Page views and visitors by cell (contract.PAGE_VIEWS_COLUMNS) of the days before $cutoff, from the
-- visitor groups of an access log's batches read so far (`visitor_groups`, log_batch_visitors.sql).
-- A group is one visitor once the batches' parts of it are added up: visitors counts groups. A
-- visitor's record key is drawn from its address and user agent under this load's salt ($salt),
-- uniform in 0..255; only its sum per cell leaves here.
with visitors as (
    select
        event_date,
        route_id,
        country,
        device,
        client,
        agent_key,
        sum(lines) as lines,
        sum(key_sum) as key_sum
    from visitor_groups
    where event_date < $cutoff
    group by all
)

select
    -- the dimensions, contract.PAGE_VIEW_DIMENSIONS
    visitors.event_date,
    route_steps.feature,
    route_steps.route_step as step,
    visitors.country::varchar as country,
    visitors.device,
    -- the counts, each with the sum of its record keys
    sum(visitors.lines)::bigint as views,
    sum(visitors.key_sum)::bigint as views_key_sum,
    count(*)::bigint as visitors,
    sum(hash(visitors.client, visitors.agent_key, $salt) % 256)::bigint as visitors_key_sum
from visitors
inner join route_steps using (route_id)
group by all
