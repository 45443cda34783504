-- The allocation's temporary tables, dropped inside its transaction before the commit: a temp
-- table with deleted rows that lives until the commit costs the commit seconds per million rows.
drop table if exists split_rows;
drop table if exists split_taken;
drop table if exists split_part_amounts;
drop table if exists split_lineages;
drop table if exists split_candidates;
drop table if exists split_weights;
drop table if exists allocation_profile_answers;
drop table if exists allocation_profiles;
