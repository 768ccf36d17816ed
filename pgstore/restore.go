package pgstore

import (
	"context"

	"nexus/geo"
)

// Restore stores r, the content of the record's earlier version, as its
// new state, as Replace does, and the change log names that version: the
// history says the new version restored it. A record whose content is
// that version's already writes nothing.
func (db *DB) Restore(ctx context.Context, actor, id string, expect, version int64, r geo.Record) (geo.Stored, geo.Outcome, error) {
	if err := db.prepare(r); err != nil {
		return geo.Stored{}, "", err
	}
	var out geo.Stored
	var outcome geo.Outcome
	err := db.inTx(ctx, func(tx *writeTx) error {
		cur, err := tx.current(r.Collection(), id)
		if err != nil {
			return err
		}
		if expect > 0 && cur.version != expect {
			return staleVersion(cur.version, expect)
		}
		if out, outcome, err = tx.update(actor, id, cur, r); err != nil || outcome != geo.Updated {
			return err
		}
		_, err = tx.Exec(tx.ctx, "UPDATE changes SET restored = $1 WHERE seq = $2", version, tx.lastSeq)
		return err
	})
	return out, outcome, err
}
