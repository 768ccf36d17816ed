-- Sensitive records (geo.Coarsened): coarse is the geometry viewers see
-- and filter on, every vertex at the centre of its 10 km cell; NULL for
-- every other record. A sensitive record's boxes are kept twice: its exact
-- ones for editors (viewers false), its coarse ones for viewers (editors
-- false); every other box serves both.
ALTER TABLE records ADD COLUMN coarse geometry(Geometry, 4326);
CREATE INDEX records_coarse_geog ON records USING gist ((coarse::geography)) WHERE coarse IS NOT NULL;
ALTER TABLE record_boxes ADD COLUMN editors boolean NOT NULL DEFAULT true, ADD COLUMN viewers boolean NOT NULL DEFAULT true;
