package ingest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"nexus/geo"
	"nexus/internal/parallel"
)

// jsonReader walks GeoJSON with a json.Decoder, token by token down to each
// feature, so that only one feature is held at a time.
type jsonReader struct {
	im    *importer
	lines *lineIndex
	src   io.Reader     // what dec reads
	dec   *json.Decoder // offsets are relative to base
	base  int64         // offset in the input of the first byte dec reads
	seq   bool          // an RFC 8142 sequence: dec reads one text of it
}

// readJSON imports GeoJSON: one value, a sequence of values one after the
// other (newline-delimited), or with seq an RFC 8142 text sequence.
func (im *importer) readJSON(r io.Reader, seq bool) error {
	if err := im.readJSONValues(r, seq); err != nil {
		return err
	}
	return im.decodeRaws()
}

// readJSONValues reads every JSON value of the input, queueing features.
func (im *importer) readJSONValues(r io.Reader, seq bool) error {
	j := &jsonReader{im: im, lines: &lineIndex{r: r, line: 1, from: -1, max: im.opt.MaxFeature}, seq: seq}
	if !seq {
		return j.stream(j.lines, 0, false)
	}
	// RFC 8142: each text starts with RS. A text that cannot be parsed is
	// skipped and the import goes on with the next one.
	br := bufio.NewReader(j.lines)
	var offset int64
	for {
		s := &segment{br: br}
		err := j.stream(s, offset, true)
		if err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, s); err != nil {
			return j.readErr(err)
		}
		offset += s.n
		if s.eof {
			return nil
		}
		offset++ // the RS
	}
}

// stream imports the JSON values read from src, whose first byte is at
// offset base of the input. The first value of a plain input decides: an
// error in it is an error of the whole input. After it, and in every text
// of a sequence, a value that is not JSON is rejected and the import goes
// on (on the next line, or with the next text of a sequence).
func (j *jsonReader) stream(src io.Reader, base int64, seq bool) error {
	j.src, j.base, j.dec = src, base, json.NewDecoder(src)
	for n := 0; ; n++ {
		if err := j.im.ctx.Err(); err != nil {
			return err
		}
		first := n == 0 && !seq
		more := j.dec.More() // skips the blank space before the value
		line := j.lines.lineAt(j.base + j.dec.InputOffset())
		var err error
		if more {
			if n == 1 && !seq {
				j.im.rep.Format = FormatGeoJSONSeq
			}
			// A top-level value is one feature, unless it is a collection,
			// whose features are then bounded one by one.
			j.lines.from = j.valueStart()
			err = j.value(line, first)
			j.lines.from = -1
		} else if _, err = j.dec.Token(); err == io.EOF {
			return nil
		} else {
			err = j.malformed(err)
		}
		if err == nil {
			continue
		}
		if j.lines.err != nil {
			return j.readErr(j.lines.err)
		}
		if first || geo.ErrorCode(err) != geo.EMALFORMED {
			return err
		}
		j.im.reject(line, fieldFeature, geo.ErrorMessage(err))
		if seq {
			return nil
		}
		if err := j.skipLine(); err != nil {
			return err
		}
	}
}

// valueStart is the offset in the input where the next value starts: where
// the decoder stands, past the blanks and the comma before the value.
func (j *jsonReader) valueStart() int64 {
	off := j.base + j.dec.InputOffset()
	var b [256]byte
	n, _ := io.ReadFull(j.dec.Buffered(), b[:]) // a copy: the decoder does not move
	for _, c := range b[:n] {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != ',' {
			break
		}
		off++
	}
	return off
}

// skipLine resumes decoding after the end of the line where the decoder
// stopped, with a new decoder.
func (j *jsonReader) skipLine() error {
	offset := j.base + j.dec.InputOffset()
	rest := io.MultiReader(j.dec.Buffered(), j.src)
	var b [1]byte
	for {
		n, err := rest.Read(b[:])
		offset += int64(n)
		if n == 1 && b[0] == '\n' {
			break
		}
		if err == io.EOF {
			break
		} else if err != nil {
			return j.readErr(err)
		}
	}
	j.src, j.base, j.dec = rest, offset, json.NewDecoder(rest)
	return nil
}

