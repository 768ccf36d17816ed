package pgstore

import "time"

// SetClock replaces the clock the writes stamp their times with (Now),
// for tests; call it before the database is used.
func (db *DB) SetClock(now func() time.Time) { db.Now = now }
