-- Normalized rows (the view `staged`, staging.sql) -> counts by cell: the table `file_counts`.
-- Rejected rows are counted by reason only: their dimensions are dropped.
select
    case when reject_reason is null then event_date end as event_date,
    case when reject_reason is null then feature end as feature,
    case when reject_reason is null then country end as country,
    case when reject_reason is null then gender end as gender,
    case when reject_reason is null then age_group end as age_group,
    reject_reason,
    count(*) as visits
from staged
group by all
