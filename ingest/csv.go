package ingest

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/paulmach/orb"

	"nexus/geo"
)

// row is one CSV record with the header's column names.
type row struct {
	fields []string
	col    map[string]int
}

// get returns the trimmed value of a column, "" when the file has no such
// column.
func (r row) get(name string) string {
	i, ok := r.col[name]
	if !ok {
		return ""
	}
	return strings.TrimSpace(r.fields[i])
}

// rowError names the column of a row that cannot be imported, and why.
type rowError struct {
	field, reason string
}

func bad(field, format string, args ...any) *rowError {
	return &rowError{field, fmt.Sprintf(format, args...)}
}

// layout maps the rows of one CSV layout to incidents. geocoded says the
// point came from the place name.
type layout func(im *importer, r row) (inc *geo.Incident, geocoded bool, err *rowError)

// readCSV imports CSV whose header names the layout. head is the start of
// the input, used to tell the delimiter.
func (im *importer) readCSV(r io.Reader, head []byte) error {
	// Quoting is RFC 4180's, as GTD and ACLED write it: a row with a stray
	// quote is rejected with the parser's reason rather than guessed at.
	cr := csv.NewReader(r)
	cr.Comma = sniffDelimiter(head)
	cr.FieldsPerRecord = -1 // a row with the wrong number of columns is rejected, not fatal
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return geo.Errorf(geo.EMALFORMED, "the input is neither JSON nor CSV with a readable header: %v", pe)
		}
		return err
	}
	col := make(map[string]int, len(header))
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(string(im.text([]byte(h)))))
		if _, dup := col[name]; !dup {
			col[name] = i
		}
	}
	has := func(names ...string) bool {
		for _, n := range names {
			if _, ok := col[n]; !ok {
				return false
			}
		}
		return true
	}
	var toIncident layout
	switch {
	case has("eventid", "iyear"):
		im.rep.Format, toIncident = FormatGTD, gtdIncident
	case has("event_id_cnty", "event_date"):
		im.rep.Format, toIncident = FormatACLED, acledIncident
	case (has("lon", "lat") || has("longitude", "latitude")) && has("title", "type", "date"):
		im.rep.Format, toIncident = FormatCSV, plainIncident
	default:
		return geo.Errorf(geo.EUNSUPPORTED, "the input is neither JSON nor CSV with a known header: GTD has eventid and iyear columns, ACLED event_id_cnty and event_date, a plain CSV of incidents lon, lat, title, type and date")
	}
	fields := make([]string, len(header))
	rows := &csvRows{im: im, convert: toIncident, col: col,
		label: "nexus csv 1\x00" + im.rep.Format + "\x00" + strings.Join(header, "\x00")}
	for {
		if err := im.ctx.Err(); err != nil {
			return err
		}
		rec, err := cr.Read()
		if err == io.EOF {
			return rows.flush()
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			im.reject(int64(pe.StartLine), fieldRow, pe.Err.Error())
			continue
		} else if err != nil {
			return fmt.Errorf("reading the input: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if blank(rec) {
			continue // spreadsheets leave rows of empty cells at the end
		}
		if len(rec) != len(header) {
			im.reject(int64(line), fieldRow, fmt.Sprintf("has %d columns, the header has %d", len(rec), len(header)))
			continue
		}
		latin1 := im.latin1
		for _, f := range rec {
			latin1 = latin1 || !utf8.ValidString(f)
		}
		for i, f := range rec {
			if latin1 {
				f = string(im.text([]byte(f)))
			}
			fields[i] = f
		}
		if err := rows.add(int64(line), fields); err != nil {
			return err
		}
	}
}

// csvRows holds the rows read and not yet converted: a batch of them is
// hashed first, and the rows the store holds as they are are counted
// unchanged without being converted (see SourceKeeper).
type csvRows struct {
	im      *importer
	convert layout
	col     map[string]int
	label   string // labels the source hashes: the format and the header
	lines   []int64
	fields  [][]string
}

// add queues a row (its fields are copied); a full batch is converted.
func (c *csvRows) add(line int64, fields []string) error {
	c.lines = append(c.lines, line)
	c.fields = append(c.fields, slices.Clone(fields))
	if len(c.lines) >= c.im.opt.BatchSize {
		return c.flush()
	}
	return nil
}

// flush converts the queued rows the store does not hold as they are,
// and queues their incidents in input order.
func (c *csvRows) flush() error {
	im := c.im
	defer func() {
		clear(c.fields)
		c.lines, c.fields = c.lines[:0], c.fields[:0]
	}()
	hashes := make([]uint64, len(c.lines))
	if im.sources {
		var buf []byte
		for k, fields := range c.fields {
			buf = buf[:0]
			for _, f := range fields {
				buf = append(append(buf, f...), 0)
			}
			hashes[k] = sourceHash(c.label, buf)
		}
	}
	known, err := im.known(hashes)
	if err != nil {
		return err
	}
	type converted struct {
		inc      *geo.Incident
		geocoded bool
		err      *rowError
		done     bool
	}
	out := make([]converted, len(c.lines))
	convert := func(k int) {
		inc, geocoded, rerr := c.convert(im, row{c.fields[k], c.col})
		out[k] = converted{inc, geocoded, rerr, true}
	}
	for k, h := range hashes {
		if _, ok := known[h]; !ok {
			convert(k)
		}
	}
	if len(known) > 0 {
		// A row of this batch that changes the record of a skipped one:
		// both are written, in their order.
		exts := map[string]bool{}
		for _, o := range out {
			if o.inc != nil {
				exts[o.inc.ExternalID] = true
			}
		}
		for k, h := range hashes {
			if ext, ok := known[h]; ok && exts[ext] {
				convert(k)
			}
		}
	}
	for k, o := range out {
		switch {
		case !o.done:
			im.unchanged()
		case o.err != nil:
			im.reject(c.lines[k], o.err.field, o.err.reason)
		default:
			invalid := ready(o.inc)
			o.inc.Source = hashes[k]
			if err := im.queue(c.lines[k], o.inc, o.geocoded, invalid); err != nil {
				return err
			}
		}
	}
	return nil
}

