// Package ingest imports the datasets analysts already have into the store:
// GeoJSON (a FeatureCollection, one Feature, or a sequence of Features as
// RFC 8142 text sequences or newline-delimited JSON) and CSV in the layouts of
// the Global Terrorism Database (GTD) and of ACLED.
//
// Import streams: rows and features are decoded as they arrive and written in
// batches, one transaction each, so memory does not grow with the input. A bad
// row never stops the good ones; it is reported with its line, field and
// reason.
package ingest

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"

	"nexus/geo"
)

// Batcher is what an import needs of the store.
type Batcher interface {
	ImportBatch(ctx context.Context, actor string, recs []geo.Record) ([]geo.ImportResult, error)
}

// BatchPreparer is what a store may offer an import besides Batcher:
// PrepareBatch does the part of ImportBatch that needs no transaction
// (validating the records, working out what they write) and
// returns the write that finishes it. The import prepares each batch as
// it hands it over, so that the store writes one batch while the next is
// read and prepared; it calls the writes in the order of their batches,
// each once. A record error from PrepareBatch or from the write means
// what it would from ImportBatch.
type BatchPreparer interface {
	PrepareBatch(actor string, recs []geo.Record) (func(ctx context.Context) ([]geo.ImportResult, error), error)
}

// Loader is what a store may offer an import besides Batcher: while the
// store holds no records, Load begins one transaction for the whole
// import, in which the store writes faster than batch by batch (it builds
// its indexes once, after the rows) and which other writers wait for.
// The import writes every batch through the load and commits it at the
// end; an import that fails or is interrupted rolls it back and keeps
// nothing. BeginLoad returns nil when the store holds records.
type Loader interface {
	BeginLoad(ctx context.Context) (geo.Load, error)
}

// SourceKeeper is what a store may offer an import besides Batcher: which
// source hashes (geo.Meta.Source) its records with an external_id were
// last written from, with that external_id. With it, an unchanged
// re-import reads and hashes its input, and decodes and writes nothing.
type SourceKeeper interface {
	KnownSources(ctx context.Context, srcs []uint64) (map[uint64]string, error)
}

// Options tune one import.
type Options struct {
	Actor     string                                                                    // token name recorded in the change log
	Geocode   func(place, country string) (lon, lat float64, precision string, ok bool) // fills a missing point; may be nil
	Progress  func(bytesRead int64)                                                     // called now and then; may be nil
	Written   func(rows int64)                                                          // after each batch: rows written, left unchanged or rejected so far; may be nil
	BatchSize int                                                                       // default geo.ImportBatchSize
	// MaxFeature bounds one GeoJSON feature, in bytes: a larger one stops
	// the import with ETOOLARGE before it is held in memory. 0 means
	// DefaultMaxFeature; negative, no limit.
	MaxFeature int64
}

// DefaultMaxFeature is the default bound of one imported feature, in bytes.
const DefaultMaxFeature = 4 << 20

