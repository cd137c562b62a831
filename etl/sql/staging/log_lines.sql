-- An access log's lines (the view `raw_log`: row_no, line) -> one row per line: the reason it is
-- rejected or not counted, else its Korea-time day and service step; and its address and user agent,
-- which etl.access_log reads a batch at a time (log_stream.sql) and keeps only as counts.
-- Macros log_fields, is_health_check, is_asset, route_of and route_step_of come from etl.access_log.
-- Parameters: $earliest and $latest, the days a line may have.
with parsed as (
    select row_no, log_fields(line) as field, strlen(line) as line_bytes
    from raw_log
),

typed as (
    select
        row_no,
        line_bytes,
        field.client as client,
        field.agent as agent,
        field.method as method,
        field.path as path,  -- without its query string, which is never captured
        try_cast(field.status as integer) as status,
        -- the line's own offset, then the day in Korea (the connection's time zone); an offset no time zone
        -- has (beyond -1200 to +1400, or 60 minutes and more), which strptime takes, is a corrupt time
        case
            when regexp_full_match(right(field.stamp, 5), '-(?:0[0-9]|1[01])[0-5][0-9]|-1200|\+(?:0[0-9]|1[0-3])[0-5][0-9]|\+1400')
                then try_strptime(field.stamp, '%d/%b/%Y:%H:%M:%S %z')::date
        end as event_date
    from parsed
),

routed as (
    select typed.*, route_of(path) as route_id, route_step_of(route_of(path)) as route_step
    from typed
),

classified as (
    select
        row_no,
        line_bytes,
        client,
        agent,
        event_date,
        route_id,
        route_step,
        case
            when client = '' then 'malformed'
            when event_date is null then 'bad_timestamp'
            when event_date not between $earliest and $latest then 'date_out_of_range'
        end as reject_reason,
        case
            when is_health_check(path) then 'health_check'
            when route_step = 'view' and method = 'GET' and status between 200 and 299 then null
            when route_step = 'submit' and method = 'POST' and status between 200 and 399 then null
            when route_step is not null then 'other_method_or_status'
            when is_asset(path) then 'asset'
            else 'other_page'
        end as ignore_reason
    from routed
)

select
    row_no,
    reject_reason,
    ignore_reason,
    reject_reason is null and ignore_reason is null as counted,
    event_date,
    route_id,  -- the service and step (route_steps), as a small number
    client,
    agent,
    line_bytes  -- the line's length in bytes, without its end: how far the read is
from classified
