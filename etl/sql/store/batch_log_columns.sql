-- The columns of a store's batch log, in order, to tell whether this version of the ETL wrote it.
-- Reads the catalog. Parameter $catalog: an attached store's name, or null for the connection's own.
select column_name
from information_schema.columns
where table_name = 'batches'
    and table_catalog = coalesce($catalog, current_database())
order by ordinal_position
