-- A token may expire: after that time (RFC 3339, UTC) it no longer
-- authenticates. NULL never expires.
ALTER TABLE tokens ADD COLUMN expires TEXT;
