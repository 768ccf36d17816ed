-- Indexes a first import committed without: the servers build them, each
-- claiming one row at a time, and delete the row in the transaction that
-- builds its index. Rows are left only by a process stopped between the
-- commit of its import and the end of its builds; the next server to open
-- the database builds them.
CREATE TABLE pending_indexes (
  name text PRIMARY KEY,
  ord  int  NOT NULL,
  def  text NOT NULL
);
