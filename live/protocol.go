package live

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"nexus/geo"
)

// Frame sizes, in bytes. A client frame up to maxFrame is read and answered
// with an error frame when it is over softLimit; a bigger one ends the
// connection (gorilla closes it with 1009, message too big).
const (
	softLimit = 64 << 10
	maxFrame  = 1 << 20
)

// entry is one change of the log as the hub sees it: decoded once, its
// filter keys computed once, and (on the live path) its frame encoded once.
type entry struct {
	seq  int64
	coll geo.Collection
	recs [2]keyed // the record before and after the change
	n    int      // how many of recs are set
}

// keyed is one state of a record with the keys subscriptions match on.
// An entry is shared by goroutines once built: it is never written again.
type keyed struct {
	keys   geo.Keys
	folded string // keys.Text folded, for full-text words
}

// decode reads the records of a change and computes their keys.
func decode(ch *geo.Change) (*entry, error) {
	before, after, err := ch.Records()
	if err != nil {
		return nil, fmt.Errorf("change %d: %w", ch.Seq, err)
	}
	e := &entry{seq: ch.Seq, coll: ch.Collection}
	for _, r := range []geo.Record{before, after} {
		if r != nil {
			k := r.Keys()
			e.recs[e.n] = keyed{keys: k, folded: geo.Fold(k.Text)}
			e.n++
		}
	}
	return e, nil
}

// changeFrame encodes the frame sent for a change: creates and updates are
// upserts carrying the record after the change, deletes carry no feature.
func changeFrame(ch *geo.Change) []byte {
	op := "upsert"
	if ch.Op == geo.OpDelete || len(ch.After) == 0 {
		op = "delete"
	}
	b := make([]byte, 0, len(ch.After)+128)
	b = append(b, `{"type":"change","seq":`...)
	b = strconv.AppendInt(b, ch.Seq, 10)
	b = append(b, `,"op":"`...)
	b = append(b, op...)
	b = append(b, `","collection":`...)
	b = appendString(b, string(ch.Collection))
	b = append(b, `,"id":`...)
	b = appendString(b, ch.ID)
	if op == "upsert" {
		b = append(b, `,"feature":`...)
		b = append(b, ch.After...)
	}
	return append(b, '}')
}

// seqFrame encodes the hello and reset frames.
func seqFrame(typ string, seq int64) []byte {
	b := append([]byte(`{"type":"`), typ...)
	b = append(b, `","seq":`...)
	b = strconv.AppendInt(b, seq, 10)
	return append(b, '}')
}

// errorFrame encodes an error frame with a human message.
func errorFrame(msg string) []byte {
	b := append([]byte(`{"type":"error","message":`), appendString(nil, msg)...)
	return append(b, '}')
}

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}

// subscription is a client's view, compiled for cheap matching: the box
// test comes first, then the other keys, then full-text words.
type subscription struct {
	bounds [2]orb.Bound // the box, split at the antimeridian
	nb     int          // bounds in use; 0: everywhere
	rest   geo.Filter   // the filter without box and text
	simple bool         // rest selects everything
	words  []string     // folded full-text words, all required
}

// match reports whether the change concerns the subscription: the record
// before or after it matches, so a record that moves out of the view is
// still delivered and the map can remove it.
func (s *subscription) match(e *entry) bool {
	for i := 0; i < e.n; i++ {
		if s.matchOne(e.coll, &e.recs[i]) {
			return true
		}
	}
	return false
}

func (s *subscription) matchOne(c geo.Collection, k *keyed) bool {
	if s.nb > 0 && !s.intersects(k.keys.Boxes) {
		return false
	}
	if !s.simple && !s.rest.MatchKeys(c, k.keys) {
		return false
	}
	if len(s.words) > 0 {
		for _, w := range s.words {
			if !strings.Contains(k.folded, w) {
				return false
			}
		}
	}
	return true
}

// intersects is geo.IntersectsAny against the subscription's box, kept
// in the subscription rather than behind a slice: it is the test the hub
// runs most.
func (s *subscription) intersects(boxes []orb.Bound) bool {
	for _, x := range boxes {
		for _, y := range s.bounds[:s.nb] {
			if x.Min[0] <= y.Max[0] && y.Min[0] <= x.Max[0] && x.Min[1] <= y.Max[1] && y.Min[1] <= x.Max[1] {
				return true
			}
		}
	}
	return false
}

