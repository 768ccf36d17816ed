-- What the actor list reads, kept up to date by every write: per actor (as
-- records spell it, case aside) and collection, how many records name it
-- and the earliest start and latest end among their closed dates (NULL
-- when none has one); per actor and country, how many records.
CREATE TABLE actor_summary (
  actor      TEXT    NOT NULL COLLATE NOCASE,
  collection TEXT    NOT NULL,
  n          INTEGER NOT NULL,
  t0         INTEGER,
  t1         INTEGER,
  PRIMARY KEY (actor, collection)
) WITHOUT ROWID;

CREATE TABLE actor_countries (
  actor   TEXT    NOT NULL COLLATE NOCASE,
  country TEXT    NOT NULL,
  n       INTEGER NOT NULL,
  PRIMARY KEY (actor, country)
) WITHOUT ROWID;

INSERT INTO actor_summary (actor, collection, n, t0, t1)
  SELECT k.value, r.collection, count(*),
         min(CASE WHEN r.t0 > -9223372036854775808 THEN r.t0 END),
         max(CASE WHEN r.t1 < 9223372036854775807 THEN r.t1 END)
  FROM record_keys k JOIN records r ON r.rid = k.rid
  WHERE k.key = 'actor' GROUP BY k.value COLLATE NOCASE, r.collection;

INSERT INTO actor_countries (actor, country, n)
  SELECT a.value, c.value, count(*)
  FROM record_keys a JOIN record_keys c ON c.rid = a.rid AND c.key = 'country'
  WHERE a.key = 'actor' GROUP BY a.value COLLATE NOCASE, c.value;
