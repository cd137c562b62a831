-- Raw text -> typed, normalized rows, one per raw row; nothing here is stored.
-- Reads the view `raw_source` (row_no, parse_error, submitted_at, feature, gender,
-- date_of_birth, residing_country: all VARCHAR), the lookup tables and the macros lookup_key and
-- birth_date (birth_date.sql).
-- Bounds come from the one-row table `load_params`.
with source as (
    select * from raw_source
),

keyed as (
    select
        row_no,
        parse_error,
        -- lookup keys are made as lookups.normalize_key makes them (the macro lookup_key):
        -- trimmed, lower case, whitespace runs as one space
        submitted_at,
        nullif(lookup_key(feature), '') as feature_key,
        lookup_key(gender) as gender_key,
        date_of_birth,
        lookup_key(residing_country) as country_key
    from source
),

typed as (
    select
        keyed.row_no,
        keyed.parse_error,
        keyed.submitted_at,
        keyed.feature_key is not null as has_feature,
        -- the session TimeZone is contract.TIMEZONE: a value without offset is read as Korea time.
        -- The plain cast first: trimming and the other formats cost time, and only the few
        -- values the cast refuses need them (coalesce reaches its second part for those alone)
        coalesce(
            try_cast(keyed.submitted_at as timestamptz),
            try_cast(trim(keyed.submitted_at, E' \t\r\n') as timestamptz)
        ) as submitted,
        birth_date(keyed.date_of_birth) as birth_date,  -- the macro of birth_date.sql
        feature_lookup.code as feature,
        coalesce(gender_lookup.code, 'unknown') as gender,
        coalesce(country_lookup.code, 'unknown') as country
    from keyed
    left join feature_lookup on feature_lookup.spelling = keyed.feature_key
    left join gender_lookup on gender_lookup.spelling = keyed.gender_key
    left join country_lookup on country_lookup.spelling = keyed.country_key
),

aged as (
    select
        typed.*,
        typed.submitted::date as event_date,  -- the Korea calendar date
        -- the writer's UTC offset in seconds: the time on its clock (a cast to timestamp drops the
        -- offset) less the instant; the site's own offset needs no check. Here, not in `typed`: a
        -- second trim of the same value in one select is computed once for every row, not lazily
        case when not ends_with(typed.submitted_at, '+09:00') then epoch(coalesce(
            try_cast(typed.submitted_at as timestamp),
            try_cast(trim(typed.submitted_at, E' \t\r\n') as timestamp)
        )) - epoch(typed.submitted) end as utc_offset,
        case
            -- whole years on the submission date; a birthday later in the year has not come yet
            when typed.birth_date between load_params.earliest_birth_date and typed.submitted::date
                then year(typed.submitted::date) - year(typed.birth_date)
                    - (month(typed.submitted::date) * 100 + day(typed.submitted::date)
                        < month(typed.birth_date) * 100 + day(typed.birth_date))::int
        end as age
    from typed
    cross join load_params
),

staged as (
    select
        aged.row_no,
        aged.event_date,
        aged.feature,
        aged.country,
        aged.gender,
        coalesce(age_lookup.age_group, 'unknown') as age_group,
        case
            when aged.parse_error is not null then aged.parse_error
            when aged.event_date is null and nullif(trim(aged.submitted_at, E' \t\r\n'), '') is null
                then 'missing_submitted_at'
            when aged.event_date is null then 'bad_submitted_at'
            when aged.event_date not between load_params.earliest_event_date and load_params.latest_event_date
                then 'submitted_at_out_of_range'
            -- UTC offsets run from -12:00 to +14:00; DuckDB takes any, and +25:00 moves the date
            when aged.utc_offset not between -12 * 3600 and 14 * 3600 then 'bad_submitted_at'
            when not aged.has_feature then 'missing_feature'
            when aged.feature is null then 'unknown_feature'
        end as reject_reason
    from aged
    cross join load_params
    left join age_lookup on age_lookup.age = aged.age
)

select * from staged