// compile turns a filter into a subscription.
func compile(f geo.Filter) *subscription {
	s := &subscription{rest: f}
	if f.BBox != nil {
		s.nb = copy(s.bounds[:], f.BBox.Bounds())
	}
	s.words = geo.Words(f.Q)
	s.rest.BBox, s.rest.Q = nil, ""
	s.simple = (s.rest.Span == geo.All || s.rest.Span == geo.Span{}) && f.Near == nil &&
		len(f.Types) == 0 && len(f.Commodities) == 0 && len(f.Actors) == 0 && len(f.Countries) == 0
	return s
}

// request is a subscribe frame, parsed and checked.
type request struct {
	filter geo.Filter
	since  int64
	resume bool // since was given
}

// clientFrame is what a client sends.
type clientFrame struct {
	Type   string          `json:"type"`
	BBox   json.RawMessage `json:"bbox"`
	Filter *clientFilter   `json:"filter"`
	Since  *int64          `json:"since"`
}

// clientFilter is the filter member of a subscribe frame: the same names
// as the query parameters of the HTTP API.
type clientFilter struct {
	Type      []string `json:"type"`
	Actor     []string `json:"actor"`
	Country   []string `json:"country"`
	Commodity []string `json:"commodity"`
	Q         string   `json:"q"`
	Datetime  string   `json:"datetime"`
	Near      string   `json:"near"`       // "lon,lat,km"
	NearRoute string   `json:"near_route"` // a route's id, with Km
	Km        *float64 `json:"km"`
}

// parseRequest reads one client frame. Its errors are messages for the
// client.
func parseRequest(data []byte) (*request, error) {
	var f clientFrame
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(&f); err != nil {
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typ):
			return nil, fmt.Errorf("%s must be %s", typ.Field, geo.JSONTypeName(typ.Type))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return nil, fmt.Errorf("unknown member %s; a subscribe frame has type, bbox, filter and since", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	if d.More() {
		return nil, errors.New("one JSON object per frame")
	}
	switch f.Type {
	case "subscribe":
	case "":
		return nil, errors.New(`a frame needs a type; the server understands "subscribe"`)
	default:
		return nil, fmt.Errorf(`unknown type %q; the server understands "subscribe"`, f.Type)
	}
	req := &request{filter: geo.NewFilter()}
	if b := bytes.TrimSpace(f.BBox); len(b) > 0 && !bytes.Equal(b, []byte("null")) {
		var v []float64
		if err := json.Unmarshal(b, &v); err != nil || len(v) != 4 {
			return nil, errors.New("bbox must be an array of four numbers [west, south, east, north]")
		}
		for _, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, errors.New("bbox values must be finite numbers")
			}
		}
		box := geo.BBox{W: v[0], S: v[1], E: v[2], N: v[3]}
		if err := box.Check(); err != nil {
			return nil, err
		}
		req.filter.BBox = &box
	}
	if ff := f.Filter; ff != nil {
		req.filter.Types, req.filter.Actors, req.filter.Countries, req.filter.Commodities = ff.Type, ff.Actor, ff.Country, ff.Commodity
		req.filter.Q = ff.Q
		if ff.Datetime != "" {
			span, err := geo.ParseInterval(ff.Datetime)
			if err != nil {
				return nil, fmt.Errorf("filter.datetime: %v", err)
			}
			req.filter.Span = span
		}
		if err := checkValues(ff); err != nil {
			return nil, err
		}
		km := ""
		if ff.Km != nil {
			km = strconv.FormatFloat(*ff.Km, 'g', -1, 64)
		}
		near, err := geo.ParseNear(ff.Near, ff.NearRoute, km)
		if err != nil {
			return nil, fmt.Errorf("filter: %s", geo.ErrorMessage(err))
		}
		req.filter.Near = near
	}
	if err := req.filter.Check(); err != nil {
		return nil, errors.New(geo.ErrorMessage(err))
	}
	if f.Since != nil {
		if *f.Since < 0 {
			return nil, fmt.Errorf("since must be 0 or more, got %d", *f.Since)
		}
		req.since, req.resume = *f.Since, true
	}
	return req, nil
}

// checkValues refuses filter values that can never match, so that a typo
// is an error rather than a silent empty view.
func checkValues(ff *clientFilter) error {
	for _, t := range ff.Type {
		if !contains(geo.IncidentTypes, t) {
			return fmt.Errorf("filter.type %q is not one of %s", t, strings.Join(geo.IncidentTypes, ", "))
		}
	}
	for _, c := range ff.Commodity {
		if !contains(geo.Commodities, c) {
			return fmt.Errorf("filter.commodity %q is not one of %s", c, strings.Join(geo.Commodities, ", "))
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