// Rejected is one row or feature that was not imported, and why.
type Rejected struct {
	Line   int64  `json:"line"` // 1-based line in the input (CSV: physical line of the row; GeoJSON: line where the feature starts)
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Report says what an import did.
type Report struct {
	Format        string     `json:"format"` // FormatGeoJSON, FormatGeoJSONSeq, FormatGTD, FormatACLED, FormatCSV or FormatGPKG
	Created       int64      `json:"created"`
	Updated       int64      `json:"updated"`
	Unchanged     int64      `json:"unchanged"`
	Geocoded      int64      `json:"geocoded"`       // written rows whose point came from their place name
	Rejected      []Rejected `json:"rejected"`       // the first MaxRejected rejected rows
	RejectedCount int64      `json:"rejected_count"` // every rejected row, listed or not
}

// Formats an import can read, as Report.Format names them.
const (
	FormatGeoJSON    = "geojson"    // one FeatureCollection, one Feature, or a JSON array of Features
	FormatGeoJSONSeq = "geojsonseq" // RFC 8142 text sequence, or newline-delimited Features
	FormatGTD        = "gtd"        // Global Terrorism Database CSV
	FormatACLED      = "acled"      // ACLED CSV export
	FormatCSV        = "csv"        // plain CSV of incidents: lon, lat and the properties' columns, as Nexus exports them
	FormatGPKG       = "gpkg"       // GeoPackage: tables of incidents, routes and links
)

// MaxRejected is how many rejected rows a report lists; RejectedCount
// counts them all.
const MaxRejected = 10000

// Sizes of the reads, in bytes.
const (
	sniffSize     = 64 << 10 // looked at to tell the format and the encoding
	progressEvery = 1 << 20  // Options.Progress is called at most once per this much input
)

// Field names of rejections that concern a whole row or feature rather than
// one of its columns or properties.
const (
	fieldRow     = "row"
	fieldFeature = "feature"
)

const recordSeparator = 0x1E // RS, which starts each text of an RFC 8142 sequence

// Import reads GeoJSON (a FeatureCollection, a single Feature, or a GeoJSON
// text sequence RFC 8142 / newline-delimited features) or CSV (GTD or ACLED
// columns, told apart by the header), in UTF-8 with or without BOM or in
// Latin-1, and writes it in batches of one transaction each. A bad row never
// stops the good ones: it is reported. The input as a whole being unreadable
// (not JSON nor CSV with a known header) is a *geo.Error with EUNSUPPORTED or
// EMALFORMED. An interrupted import (ctx cancelled, reader error) leaves only
// whole batches and returns the report so far with the error.
func Import(ctx context.Context, dst Batcher, r io.Reader, opt Options) (Report, error) {
	im := newImporter(ctx, dst, opt)
	err := im.run(r)
	return im.rep, err
}

// importer holds the state of one import.
type importer struct {
	ctx     context.Context
	dst     Batcher
	opt     Options
	rep     Report
	pending []pending
	// attempted counts the rows and features met; every one ends created,
	// updated, unchanged or rejected (the fuzz tests hold us to it).
	attempted int64
	raws      []rawFeature // features read, to be decoded side by side
	sources   bool         // the store keeps source hashes (SourceKeeper): the input is hashed
	latin1    bool         // the input as a whole is not UTF-8
	slowJSON  bool         // read arrays of features with the json.Decoder alone, as the quick scanner is checked against
	quick     int64        // features the quick scanner read
	cp1252    *encoding.Decoder

	// Batches are written by a writer goroutine while the next one is
	// read, decoded and prepared (BatchPreparer): on two cores an import
	// takes about the longer of the two instead of their sum.
	// load is the transaction of an import into an empty store (Loader),
	// which dst is while it runs; nil otherwise.
	load   geo.Load
	mu     sync.Mutex    // guards rep and werr between the reader and the writer
	writes chan batch    // batches to write; nil until the first
	done   chan struct{} // closed when the writer has ended
	werr   error         // the first error of the writer
	// inflight counts the external_ids of the records queued and not
	// yet written (guarded by mu), when the store keeps source hashes:
	// bytes the store knows are skipped only when no record in flight
	// may change the same record first.
	inflight map[string]int
}

// batch is a batch handed to the writer: its records and, when the store
// prepares batches, the write that finishes it or the error that
// preparing it met.
type batch struct {
	recs  []pending
	write func(ctx context.Context) ([]geo.ImportResult, error)
	err   error
}

// pending is a valid record waiting for its batch to be written.
type pending struct {
	rec      geo.Record
	line     int64
	geocoded bool
}

func newImporter(ctx context.Context, dst Batcher, opt Options) *importer {
	if opt.BatchSize <= 0 {
		opt.BatchSize = geo.ImportBatchSize
	}
	if opt.MaxFeature == 0 {
		opt.MaxFeature = DefaultMaxFeature
	}
	_, sources := dst.(SourceKeeper)
	return &importer{ctx: ctx, dst: dst, opt: opt, rep: Report{Rejected: []Rejected{}}, sources: sources}
}

// run imports the whole input and waits until every batch handed to the
// writer is written.
func (im *importer) run(r io.Reader) error {
	err := im.read(r)
	if werr := im.wait(); err == nil {
		err = werr
	}
	if im.load != nil {
		if err == nil {
			err = im.load.Commit(im.ctx)
		}
		if err != nil {
			// Nothing of the load is kept.
			im.load.Rollback()
			im.rep.Created, im.rep.Updated, im.rep.Unchanged, im.rep.Geocoded = 0, 0, 0, 0
		}
	}
	// Batches retried record by record report their rejections when they
	// are written, after rows read later: the report lists them in order.
	slices.SortStableFunc(im.rep.Rejected, func(a, b Rejected) int { return cmp.Compare(a.Line, b.Line) })
	return err
}

// read tells the format from the first bytes and reads the whole input.
func (im *importer) read(r io.Reader) error {
	counted := &countingReader{r: r, progress: im.opt.Progress}
	defer counted.report()
	br := bufio.NewReaderSize(counted, sniffSize)
	head, err := br.Peek(sniffSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return fmt.Errorf("reading the input: %w", err)
	}
	atEOF := len(head) < sniffSize
	switch {
	case bytes.HasPrefix(head, []byte("\xEF\xBB\xBF")):
		br.Discard(3)
		head = head[3:]
	case bytes.HasPrefix(head, []byte("\xFF\xFE")), bytes.HasPrefix(head, []byte("\xFE\xFF")):
		return geo.Errorf(geo.EUNSUPPORTED, "UTF-16 text is not supported; save the file as UTF-8")
	}
	im.latin1 = !validUTF8Head(head, atEOF)
	first := bytes.TrimLeft(head, " \t\r\n")
	if len(first) == 0 {
		if atEOF {
			return geo.Errorf(geo.EMALFORMED, "empty input")
		}
		return geo.Errorf(geo.EMALFORMED, "the input starts with more than %d KB of blank space", sniffSize>>10)
	}
	switch {
	case bytes.HasPrefix(head, []byte(sqliteMagic)):
		im.rep.Format = FormatGPKG
		err = im.readGPKG(br)
	case first[0] == '{' || first[0] == '[':
		im.rep.Format = FormatGeoJSON
		err = im.readJSON(br, false)
	case first[0] == recordSeparator:
		im.rep.Format = FormatGeoJSONSeq
		err = im.readJSON(br, true)
	default:
		err = im.readCSV(br, head)
	}
	if err != nil {
		return err
	}
	return im.flush()
}

// validUTF8Head reports whether the first bytes of the input are UTF-8; a
// character cut by the end of the buffer does not count against it.
func validUTF8Head(b []byte, atEOF bool) bool {
	if !atEOF {
		for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
			if utf8.RuneStart(b[i]) {
				if !utf8.FullRune(b[i:]) {
					b = b[:i]
				}
				break
			}
		}
	}
	return utf8.Valid(b)
}

