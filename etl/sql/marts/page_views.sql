-- The public table `page_views` (contract.PAGE_VIEWS_COLUMNS): page views and visitors by cell over
-- every access-log batch of the store. Reads `page_view_batch_counts` (one row per batch and cell).
-- Visitors add up across batches: a visitor in two logs of one day counts twice (docs/privacy.md).
-- Sorted by date, so that the dashboard's date filters skip whole row groups.
with batch_cells as (
    select
        event_date, feature, step, country, device, views, views_key_sum, visitors, visitors_key_sum
    from page_view_batch_counts
),

cells as (
    select
        -- the dimensions, contract.PAGE_VIEW_DIMENSIONS
        event_date,
        feature,
        step,
        country,
        device,
        -- the counts, each with the sum of its record keys (the cell key method)
        sum(views)::bigint as views,
        sum(views_key_sum)::bigint as views_key_sum,
        sum(visitors)::bigint as visitors,
        sum(visitors_key_sum)::bigint as visitors_key_sum
    from batch_cells
    group by all
)

select * from cells
order by event_date, feature, step, country, device
