-- Sensitive records: the boxes of their coarse geometry (geo.Coarsened),
-- id = rid*2 + part as in boxes. A record is sensitive when it has an
-- entry here. Viewers' spatial filters read these instead of the exact
-- boxes of the same records.
CREATE VIRTUAL TABLE coarse_boxes USING rtree(id, minx, maxx, miny, maxy, +x0 REAL, +x1 REAL, +y0 REAL, +y1 REAL);
