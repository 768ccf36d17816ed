-- The full-text index keeps which records hold a word, not where in their
-- text: queries ask for words (and prefixes of words), never phrases, and
-- the index takes half the room. The store refills it from the records
-- after this step, in the same transaction (refold in db.go).
DROP TABLE fts;
CREATE VIRTUAL TABLE fts USING fts5(text, content='', contentless_delete=1, tokenize='ascii', detail=none);
