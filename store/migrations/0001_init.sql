-- Records of both collections. The feature column keeps the encoded GeoJSON
-- Feature so reads and exports copy bytes; geom keeps the geometry as WKB.
CREATE TABLE records (
  rid         INTEGER PRIMARY KEY,
  collection  TEXT    NOT NULL,
  id          TEXT    NOT NULL UNIQUE,
  external_id TEXT,
  kind        TEXT    NOT NULL,
  t0          INTEGER NOT NULL,
  t1          INTEGER NOT NULL,
  x           REAL,
  y           REAL,
  version     INTEGER NOT NULL,
  geom        BLOB    NOT NULL,
  feature     BLOB    NOT NULL
);
CREATE UNIQUE INDEX records_external ON records(collection, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX records_kind ON records(collection, kind);

-- Multi-valued keys (actor, country) for any-of filters and counts.
CREATE TABLE record_keys (
  key   TEXT    NOT NULL,
  value TEXT    NOT NULL COLLATE NOCASE,
  rid   INTEGER NOT NULL,
  PRIMARY KEY (key, value, rid)
) WITHOUT ROWID;
CREATE INDEX record_keys_rid ON record_keys(rid);

-- Bounding boxes: id = rid*2 + part (a route across the antimeridian has two
-- parts). The R*Tree keeps 32-bit floats rounded outwards; the auxiliary
-- columns keep the exact float64 box for the final test.
CREATE VIRTUAL TABLE boxes USING rtree(id, minx, maxx, miny, maxy, +x0 REAL, +x1 REAL, +y0 REAL, +y1 REAL);

-- Full text over titles, names, summaries, places, actors and tags.
CREATE VIRTUAL TABLE fts USING fts5(text, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2');

-- The change log: one row per create, update and delete, in the transaction
-- that made it. seq only grows (AUTOINCREMENT never reuses a number).
CREATE TABLE changes (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  collection TEXT    NOT NULL,
  id         TEXT    NOT NULL,
  op         TEXT    NOT NULL,
  version    INTEGER NOT NULL,
  actor      TEXT    NOT NULL,
  time       TEXT    NOT NULL,
  before     BLOB,
  after      BLOB
);
CREATE INDEX changes_id ON changes(id, seq);

-- Access tokens: only the SHA-256 of each token is kept.
CREATE TABLE tokens (
  name    TEXT PRIMARY KEY,
  role    TEXT NOT NULL,
  hash    BLOB NOT NULL UNIQUE,
  created TEXT NOT NULL
);
