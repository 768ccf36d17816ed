-- What an import read a record from: a hash of the source bytes (a
-- Feature, or a CSV row with its header), for records with an external_id
-- written by an import; NULL after any other write. Importing the same
-- bytes again finds them here and decodes nothing. It replaces the content
-- hash: a record whose bytes changed is compared with the stored Feature.
ALTER TABLE records ADD COLUMN src INTEGER;
CREATE INDEX records_src ON records(src) WHERE src IS NOT NULL;
ALTER TABLE records DROP COLUMN hash;
