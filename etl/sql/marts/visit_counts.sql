-- The public table `visit_counts` (DESIGN.md): counts by cell over every batch of the store.
-- Reads `batch_counts` (one row per batch and cell). Sorted by date, so that the dashboard's
-- date filters skip whole row groups.
with batch_cells as (
    select event_date, feature, country, gender, age_group, visits, key_sum
    from batch_counts
),

cells as (
    select
        -- the dimensions, contract.DIMENSIONS
        event_date,
        feature,
        country,
        gender,
        age_group,
        -- the count, and the sum of its record keys (the cell key method)
        sum(visits)::bigint as visits,
        sum(key_sum)::bigint as key_sum
    from batch_cells
    group by all
)

select * from cells
order by event_date, feature, country, gender, age_group
