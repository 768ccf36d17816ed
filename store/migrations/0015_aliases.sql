-- Actor aliases: another spelling of an actor's name and the canonical
-- name it means. key is the folded alias (geo.ActorKey), unique.
CREATE TABLE aliases (
  key     TEXT PRIMARY KEY,
  alias   TEXT NOT NULL,
  name    TEXT NOT NULL,
  source  TEXT NOT NULL DEFAULT '',
  actor   TEXT NOT NULL,
  updated TEXT NOT NULL
);
