-- Per partition and target, the weight a split gives the target (filled per split).
-- grain: one row per (partition, target)
create or replace temp table split_weights (
    partition_key VARCHAR not null,       -- the `within` columns' values (proportional: and the
                                          -- currency), joined; '' = the period
    target VARCHAR not null,
    weight DOUBLE not null,
    quantity DECIMAL(38, 18)              -- usage splits: the driver quantity
)
