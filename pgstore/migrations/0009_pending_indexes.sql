-- Indexes a first import committed without, and the statistics it did not
-- gather (def is the statement that makes each): the servers make them,
-- each claiming one row at a time, and delete the row in the transaction
-- that makes it. Rows are left only by a process stopped between the
-- commit of its import and the end of its builds; the next server to open
-- the database builds them.
CREATE TABLE pending_indexes (
  name text PRIMARY KEY,
  ord  int  NOT NULL,
  def  text NOT NULL
);
