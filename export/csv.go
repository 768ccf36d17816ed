package export

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkt"

	"nexus/geo"
)

// csvEncoder writes one collection as CSV in UTF-8 with a byte order mark
// (so spreadsheets read the accents right): a header row, then one row per
// record. Incidents have lon and lat columns; routes a WKT column. Lists
// are joined with ";"; sources are a JSON array. No row holds anything but
// a record: the provenance travels beside the file.
type csvEncoder struct {
	bw  *bufio.Writer
	w   *csv.Writer
	row []string
}

// ListSeparator joins the items of a list in one CSV cell.
const ListSeparator = ";"

func newCSV(w io.Writer) *csvEncoder {
	bw := bufio.NewWriterSize(w, 64<<10)
	return &csvEncoder{bw: bw, w: csv.NewWriter(bw)}
}

// csvHeader is the header row of a collection.
func csvHeader(c geo.Collection) []string {
	h := []string{"id"}
	for _, col := range columns[c] {
		h = append(h, col.name)
		if col.name == "precision" {
			h = append(h, "lon", "lat")
		}
	}
	if c == geo.Routes {
		h = append(h, "wkt")
	}
	return h
}

func (e *csvEncoder) begin(cols []geo.Collection, p Provenance) error {
	e.bw.WriteString("\uFEFF")
	return e.w.Write(csvHeader(cols[0]))
}

func (e *csvEncoder) record(r geo.Record) error {
	row := append(e.row[:0], Inert(r.Base().ID))
	for _, col := range columns[r.Collection()] {
		row = append(row, csvValue(col.kind, col.get(r)))
		if col.name == "precision" {
			p := r.Geometry().(orb.Point)
			row = append(row, formatFloat(p[0]), formatFloat(p[1]))
		}
	}
	if r.Collection() == geo.Routes {
		row = append(row, wkt.MarshalString(r.Geometry()))
	}
	e.row = row
	return e.w.Write(row)
}

func (e *csvEncoder) end() error {
	e.w.Flush()
	if err := e.w.Error(); err != nil {
		return err
	}
	return e.bw.Flush()
}

// csvValue is the text of one cell. Text is made inert; numbers are
// written as numbers.
func csvValue(k kind, v any) string {
	switch k {
	case text:
		return Inert(v.(string))
	case integer:
		if n, ok := intValue(v); ok {
			return strconv.FormatInt(n, 10)
		}
		return ""
	case datetime:
		return formatTime(v.(time.Time))
	case list:
		return Inert(strings.Join(v.([]string), ListSeparator))
	case sources:
		s := v.([]geo.Source)
		if len(s) == 0 {
			return ""
		}
		b, _ := json.Marshal(s)
		return string(b)
	}
	return ""
}

// Inert makes a text cell safe to open in a spreadsheet: a cell that
// starts with =, +, -, @, a tab or a carriage return would be read as a
// formula (CSV injection), so it gets a leading apostrophe, which
// spreadsheets hide and treat as "this is text".
func Inert(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// formatFloat writes a coordinate in its shortest form that reads back as
// the same float64.
func formatFloat(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}