// text returns b as UTF-8: as it is when the input is UTF-8 and b is valid
// UTF-8, else decoded from Windows-1252 (the superset of ISO-8859-1 that
// GTD's published CSV files and Excel on Windows write).
func (im *importer) text(b []byte) []byte {
	if !im.latin1 && utf8.Valid(b) {
		return b
	}
	if im.cp1252 == nil {
		im.cp1252 = charmap.Windows1252.NewDecoder()
	}
	out, err := im.cp1252.Bytes(b)
	if err != nil { // cannot happen: every byte is a Windows-1252 character
		return bytes.ToValidUTF8(b, []byte("\uFFFD"))
	}
	return out
}

// reject reports a row or feature that is not imported.
func (im *importer) reject(line int64, field, reason string) {
	im.attempted++
	im.rejected(line, field, reason)
}

// rejected records a rejection of a row already counted as attempted.
func (im *importer) rejected(line int64, field, reason string) {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.rep.RejectedCount++
	if len(im.rep.Rejected) < MaxRejected {
		im.rep.Rejected = append(im.rep.Rejected, Rejected{Line: line, Field: field, Reason: reason})
	}
}

// rejectErr reports a record refused with an error: a *geo.Error names the
// field; anything else concerns the whole feature or row.
func (im *importer) rejectErr(line int64, whole string, err error, attempted bool) {
	field, reason := whole, geo.ErrorMessage(err)
	var ge *geo.Error
	if errors.As(err, &ge) && len(ge.Fields) > 0 {
		field, reason = ge.Fields[0].Field, ge.Fields[0].Message
		for _, f := range ge.Fields[1:] {
			reason += "; " + f.Field + ": " + f.Message
		}
		if field == "" { // a member named "" is unknown: the field has no name
			field = whole
		}
	}
	if attempted {
		im.rejected(line, field, reason)
	} else {
		im.reject(line, field, reason)
	}
}

