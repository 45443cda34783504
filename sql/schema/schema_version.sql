-- The schema version of this warehouse: one row per version it was created at or migrated to;
-- the highest is current. Written by warehouse/migrations.py in the same transaction as the
-- change it records (docs/warehouse.md).
-- grain: one row per version
create table if not exists schema_version (
    version INTEGER primary key,
    name VARCHAR not null,                -- the migration's name; `created` for a new warehouse
    applied_at TIMESTAMPTZ not null,
    costalloc_version VARCHAR not null    -- the costalloc release that wrote the row
)
