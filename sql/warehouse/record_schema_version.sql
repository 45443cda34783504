-- Record that the warehouse reached a schema version (in the transaction that got it there).
insert into schema_version (version, name, applied_at, costalloc_version)
values ($version, $name, now(), $costalloc_version)
