package geo

import (
	"context"
	"time"
)

// Row is one row of a dump: the whole contents of a database, as `server
// migrate` carries it from one engine to another. Exactly one field is
// set. What an engine derives from these (indexes, full text, actor
// summaries) is not dumped: the loading engine builds its own.
type Row struct {
	Record      *Stored      // a record as stored: its Feature holds its id, version and times
	Change      *Change      // an entry of the change log, with its seq
	Token       *TokenRow    // a token, by its hash
	Alias       *AliasRow    // an actor alias
	Watch       *StoredWatch // a watch area, with its webhook secret
	WatchChange *WatchChange // an entry of the watches' own change log
	Alert       *Alert       // an alert of a watch
	Delivery    *DeliveryRow // a webhook delivery of an alert
	Attempt     *AttemptRow  // one try of a delivery
	AlertCursor *int64       // the change-log seq through which alerts are stored
}

// Kinds of rows, in the order a dump carries them: a row may refer to
// rows of an earlier kind (an attempt to its delivery), never to a later.
var RowKinds = []string{"record", "change", "token", "alias", "watch", "watch_change", "alert", "delivery", "attempt", "alert_cursor"}

// Kind names the kind of the row, one of RowKinds; "" for an empty row.
func (r Row) Kind() string {
	switch {
	case r.Record != nil:
		return "record"
	case r.Change != nil:
		return "change"
	case r.Token != nil:
		return "token"
	case r.Alias != nil:
		return "alias"
	case r.Watch != nil:
		return "watch"
	case r.WatchChange != nil:
		return "watch_change"
	case r.Alert != nil:
		return "alert"
	case r.Delivery != nil:
		return "delivery"
	case r.Attempt != nil:
		return "attempt"
	case r.AlertCursor != nil:
		return "alert_cursor"
	}
	return ""
}

// TokenRow is a token as the database keeps it: the SHA-256 of its
// secret, never the secret.
type TokenRow struct {
	Name    string
	Role    string
	Hash    []byte
	Created time.Time
	Expires time.Time // zero: never
}

// AliasRow is an alias with who wrote it last, and when.
type AliasRow struct {
	Alias
	Actor   string
	Updated time.Time
}

// WatchChange is an entry of the change log of watch areas: the change
// and the watch's owner.
type WatchChange struct {
	Change
	Owner string
}

// DeliveryRow is a webhook delivery with its state: which alert (watch
// and seq), where to, the fixed body, and when it is next due.
type DeliveryRow struct {
	Watch    string
	Seq      int64
	URL      string
	Body     []byte
	State    string // DeliveryPending, DeliveryDelivered or DeliveryFailed
	Attempts int
	NextAt   time.Time // millisecond precision
	Created  time.Time
}

// AttemptRow is one try of the delivery of an alert (watch and seq).
type AttemptRow struct {
	Watch string
	Seq   int64
	Attempt
}

// Dumper is an engine that can be migrated from and to: Dump passes every
// row of the database, kind after kind in the order of RowKinds, from one
// snapshot; Load writes the rows of another engine's Dump into this empty
// database in one transaction (EINVALID when it is not empty), keeping
// ids, versions, seqs, times and bytes.
type Dumper interface {
	Dump(ctx context.Context, fn func(Row) error) error
	Load(ctx context.Context, dump func(ctx context.Context, fn func(Row) error) error) error
}
