-- Watch areas, their change log, their alerts and webhook deliveries.
CREATE TABLE watches (
  wid     bigserial PRIMARY KEY,
  id      text      NOT NULL UNIQUE,
  owner   text      NOT NULL,
  version bigint    NOT NULL,
  since   bigint    NOT NULL,
  feature bytea     NOT NULL,
  secret  text
);
CREATE INDEX watches_owner ON watches (owner);

CREATE TABLE watch_changes (
  seq     bigserial   PRIMARY KEY,
  id      text        NOT NULL,
  owner   text        NOT NULL,
  op      text        NOT NULL,
  version bigint      NOT NULL,
  actor   text        NOT NULL,
  time    timestamptz NOT NULL,
  before  bytea,
  after   bytea
);
CREATE INDEX watch_changes_id ON watch_changes (id, seq);

CREATE TABLE alerts (
  aid        bigserial   PRIMARY KEY,
  watch      text        NOT NULL,
  seq        bigint      NOT NULL,
  event      text        NOT NULL,
  collection text        NOT NULL,
  record     text        NOT NULL,
  time       timestamptz NOT NULL,
  feature    bytea,
  read       boolean     NOT NULL DEFAULT false,
  UNIQUE (watch, seq)
);
CREATE INDEX alerts_unread ON alerts (watch) WHERE NOT read;

-- The last change-log seq whose alerts are stored: one evaluator moves
-- it, whichever server it runs on.
CREATE TABLE alert_cursor (
  one bool   PRIMARY KEY DEFAULT true CHECK (one),
  seq bigint NOT NULL
);
INSERT INTO alert_cursor (seq) SELECT coalesce(max(seq), 0) FROM changes;

CREATE TABLE deliveries (
  did      bigserial   PRIMARY KEY,
  watch    text        NOT NULL,
  seq      bigint      NOT NULL,
  url      text        NOT NULL,
  body     bytea       NOT NULL,
  state    text        NOT NULL, -- pending, delivered, failed
  attempts int         NOT NULL DEFAULT 0,
  next_at  bigint      NOT NULL, -- Unix milliseconds
  created  timestamptz NOT NULL,
  UNIQUE (watch, seq)
);
CREATE INDEX deliveries_due ON deliveries (next_at) WHERE state = 'pending';

CREATE TABLE delivery_attempts (
  did      bigint      NOT NULL REFERENCES deliveries ON DELETE CASCADE,
  attempt  int         NOT NULL,
  time     timestamptz NOT NULL,
  status   int         NOT NULL,
  error    text        NOT NULL,
  duration bigint      NOT NULL, -- milliseconds
  PRIMARY KEY (did, attempt)
);
