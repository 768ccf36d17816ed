-- Content hashes: an import skips a record whose content (everything but
-- id, version and times) hashes as the stored one, without decoding it.
-- NULL for rows written before hashes were kept; those are compared by
-- decoding, as before.
ALTER TABLE records ADD COLUMN hash BLOB;

-- Compact change log for bulk writes: the before and after Features of a run
-- of change-log entries of one import batch, deflated together. Each of
-- those entries keeps its own seq and row in changes, with before and after
-- NULL and (payload, part) saying where its Features are.
CREATE TABLE change_payloads (
  id   INTEGER PRIMARY KEY AUTOINCREMENT,
  data BLOB NOT NULL
);
ALTER TABLE changes ADD COLUMN payload INTEGER;
ALTER TABLE changes ADD COLUMN part INTEGER;