// value imports one top-level JSON value starting on line: a
// FeatureCollection, a Feature, or an array of Features.
func (j *jsonReader) value(line int64, first bool) error {
	tok, err := j.dec.Token()
	if err != nil {
		return j.malformed(err)
	}
	switch tok {
	case json.Delim('{'):
		return j.object(line, first)
	case json.Delim('['):
		return j.elements(false)
	}
	j.im.reject(line, fieldFeature, fmt.Sprintf("a JSON %s is not a GeoJSON Feature", jsonKind(tok)))
	return nil
}

// member is one member of a JSON object, kept as it came.
type member struct {
	key string
	raw json.RawMessage
}

// object imports a top-level object: the features of a FeatureCollection
// are imported as they come; any other object is kept whole (it is one
// Feature).
func (j *jsonReader) object(line int64, first bool) error {
	var members []member
	typ, isCollection := "", false
	for j.dec.More() {
		tok, err := j.dec.Token()
		if err != nil {
			return j.malformed(err)
		}
		key, _ := tok.(string)
		if key == "features" && typ != "Feature" {
			tok, err := j.dec.Token()
			if err != nil {
				return j.malformed(err)
			} else if tok != json.Delim('[') {
				return geo.Errorf(geo.EMALFORMED, "the features of a FeatureCollection must be an array, not a JSON %s", jsonKind(tok))
			}
			isCollection = true
			j.lines.from = -1
			if err := j.elements(true); err != nil {
				return err
			}
			continue
		}
		var raw json.RawMessage
		if err := j.dec.Decode(&raw); err != nil {
			return j.malformed(err)
		}
		if key == "type" {
			json.Unmarshal(raw, &typ)
		}
		members = append(members, member{key, raw})
	}
	if _, err := j.dec.Token(); err != nil { // the closing brace
		return j.malformed(err)
	}
	switch {
	case isCollection, typ == "FeatureCollection":
		return nil
	case typ == "Feature":
		var b bytes.Buffer
		b.WriteByte('{')
		for i, m := range members {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(m.key)
			b.Write(k)
			b.WriteByte(':')
			b.Write(m.raw)
		}
		b.WriteByte('}')
		return j.feature(line, b.Bytes())
	}
	what := "an object without a type"
	if typ != "" {
		what = fmt.Sprintf("a %q object", typ)
	}
	if first {
		return geo.Errorf(geo.EUNSUPPORTED, "the JSON is %s, not GeoJSON: give a FeatureCollection, a Feature or a sequence of Features", what)
	}
	j.im.reject(line, "type", fmt.Sprintf("%s is not a GeoJSON Feature or FeatureCollection", what))
	return nil
}

// elements imports the elements of an array of features, the opening
// bracket read; each is decoded whole, then imported. inObject says the
// array is a member of a top-level object, else it is a top-level value.
func (j *jsonReader) elements(inObject bool) error {
	after := false // an element was read
	for {
		if !j.im.slowJSON {
			read, err := j.quickElements(inObject, after)
			if err != nil {
				return err
			}
			after = after || read
		}
		// What the quick scanner left: the end, an error, or an element
		// it does not follow.
		if !j.dec.More() {
			break
		}
		if err := j.im.ctx.Err(); err != nil {
			return err
		}
		var raw json.RawMessage
		j.lines.from = j.valueStart()
		err := j.dec.Decode(&raw)
		j.lines.from = -1
		if err != nil {
			return j.malformed(err)
		}
		// The value ends where the decoder stands; it starts len(raw) before.
		start := j.base + j.dec.InputOffset() - int64(len(raw))
		if err := j.feature(j.lines.lineAt(start), raw); err != nil {
			return err
		}
		after = true
	}
	if _, err := j.dec.Token(); err != nil { // the closing bracket
		return j.malformed(err)
	}
	return nil
}

// feature queues the bytes of one Feature, as UTF-8, to be decoded.
// Nothing writes over raw afterwards: it is kept as it is.
func (j *jsonReader) feature(line int64, raw []byte) error {
	j.im.raws = append(j.im.raws, rawFeature{line: line, raw: j.im.text(raw)})
	if len(j.im.raws) >= j.im.opt.BatchSize {
		return j.im.decodeRaws()
	}
	return nil
}

// rawFeature is a feature read but not yet decoded.
type rawFeature struct {
	line int64
	raw  []byte
}