// add validates a record and queues it for writing; an invalid one is
// rejected. A full batch is written at once.
func (im *importer) add(line int64, r geo.Record, geocoded bool) error {
	return im.queue(line, r, geocoded, ready(r))
}

// ready readies a record for the store and says whether it is valid. It
// touches nothing but the record.
func ready(r geo.Record) error {
	*r.Base() = geo.Meta{} // the store sets id, version and times; a feature's own id is not the key
	r.Normalize(nil)       // nil: the store derives a missing country; a given one stays
	return r.Validate()
}

// queue counts a record met, rejects it when invalid, or queues it for
// writing. A full batch is written at once.
func (im *importer) queue(line int64, r geo.Record, geocoded bool, invalid error) error {
	im.attempted++
	if invalid != nil {
		im.rejectErr(line, fieldFeature, invalid, true)
		return nil
	}
	im.pending = append(im.pending, pending{rec: r, line: line, geocoded: geocoded})
	if ext := externalID(r); ext != "" && im.sources {
		im.mu.Lock()
		if im.inflight == nil {
			im.inflight = map[string]int{}
		}
		im.inflight[ext]++
		im.mu.Unlock()
	}
	if len(im.pending) >= im.opt.BatchSize {
		return im.flush()
	}
	return nil
}

// flush hands the queued records to the writer, which writes them in one
// transaction while the reader goes on. It waits while the writer is busy
// with the batch before, so at most two batches are held in memory.
func (im *importer) flush() error {
	if len(im.pending) == 0 {
		return nil
	}
	if err := im.ctx.Err(); err != nil {
		return err
	}
	if err := im.writeErr(); err != nil {
		return err
	}
	if im.writes == nil {
		if l, ok := im.dst.(Loader); ok {
			load, err := l.BeginLoad(im.ctx)
			if err != nil {
				return err
			}
			if load != nil {
				im.load, im.dst = load, load
			}
		}
		im.writes, im.done = make(chan batch), make(chan struct{})
		go im.writer()
	}
	b := batch{recs: im.pending}
	if bp, ok := im.dst.(BatchPreparer); ok {
		b.write, b.err = bp.PrepareBatch(im.opt.Actor, records(im.pending))
	}
	im.writes <- b
	im.pending = make([]pending, 0, im.opt.BatchSize)
	return nil
}

// wait lets the writer finish the batches handed to it and returns its
// first error.
func (im *importer) wait() error {
	if im.writes != nil {
		close(im.writes)
		<-im.done
		im.writes = nil
	}
	return im.writeErr()
}

func (im *importer) writeErr() error {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.werr
}

// writer writes the batches it is handed until the channel closes; after
// an error it drops the rest, so that only whole batches are written.
func (im *importer) writer() {
	defer close(im.done)
	for b := range im.writes {
		if im.writeErr() != nil {
			continue
		}
		err := im.write(b)
		im.landed(b.recs)
		if err != nil {
			im.mu.Lock()
			im.werr = err
			im.mu.Unlock()
			continue
		}
		if im.opt.Written != nil {
			im.mu.Lock()
			rows := im.rep.Created + im.rep.Updated + im.rep.Unchanged + im.rep.RejectedCount
			im.mu.Unlock()
			im.opt.Written(rows)
		}
	}
}

