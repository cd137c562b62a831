-- Normalized rows (the view `staged`, staging.sql) -> counts. A good row only adds to its cell; a rejected
-- row keeps its row number (and nothing else) for the reject report.
select
    -- dimensions are dropped for rejected rows: only the reason is kept
    case when reject_reason is null then event_date end as event_date,
    case when reject_reason is null then feature end as feature,
    case when reject_reason is null then country end as country,
    case when reject_reason is null then gender end as gender,
    case when reject_reason is null then age_group end as age_group,
    reject_reason,
    case when reject_reason is not null then row_no end as row_no,
    count(*) as visits
from staged
group by all