// decoded is what decoding one feature gave: a record ready for the store
// (invalid holding why the store would refuse it), or a rejection.
type decoded struct {
	rec           geo.Record
	invalid       error  // Validate's verdict on rec
	field, reason string // a rejection before there was a record
	err           error  // a rejection by DecodeFeature
}

// geojsonSource labels the source hashes of GeoJSON features.
const geojsonSource = "nexus geojson 1"

// decodeRaws decodes and validates the queued features, on every core,
// then queues their records (or rejections) in input order. A feature
// whose bytes the store holds a record of, as they are, is counted
// unchanged without being decoded.
func (im *importer) decodeRaws() error {
	raws := im.raws
	out := make([]decoded, len(raws))
	hashes := make([]uint64, len(raws))
	skip := make([]bool, len(raws))
	if im.sources {
		parallel.For(len(raws), func(k int) { hashes[k] = sourceHash(geojsonSource, raws[k].raw) })
	}
	known, err := im.known(hashes)
	if err != nil {
		return err
	}
	decode := func(k int) {
		if out[k] = decodeFeature(raws[k].raw); out[k].rec != nil {
			out[k].rec.Base().Source = hashes[k]
		}
	}
	if len(known) > 0 {
		for k, h := range hashes {
			_, skip[k] = known[h]
		}
	}
	parallel.For(len(raws), func(k int) {
		if !skip[k] {
			decode(k)
		}
	})
	if len(known) > 0 {
		// A feature of this batch that changes the record of a skipped
		// one: both are written, in their order.
		exts := map[string]bool{}
		for _, d := range out {
			if d.rec != nil {
				exts[externalID(d.rec)] = true
			}
		}
		for k := range raws {
			if skip[k] && exts[known[hashes[k]]] {
				skip[k] = false
				decode(k)
			}
		}
	}
	defer func() { // let the bytes go; the slice is used again
		clear(raws)
		im.raws = raws[:0]
	}()
	for i, d := range out {
		line := raws[i].line
		switch {
		case skip[i]:
			im.unchanged()
		case d.field != "":
			im.reject(line, d.field, d.reason)
		case d.err != nil:
			im.rejectErr(line, fieldFeature, d.err, false)
		default:
			if err := im.queue(line, d.rec, false, d.invalid); err != nil {
				return err
			}
		}
	}
	return nil
}

// decodeFeature decodes one feature into the record of its collection
// and validates it. It touches no state of the import, so features are
// decoded side by side.
func decodeFeature(raw []byte) decoded {
	// Most features are incidents: one pass decides, when it succeeds.
	// Anything else is read again the long way, which names what is wrong.
	if rec, err := geo.DecodeFeature(geo.Incidents, raw); err == nil {
		return decoded{rec: rec, invalid: ready(rec)}
	}
	var head struct {
		Geometry json.RawMessage `json:"geometry"`
	}
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' || json.Unmarshal(raw, &head) != nil {
		return decoded{field: fieldFeature, reason: "is not a GeoJSON Feature: a JSON object with type, geometry and properties"}
	}
	g := bytes.TrimSpace(head.Geometry)
	var c geo.Collection
	if len(g) == 0 || bytes.Equal(g, []byte("null")) {
		// No place: a link between actors, if it names them.
		var props struct {
			From *string `json:"from"`
		}
		if json.Unmarshal(raw, &struct {
			Properties *struct {
				From *string `json:"from"`
			} `json:"properties"`
		}{Properties: &props}) != nil || props.From == nil {
			return decoded{field: "geometry", reason: "is required: a Point for an incident, a LineString or MultiLineString for a route; only a link (from, to, relation) has none"}
		}
		c = geo.Links
	} else {
		var geom struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(g, &geom); err != nil {
			return decoded{field: "geometry", reason: "is not a GeoJSON geometry object"}
		}
		var ok bool
		if c, ok = geo.CollectionOf(geom.Type); !ok {
			return decoded{field: "geometry", reason: fmt.Sprintf("type %q is not one Nexus keeps: a Point is an incident, a LineString or MultiLineString a route", geom.Type)}
		}
	}
	rec, err := geo.DecodeFeature(c, raw)
	if err != nil {
		return decoded{err: err}
	}
	return decoded{rec: rec, invalid: ready(rec)}
}