// landed takes the records of a batch written (or failed) out of flight.
func (im *importer) landed(batch []pending) {
	if !im.sources {
		return
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	for _, p := range batch {
		if ext := externalID(p.rec); ext != "" {
			if im.inflight[ext]--; im.inflight[ext] <= 0 {
				delete(im.inflight, ext)
			}
		}
	}
}

// externalID is a record's external_id, "" without one.
func externalID(r geo.Record) string {
	switch r := r.(type) {
	case *geo.Incident:
		return r.ExternalID
	case *geo.Route:
		return r.ExternalID
	case *geo.Link:
		return r.ExternalID
	}
	return ""
}

// unchanged counts a row or feature the store holds as it is.
func (im *importer) unchanged() {
	im.attempted++
	im.mu.Lock()
	im.rep.Unchanged++
	im.mu.Unlock()
}

// sourceHash is what Meta.Source keeps of the bytes a record is read from:
// the first 64 bits of their SHA-256, after a label of the format and of
// how it is read (never 0).
func sourceHash(label string, b []byte) uint64 {
	x := hashers.Get().(*hasher)
	defer hashers.Put(x)
	x.h.Reset()
	x.buf = append(append(x.buf[:0], label...), 0)
	x.h.Write(x.buf)
	x.h.Write(b)
	return max(binary.BigEndian.Uint64(x.h.Sum(x.sum[:0])), 1)
}

// hasher is a SHA-256 with room for a label and a sum: sourceHash takes
// one from hashers rather than making its own for every record.
type hasher struct {
	h   hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

var hashers = sync.Pool{New: func() any { return &hasher{h: sha256.New()} }}

// known returns which of the hashes the store holds records of, each with
// its external_id, leaving out those whose external_id is in flight: the
// batches before may change their records first. Nil when the store
// cannot tell.
func (im *importer) known(hashes []uint64) (map[uint64]string, error) {
	sk, ok := im.dst.(SourceKeeper)
	if !ok {
		return nil, nil
	}
	// The external_ids in flight are noted before the store is asked: a
	// batch that lands meanwhile is already in what it answers.
	im.mu.Lock()
	busy := make(map[string]bool, len(im.inflight))
	for ext := range im.inflight {
		busy[ext] = true
	}
	im.mu.Unlock()
	known, err := sk.KnownSources(im.ctx, hashes)
	if err != nil {
		return nil, err
	}
	for h, ext := range known {
		if busy[ext] {
			delete(known, h)
		}
	}
	return known, nil
}

// write writes one batch in one transaction. Should the store refuse the
// batch for one record's sake, the records are written one by one so that
// only that record is rejected.
func (im *importer) write(b batch) error {
	if err := im.ctx.Err(); err != nil {
		return err
	}
	batch := b.recs
	var res []geo.ImportResult
	var err error
	switch {
	case b.write != nil:
		res, err = b.write(im.ctx)
	case b.err != nil:
		err = b.err
	default:
		res, err = im.dst.ImportBatch(im.ctx, im.opt.Actor, records(batch))
	}
	switch {
	case err == nil:
		im.count(batch, res)
	case recordError(err):
		for _, p := range batch {
			res, err := im.dst.ImportBatch(im.ctx, im.opt.Actor, []geo.Record{p.rec})
			if recordError(err) {
				im.rejectErr(p.line, fieldFeature, err, true)
				continue
			} else if err != nil {
				return err
			}
			im.count([]pending{p}, res)
		}
	default:
		return err
	}
	return nil
}

// records are the records of a batch.
func records(batch []pending) []geo.Record {
	recs := make([]geo.Record, len(batch))
	for i, p := range batch {
		recs[i] = p.rec
	}
	return recs
}

// recordError reports whether a batch failed because of what a record
// holds, rather than because the store or the context failed.
func recordError(err error) bool {
	code := geo.ErrorCode(err)
	return code == geo.EINVALID || code == geo.ECONFLICT || code == geo.EDUPLICATE
}

func (im *importer) count(ps []pending, res []geo.ImportResult) {
	im.mu.Lock()
	defer im.mu.Unlock()
	for i, p := range ps {
		outcome := geo.Created
		if i < len(res) {
			outcome = res[i].Outcome
		}
		switch outcome {
		case geo.Updated:
			im.rep.Updated++
		case geo.Unchanged:
			im.rep.Unchanged++
		default:
			im.rep.Created++
		}
		if p.geocoded {
			im.rep.Geocoded++
		}
	}
}

// countingReader counts the bytes read and reports them to a progress
// function now and then.
type countingReader struct {
	r        io.Reader
	n        int64
	reported int64
	progress func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.progress != nil && c.n-c.reported >= progressEvery {
		c.reported = c.n
		c.progress(c.n)
	}
	return n, err
}

// report tells the progress function the final count.
func (c *countingReader) report() {
	if c.progress != nil && c.n != c.reported {
		c.reported = c.n
		c.progress(c.n)
	}
}
