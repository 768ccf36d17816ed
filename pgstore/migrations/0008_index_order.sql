-- An index led by the collection, the same for nearly every row, is built
-- slowly: each comparison of its sort compares that text first. Led by
-- the column that tells rows apart, each of these builds in about half
-- the time after a load. Reads name every column of the kind and
-- external_id indexes with =, and the collection beside a time range.
DROP INDEX IF EXISTS records_time;
CREATE INDEX records_time ON records (t0, t1, collection);
DROP INDEX IF EXISTS records_kind;
CREATE INDEX records_kind ON records (kind, collection);
DROP INDEX IF EXISTS records_external;
CREATE UNIQUE INDEX records_external ON records (external_id, collection) WHERE external_id IS NOT NULL;
