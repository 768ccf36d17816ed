-- Watch areas: the encoded Feature (without the webhook secret), its owner,
-- and since, the change-log seq when it was created: it sees later changes.
CREATE TABLE watches (
  wid     INTEGER PRIMARY KEY,
  id      TEXT    NOT NULL UNIQUE,
  owner   TEXT    NOT NULL,
  version INTEGER NOT NULL,
  since   INTEGER NOT NULL,
  feature BLOB    NOT NULL,
  secret  TEXT
);
CREATE INDEX watches_owner ON watches(owner);

-- Every create, update and delete of a watch, for its history and for the
-- evaluator, which follows it to keep its index of areas current.
CREATE TABLE watch_changes (
  seq     INTEGER PRIMARY KEY AUTOINCREMENT,
  id      TEXT    NOT NULL,
  owner   TEXT    NOT NULL,
  op      TEXT    NOT NULL,
  version INTEGER NOT NULL,
  actor   TEXT    NOT NULL,
  time    TEXT    NOT NULL,
  before  BLOB,
  after   BLOB
);
CREATE INDEX watch_changes_id ON watch_changes(id, seq);

-- Alerts: one per watch and change-log seq at most.
CREATE TABLE alerts (
  aid        INTEGER PRIMARY KEY,
  watch      TEXT    NOT NULL,
  seq        INTEGER NOT NULL,
  event      TEXT    NOT NULL,
  collection TEXT    NOT NULL,
  record     TEXT    NOT NULL,
  time       TEXT    NOT NULL,
  feature    BLOB,
  read       INTEGER NOT NULL DEFAULT 0,
  UNIQUE (watch, seq)
);
CREATE INDEX alerts_unread ON alerts(watch, read);

-- How far the evaluator has read the change log: it moves in the
-- transaction that stores the alerts of the changes it has read.
CREATE TABLE alert_cursor (
  one INTEGER PRIMARY KEY CHECK (one = 1),
  seq INTEGER NOT NULL
);
INSERT INTO alert_cursor SELECT 1, COALESCE(MAX(seq), 0) FROM changes;

-- Webhook deliveries: one per alert of a watch with a webhook; the body is
-- fixed when the alert is stored, so every try sends the same bytes.
CREATE TABLE deliveries (
  did       INTEGER PRIMARY KEY,
  watch     TEXT    NOT NULL,
  seq       INTEGER NOT NULL,
  url       TEXT    NOT NULL,
  body      BLOB    NOT NULL,
  state     TEXT    NOT NULL, -- pending, delivered, failed
  attempts  INTEGER NOT NULL DEFAULT 0,
  next_at   INTEGER NOT NULL, -- Unix milliseconds
  created   TEXT    NOT NULL,
  UNIQUE (watch, seq)
);
CREATE INDEX deliveries_due ON deliveries(state, next_at);

-- Every try of a delivery: the per-watch delivery log.
CREATE TABLE delivery_attempts (
  did      INTEGER NOT NULL,
  attempt  INTEGER NOT NULL,
  time     TEXT    NOT NULL,
  status   INTEGER NOT NULL, -- HTTP status, 0 when there was no answer
  error    TEXT    NOT NULL,
  duration INTEGER NOT NULL, -- milliseconds
  PRIMARY KEY (did, attempt)
) WITHOUT ROWID;
