-- Records of both collections. feature keeps the encoded GeoJSON Feature so
-- reads and exports copy bytes; geom keeps the geometry for PostGIS (NULL
-- for a link); words are the record's text folded by the one rule of
-- package geo, as lexemes.
CREATE TABLE records (
  rid         bigserial PRIMARY KEY,
  collection  text      NOT NULL,
  id          text      NOT NULL UNIQUE,
  external_id text,
  kind        text      NOT NULL,
  t0          bigint    NOT NULL,
  t1          bigint    NOT NULL,
  version     bigint    NOT NULL,
  geom        geometry(Geometry, 4326),
  words       tsvector  NOT NULL,
  hash        bytea,
  feature     bytea     NOT NULL
);
CREATE UNIQUE INDEX records_external ON records (collection, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX records_kind ON records (collection, kind);
CREATE INDEX records_time ON records (collection, t0, t1);
CREATE INDEX records_geom ON records USING gist (geom);
CREATE INDEX records_geog ON records USING gist ((geom::geography));
CREATE INDEX records_words ON records USING gin (words);

-- Bounding boxes: one per record, two for a route across the antimeridian.
-- GiST compares boxes in float4 rounded outwards; x0..y1 keep the exact
-- float64 box for the final test.
CREATE TABLE record_boxes (
  rid bigint   NOT NULL REFERENCES records ON DELETE CASCADE,
  box geometry(Polygon, 4326) NOT NULL,
  x0  float8   NOT NULL,
  x1  float8   NOT NULL,
  y0  float8   NOT NULL,
  y1  float8   NOT NULL
);
CREATE INDEX record_boxes_box ON record_boxes USING gist (box);
CREATE INDEX record_boxes_rid ON record_boxes (rid);

-- Multi-valued keys (actor, country) for any-of filters and counts;
-- lvalue is the value with ASCII letters in lower case, compared as
-- SQLite's NOCASE compares.
CREATE TABLE record_keys (
  key    text   NOT NULL,
  value  text   NOT NULL,
  lvalue text   NOT NULL,
  rid    bigint NOT NULL REFERENCES records ON DELETE CASCADE
);
CREATE UNIQUE INDEX record_keys_value ON record_keys (key, lvalue, rid);
CREATE INDEX record_keys_rid ON record_keys (rid);

-- The change log: one row per create, update and delete, in the
-- transaction that made it. Seqs are taken under a transaction-level
-- advisory lock held to the commit, so they become visible in order.
CREATE TABLE changes (
  seq        bigserial   PRIMARY KEY,
  collection text        NOT NULL,
  id         text        NOT NULL,
  op         text        NOT NULL,
  version    bigint      NOT NULL,
  actor      text        NOT NULL,
  time       timestamptz NOT NULL,
  before     bytea,
  after      bytea
);
CREATE INDEX changes_id ON changes (id, seq);
CREATE INDEX changes_deletes ON changes (seq) WHERE op = 'delete';

-- Access tokens: only the SHA-256 of each token is kept.
CREATE TABLE tokens (
  name    text        PRIMARY KEY,
  role    text        NOT NULL,
  hash    bytea       NOT NULL UNIQUE,
  created timestamptz NOT NULL,
  expires timestamptz
);
