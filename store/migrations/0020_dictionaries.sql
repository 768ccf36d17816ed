-- Dictionaries of sample Features that stored Features are compressed
-- against (compress.go): key is the first 8 bytes of the SHA-256 of data.
-- Features written before keep their JSON text and are read as they are.
CREATE TABLE dictionaries (
  key  INTEGER PRIMARY KEY,
  data BLOB    NOT NULL
);
