-- More of what actor profiles read, kept by every write: how many records
-- of each collection name two actors together (each pair once, a < b case
-- aside), and an actor's incidents per month (of their start).
CREATE TABLE actor_pairs (
  a          TEXT    NOT NULL COLLATE NOCASE,
  b          TEXT    NOT NULL COLLATE NOCASE,
  collection TEXT    NOT NULL,
  n          INTEGER NOT NULL,
  PRIMARY KEY (a, b, collection)
) WITHOUT ROWID;
CREATE INDEX actor_pairs_b ON actor_pairs(b);

CREATE TABLE actor_months (
  actor TEXT    NOT NULL COLLATE NOCASE,
  month TEXT    NOT NULL,
  n     INTEGER NOT NULL,
  PRIMARY KEY (actor, month)
) WITHOUT ROWID;

INSERT INTO actor_pairs (a, b, collection, n)
  SELECT k1.value, k2.value, r.collection, count(*)
  FROM record_keys k1 JOIN record_keys k2 ON k2.rid = k1.rid AND k2.key = 'actor' AND lower(k1.value) < lower(k2.value)
  JOIN records r ON r.rid = k1.rid
  WHERE k1.key = 'actor' GROUP BY lower(k1.value), lower(k2.value), r.collection;

INSERT INTO actor_months (actor, month, n)
  SELECT k.value, strftime('%Y-%m', r.t0, 'unixepoch'), count(*)
  FROM record_keys k JOIN records r ON r.rid = k.rid
  WHERE k.key = 'actor' AND r.collection = 'incidents' AND r.t0 > -62135596800
  GROUP BY lower(k.value), 2;
