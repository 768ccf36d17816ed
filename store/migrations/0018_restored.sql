-- A change that restored an earlier version names it: the history says
-- "restored version N". NULL for every other change.
ALTER TABLE changes ADD COLUMN restored INTEGER;
