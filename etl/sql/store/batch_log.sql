-- The batch log of a published store, oldest first, its times as Korea time text.
-- Reads the table `batches`. Parameter $timezone: contract.TIMEZONE.
with batches_in_korea_time as (
    select * replace (
        strftime(timezone($timezone, loaded_at), '%Y-%m-%d %H:%M:%S') as loaded_at,
        strftime(timezone($timezone, source_destroyed_at), '%Y-%m-%d %H:%M:%S') as source_destroyed_at
    )
    from batches
)

select * from batches_in_korea_time
order by batch_id
