-- The line items each split may take, flagged while the period's rows are tagged.
-- grain: one row per (split, line item)
create or replace temp table split_candidates (
    split_index INTEGER not null,
    x_source VARCHAR not null,
    x_line_item_id BIGINT not null
)