// sniffDelimiter picks the delimiter of the header line: a comma unless
// semicolons (Excel in much of Europe) or tabs are more frequent.
func sniffDelimiter(head []byte) rune {
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	comma, best := ',', bytes.Count(head, []byte(","))
	for _, d := range []rune{';', '\t'} {
		if n := bytes.Count(head, []byte(string(d))); n > best {
			comma, best = d, n
		}
	}
	return comma
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// parseInt reads a whole number; spreadsheets write some as "3.0".
func parseInt(field, s string) (int64, *rowError) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, bad(field, "%q is not a whole number", s)
	}
	return int64(f), nil
}

// parseCount reads a number of people: empty is unknown (nil), never 0.
func parseCount(field, s string) (*int64, *rowError) {
	if s == "" {
		return nil, nil
	}
	n, err := parseInt(field, s)
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, bad(field, "%d is negative; leave it empty when unknown", n)
	}
	return &n, nil
}

// parsePoint reads the latitude and longitude columns. ok is false when
// either is empty: the point is missing, not wrong.
func parsePoint(r row) (p orb.Point, ok bool, err *rowError) {
	lat, lon := r.get("latitude"), r.get("longitude")
	if lat == "" || lon == "" {
		return p, false, nil
	}
	for i, c := range []struct{ field, s string }{{"longitude", lon}, {"latitude", lat}} {
		v, perr := strconv.ParseFloat(c.s, 64)
		if perr != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return p, false, bad(c.field, "%q is not a number", c.s)
		}
		p[i] = v
	}
	switch {
	case p[1] < -90 || p[1] > 90:
		return p, false, bad("latitude", "%v is outside [-90, 90]", p[1])
	case p[0] < -180 || p[0] > 180:
		return p, false, bad("longitude", "%v is outside [-180, 180]", p[0])
	}
	return p, true, nil
}

// locate fills a missing point from the first place name the geocoder
// knows. The field named in the rejection is the latitude column.
// place returns the row's point with the precision read from its
// precision column, or, when the row has no point, the point and precision
// geocoded from the names (geocoded true).
func (im *importer) place(r row, precisionOf func(string) (string, *rowError), column, country string, names ...string) (orb.Point, string, bool, *rowError) {
	p, ok, err := parsePoint(r)
	switch {
	case err != nil:
		return p, "", false, err
	case ok:
		precision, err := precisionOf(r.get(column))
		return p, precision, false, err
	}
	p, precision, err := im.locate(country, names...)
	return p, precision, true, err
}

func (im *importer) locate(country string, names ...string) (orb.Point, string, *rowError) {
	if im.opt.Geocode != nil {
		for _, name := range names {
			if name == "" {
				continue
			}
			lon, lat, precision, ok := im.opt.Geocode(name, country)
			if !ok {
				continue
			}
			p := orb.Point{lon, lat}
			if _, fe := geo.CheckPoint(p, ""); fe != nil {
				continue
			}
			if precision == "" {
				precision = "unknown"
			}
			return p, precision, nil
		}
	}
	known := strings.Join(nonEmpty(names...), ", ")
	switch {
	case known == "":
		return orb.Point{}, "", bad("latitude", "is empty, and the row names no place to find it from")
	case im.opt.Geocode == nil:
		return orb.Point{}, "", bad("latitude", "is empty, and no geocoder was given to place %q", known)
	}
	return orb.Point{}, "", bad("latitude", "is empty, and %q could not be placed", known)
}

// known returns s, or "" for the words datasets use for an unknown value.
func known(s string) string {
	if strings.EqualFold(s, "unknown") {
		return ""
	}
	return s
}

// nonEmpty returns the non-empty strings, without repeats (ignoring case).
func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		dup := false
		for _, o := range out {
			dup = dup || strings.EqualFold(o, s)
		}
		if !dup {
			out = append(out, s)
		}
	}
	return out
}

// splitList splits a list of names separated by semicolons.
func splitList(s string) []string {
	return strings.Split(s, ";")
}

// shorten cuts s to at most n characters, marking the cut with an ellipsis.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

var urlInText = regexp.MustCompile(`https?://[^\s"'<>]+`)

// citation turns a bibliographic citation into a source: the whole text is
// the title, and the first web address in it, if any, the url.
func citation(text string) geo.Source {
	s := geo.Source{Title: text}
	if u := urlInText.FindString(text); u != "" {
		u = strings.TrimRight(u, ".,;:!?")
		if strings.HasSuffix(u, ")") && !strings.Contains(u, "(") {
			u = strings.TrimSuffix(u, ")")
		}
		if p, err := url.Parse(u); err == nil && p.Host != "" && len(u) <= geo.MaxText {
			s.URL = u
		}
	}
	return s
}
