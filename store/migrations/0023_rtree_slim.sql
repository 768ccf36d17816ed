-- The R*Tree of the exact boxes keeps its 32-bit boxes only: the exact
-- float64 box, which the final test of a search needs for the few entries
-- within a 32-bit step of the query's edge, is worked out from the
-- record's geometry (nexus_box_meets and the functions beside it in
-- store/box.go). The auxiliary columns took two thirds of the tree's room.
-- coarse_boxes, a few entries, keeps its own.
CREATE VIRTUAL TABLE boxes_slim USING rtree(id, minx, maxx, miny, maxy);
INSERT INTO boxes_slim (id, minx, maxx, miny, maxy) SELECT id, minx, maxx, miny, maxy FROM boxes;
DROP TABLE boxes;
ALTER TABLE boxes_slim RENAME TO boxes;
