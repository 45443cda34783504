-- Rows of a delivery repeating another row's provider line-item identity (null: not checked).
alter table ingest_log add column duplicate_rows BIGINT
