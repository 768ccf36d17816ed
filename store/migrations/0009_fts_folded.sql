-- Full text is indexed as geo.Fold writes it: lower case, accents removed,
-- letters and digits in words separated by single spaces. The ASCII
-- tokenizer then splits it exactly where geo.Words splits a query, so the
-- database and the in-memory matchers of the API and the websocket find
-- the same words. The store refills the index from the records after
-- this step, in the same transaction (refold in db.go).
DROP TABLE fts;
CREATE VIRTUAL TABLE fts USING fts5(text, content='', contentless_delete=1, tokenize='ascii');