// malformed turns a decoding error into EMALFORMED with the line where the
// input broke, or passes on an error of the reader.
func (j *jsonReader) malformed(err error) error {
	if j.lines.big != nil {
		return j.lines.big
	}
	if j.lines.err != nil {
		return j.readErr(j.lines.err)
	}
	var syntax *json.SyntaxError
	switch {
	case (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) && j.seq:
		// Not the end of the input: more texts may follow, and the line
		// index has read ahead of this one.
		return geo.Errorf(geo.EMALFORMED, "malformed JSON: the text ends in the middle of a value")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return geo.Errorf(geo.EMALFORMED, "malformed JSON: the input ends in the middle of a value (line %d)", j.lines.lastLine())
	case errors.As(err, &syntax):
		// The offset of a SyntaxError counts only the bytes the decoder
		// scanned as values; where the decoder stands is a better guide.
		return geo.Errorf(geo.EMALFORMED, "malformed JSON near line %d: %v", j.lines.lineAt(j.base+j.dec.InputOffset()), err)
	}
	return geo.Errorf(geo.EMALFORMED, "malformed JSON: %v", err)
}

// readErr wraps an error of the reader.
func (j *jsonReader) readErr(err error) error {
	return fmt.Errorf("reading the input: %w", err)
}

// jsonKind names the JSON type of a token.
func jsonKind(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		if tok == json.Delim('[') {
			return "array"
		}
		return "object"
	case string:
		return "string"
	case float64, json.Number:
		return "number"
	case bool:
		return "boolean"
	}
	return "null"
}

// segment reads one text of an RFC 8142 sequence: up to the next RS.
type segment struct {
	br   *bufio.Reader
	buf  []byte // read from br, not yet returned
	done bool   // the RS or the end of input was met
	eof  bool   // the end of input was met
	n    int64  // bytes returned, the RS excluded
}

func (s *segment) Read(p []byte) (int, error) {
	for len(s.buf) == 0 {
		if s.done {
			return 0, io.EOF
		}
		b, err := s.br.ReadSlice(recordSeparator)
		switch {
		case err == nil:
			b, s.done = b[:len(b)-1], true
		case errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			s.done, s.eof = true, true
		default:
			return 0, err
		}
		s.buf = b
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	s.n += int64(n)
	return n, nil
}

// lineIndex counts lines as the input is read, so that an offset can be
// turned into a line number. It keeps only the newlines ahead of the last
// offset asked about: offsets must be asked about in order.
type lineIndex struct {
	r    io.Reader
	pos  int64   // bytes read
	from int64   // where the feature being decoded starts; -1 between features
	max  int64   // the most bytes of one feature; 0 no limit
	big  error   // set once a feature passes max
	nl   []int64 // offsets of the newlines not yet passed
	line int64   // line number at the last offset asked about
	err  error   // the first error of r other than io.EOF
}

func (l *lineIndex) Read(p []byte) (int, error) {
	if l.max > 0 && l.from >= 0 && l.pos-l.from > l.max {
		// The decoder would hold the whole feature: stop before it does.
		l.big = geo.Errorf(geo.ETOOLARGE, "the feature starting on line %d is larger than the limit of %d bytes for one feature; the import stopped there", l.lineAt(l.from), l.max)
		return 0, l.big
	}
	n, err := l.r.Read(p)
	for i := 0; i < n; {
		k := bytes.IndexByte(p[i:n], '\n')
		if k < 0 {
			break
		}
		l.nl = append(l.nl, l.pos+int64(i+k))
		i += k + 1
	}
	l.pos += int64(n)
	if err != nil && err != io.EOF && l.err == nil {
		l.err = err
	}
	return n, err
}

// lineAt returns the 1-based line of the byte at offset off. An offset
// behind the last one asked about gets that one's line.
func (l *lineIndex) lineAt(off int64) int64 {
	i := 0
	for i < len(l.nl) && l.nl[i] < off {
		i++
	}
	l.line += int64(i)
	l.nl = l.nl[i:]
	return l.line
}

// lastLine returns the line of the last byte read.
func (l *lineIndex) lastLine() int64 {
	return l.lineAt(l.pos - 1)
}
