-- Normalized rows (the view `staged`, staging.sql) -> counts by cell: the table `file_counts`.
-- Rejected rows are counted by reason only: their dimensions are dropped.
-- Each row gets a random record key, uniform in 0..255 (contract.RECORD_KEY_MAX), for the cell key
-- method; only its sum per cell leaves this query, never a row's own key.
select
    case when reject_reason is null then event_date end as event_date,
    case when reject_reason is null then feature end as feature,
    case when reject_reason is null then country end as country,
    case when reject_reason is null then gender end as gender,
    case when reject_reason is null then age_group end as age_group,
    reject_reason,
    count(*) as visits,
    sum(floor(random() * 256))::bigint as key_sum
from staged
group by all
