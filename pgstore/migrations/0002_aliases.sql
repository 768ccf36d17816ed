-- Actor aliases: another spelling of an actor's name and the canonical
-- name it means. key is the folded alias (geo.ActorKey), unique.
CREATE TABLE aliases (
  key     text        PRIMARY KEY,
  alias   text        NOT NULL,
  name    text        NOT NULL,
  source  text        NOT NULL DEFAULT '',
  actor   text        NOT NULL,
  updated timestamptz NOT NULL
);

-- The alias table's version, raised by every change: each server keeps
-- the table in memory while the version it read is the current one.
CREATE TABLE alias_version (
  one bool   PRIMARY KEY DEFAULT true CHECK (one),
  n   bigint NOT NULL
);
INSERT INTO alias_version (n) VALUES (0);
