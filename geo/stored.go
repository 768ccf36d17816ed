package geo

import "context"

// The nouns a store answers with. Every engine (SQLite, PostgreSQL) speaks
// them, so that the layers above a store never name an engine.

// Stored is a record as the database holds it: its encoded Feature and version.
type Stored struct {
	Collection Collection
	ID         string
	Version    int64
	Feature    []byte
}

// Outcome says what a write did to one record.
type Outcome string

// Outcomes of a write.
const (
	Created   Outcome = "created"
	Updated   Outcome = "updated"
	Unchanged Outcome = "unchanged"
)

// ImportBatchSize is how many records one import transaction holds.
const ImportBatchSize = 10000

// ImportResult is the outcome of one record of an import batch.
type ImportResult struct {
	ID      string
	Outcome Outcome
}

// Load is one import into a store that held no records, written in one
// transaction (ingest.Loader): its batches are written as ImportBatch and
// PrepareBatch write them, and none is kept, nor seen by anyone else,
// until Commit. Rollback drops them all; it is harmless after Commit.
type Load interface {
	ImportBatch(ctx context.Context, actor string, recs []Record) ([]ImportResult, error)
	PrepareBatch(actor string, recs []Record) (func(ctx context.Context) ([]ImportResult, error), error)
	Commit(ctx context.Context) error
	Rollback()
}

// Page is one page of a query.
type Page struct {
	Features [][]byte // encoded GeoJSON Features
	Matched  int64    // how many records match in all
	Next     int64    // cursor for the next page, 0 when this is the last
}

// MaxHistoryBytes bounds the record bodies of one page of history: a page
// ends early, before the change that would pass it (a page has at least
// one change), so a large record with many versions comes a few versions
// at a time.
const MaxHistoryBytes = 8 << 20

// HistoryPage is one page of a record's history, newest first.
type HistoryPage struct {
	Changes []Change
	Next    int64 // the before of the next page; 0 on the last page
	Deleted bool  // the record's newest change deleted it
}

// Extent is the space and time a collection's records cover, for the
// collection's description.
type Extent struct {
	Count int64
	// BBox is west, south, east, north; nil when the collection is empty.
	BBox *BBox
	// Start and End bound the records' dates in Unix seconds; a zero HasX
	// means no record has a closed end on that side.
	Start, End       int64
	HasStart, HasEnd bool
}

// Count is one bucket of a statistic.
type Count struct {
	Key   string `json:"key"`
	Count int64  `json:"count"`
}

// Cluster is a group of incidents in one grid cell.
type Cluster struct {
	Lon, Lat float64          // mean position of the incidents
	Count    int64            // how many
	Types    map[string]int64 // how many of each type
}

// CountryNames turns what people type for a country into its ISO 3166-1
// alpha-2 code, for a store to resolve a filter's countries;
// *geocode.Gazetteer is one.
type CountryNames interface {
	// CountryCode returns the code of a name in any common spelling or
	// language, or of an alpha-2 or alpha-3 code; "" when unknown.
	CountryCode(nameOrCode string) string
	// CountrySuggestions returns up to n countries closest to s, as
	// "Colombia (CO)".
	CountrySuggestions(s string, n int) []string
}
