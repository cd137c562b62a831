-- The one-row table `load_params`: the bounds staging.sql checks dates against.
-- Parameters from contract: $earliest_event_date, $latest_event_date (tomorrow in Korea: a
-- submission a day ahead of Korea's calendar is clock skew; further is corruption) and
-- $earliest_birth_date.
with bounds as (
    select
        $earliest_event_date::date as earliest_event_date,
        $latest_event_date::date as latest_event_date,
        $earliest_birth_date::date as earliest_birth_date
)

select * from bounds
