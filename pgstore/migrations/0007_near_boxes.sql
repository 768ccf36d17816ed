-- Corridor filters find their candidates through the boxes' GiST index
-- (record_boxes), as bbox filters do, and then measure them: the
-- geography indexes, which every write kept up to date, go.
DROP INDEX IF EXISTS records_geog;
DROP INDEX IF EXISTS records_coarse_geog;
