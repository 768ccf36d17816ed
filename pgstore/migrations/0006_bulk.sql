-- Bulk loads write a record's boxes and keys in the transaction that
-- writes the record, and a delete removes them with it: the foreign keys,
-- which checked and locked the record for every box and key, go. The
-- planar index of geom goes too: box tests use record_boxes, distances the
-- geography index.
ALTER TABLE record_boxes DROP CONSTRAINT IF EXISTS record_boxes_rid_fkey;
ALTER TABLE record_keys DROP CONSTRAINT IF EXISTS record_keys_rid_fkey;
DROP INDEX IF EXISTS records_geom;
