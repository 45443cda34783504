-- Remove the rows a split took; its parts replace them.
delete from split_rows where rowid in (select allocated_row from split_taken)
