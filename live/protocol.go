package live

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
	seq    int64
	id     string // the record's
	del    bool   // the change deleted it
	coll   geo.Collection
	before *keyed // the record before the change; nil for a create
	after  *keyed // the record after the change; nil for a delete
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
	key := func(r geo.Record) *keyed {
		if r == nil {
			return nil
		}
		k := r.Keys()
		return &keyed{keys: k, folded: geo.Fold(k.Text)}
	}
	return &entry{seq: ch.Seq, id: ch.ID, del: ch.Op == geo.OpDelete || len(ch.After) == 0, coll: ch.Collection, before: key(before), after: key(after)}, nil
}

// size is about how many bytes of memory the entry holds.
func (e *entry) size() int {
	n := 256
	for _, kd := range []*keyed{e.before, e.after} {
		if kd == nil {
			continue
		}
		k := &kd.keys
		n += 2*len(k.Text) + 64*len(k.Boxes)
		for _, a := range k.Actors {
			n += len(a) + 16
		}
		switch g := k.Shape.(type) {
		case orb.LineString:
			n += 16 * len(g)
		case orb.MultiLineString:
			for _, l := range g {
				n += 16 * len(l)
			}
		}
	}
	return n
}

// changeFrame encodes the frame sent for a change: creates and updates are
// upserts carrying the record after the change, deletes carry no feature.
// The frame for subscribers whose view the record leaves is leaveFrame of
// it.
func changeFrame(ch *geo.Change) []byte {
	op := "upsert"
	if ch.Op == geo.OpDelete || len(ch.After) == 0 {
		op = "delete"
	}
	b := make([]byte, 0, len(ch.After)+128)
	b = append(b, changePrefix...)
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

// changePrefix opens every change frame; the seq follows it.
const changePrefix = `{"type":"change","seq":`

// leaveFrame turns an upsert frame into the one sent to subscribers whose
// view the record leaves with this change (it matched before, not after):
// the same frame ending with "matches":false, so that the client removes
// the record from its view instead of drawing it.
func leaveFrame(upsert []byte) []byte {
	b := make([]byte, 0, len(upsert)+16)
	b = append(b, upsert[:len(upsert)-1]...)
	return append(b, `,"matches":false}`...)
}

// ChangeSeq reads the seq of a change frame without decoding the rest of
// it, for clients that only count and order what they receive (the load
// generator); ok is false for any other frame.
func ChangeSeq(frame []byte) (seq int64, ok bool) {
	if !bytes.HasPrefix(frame, []byte(changePrefix)) {
		return 0, false
	}
	rest := frame[len(changePrefix):]
	end := bytes.IndexByte(rest, ',')
	if end < 0 {
		return 0, false
	}
	seq, err := strconv.ParseInt(string(rest[:end]), 10, 64)
	return seq, err == nil
}

// Frame is a server frame as a client reads it: hello, change, reset,
// alert or error.
type Frame struct {
	Type       string          `json:"type"`
	Seq        int64           `json:"seq"`
	Op         string          `json:"op"` // change: upsert or delete
	Collection string          `json:"collection"`
	ID         string          `json:"id"`
	Feature    json.RawMessage `json:"feature"`     // change: the record after an upsert
	Matches    *bool           `json:"matches"`     // change: false when the record leaves the view
	Status     int             `json:"status"`      // error: 400 a frame the server cannot use, 429 a subscribe over the limit
	Detail     string          `json:"detail"`      // error: what is wrong, for a human
	RetryAfter int             `json:"retry_after"` // error 429: seconds to wait before subscribing again
}

// ParseFrame reads a server frame.
func ParseFrame(data []byte) (Frame, error) {
	var f Frame
	err := json.Unmarshal(data, &f)
	return f, err
}

// seqFrame encodes the hello and reset frames.
func seqFrame(typ string, seq int64) []byte {
	b := append([]byte(`{"type":"`), typ...)
	b = append(b, `","seq":`...)
	b = strconv.AppendInt(b, seq, 10)
	return append(b, '}')
}

// errorFrame encodes the error frame of a client frame the server cannot
// use, with a human message.
func errorFrame(msg string) []byte {
	b := append([]byte(`{"type":"error","status":400,"detail":`), appendString(nil, msg)...)
	return append(b, '}')
}

// limitedFrame encodes the error frame of a subscribe over the rate
// limit: status 429 and the seconds to wait.
func limitedFrame(msg string, retryAfter int) []byte {
	b := append([]byte(`{"type":"error","status":429,"detail":`), appendString(nil, msg)...)
	b = append(b, `,"retry_after":`...)
	b = strconv.AppendInt(b, int64(retryAfter), 10)
	return append(b, '}')
}

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}

// subscription is a client's view, compiled by geo for cheap matching.
type subscription struct {
	m *geo.Matcher
	f geo.Filter // as resolved
}

// compile turns a filter into a subscription.
func compile(f geo.Filter) *subscription { return &subscription{m: f.Matcher(), f: f} }

// follow moves a corridor along with its route: once a change to the route
// of near_route is matched, the changes after it are matched against the
// route's new line. A deleted route's corridor keeps its last line.
func (s *subscription) follow(e *entry) {
	n := s.f.Near
	if n == nil || n.Route == "" || e.coll != geo.Routes || e.id != n.Route || e.after == nil {
		return
	}
	f := s.f
	f.Near = &geo.Near{Route: n.Route, Km: n.Km, Path: e.after.keys.Shape}
	s.f, s.m = f, f.Matcher()
}

// unresolved copies a filter as a client sent it, so that resolving the
// copy (which rewrites actors and fills in a route's line) leaves the
// original as sent.
func unresolved(f geo.Filter) geo.Filter {
	out := f
	for _, l := range []*[]string{&out.Types, &out.Commodities, &out.Actors, &out.Countries} {
		*l = slices.Clone(*l)
	}
	if n := f.Near; n != nil {
		out.Near = &geo.Near{Point: n.Point, Route: n.Route, Km: n.Km}
		if n.Route == "" {
			out.Near.Path = n.Path
		}
	}
	return out
}

// verdict is what a subscription makes of a change.
type verdict uint8

const (
	skip  verdict = iota // the change does not concern the view
	send                 // send the change frame
	leave                // send leaveFrame: the record leaves the view
)

// match tells whether the change concerns the subscription: the record
// after the change matches (an upsert to draw), or the record before it
// does, so that a deleted record, or one that moves out of the view, is
// still delivered and the client can remove it.
func (s *subscription) match(e *entry) verdict {
	v := s.verdict(e)
	s.follow(e)
	return v
}

func (s *subscription) verdict(e *entry) verdict {
	if e.after != nil && s.m.Match(e.coll, &e.after.keys, e.after.folded) {
		return send
	}
	if e.before != nil && s.m.Match(e.coll, &e.before.keys, e.before.folded) {
		if e.after == nil {
			return send
		}
		return leave
	}
	return skip
}

// request is a subscribe frame, parsed and checked.
type request struct {
	filter geo.Filter
	since  int64
	resume bool        // since was given
	asked  *geo.Filter // the filter as the client sent it, before resolving, to resolve again
	again  bool        // the hub resolves the view again: it costs the client no budget
}

// clientFrame is what a client sends.
type clientFrame struct {
	Type   string          `json:"type"`
	BBox   json.RawMessage `json:"bbox"`
	Filter *geo.FilterSpec `json:"filter"` // the names and rules of the HTTP API's filter
	Since  *int64          `json:"since"`
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
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, errors.New("bbox must be an array of four numbers [west, south, east, north]")
		}
		box, err := geo.BBoxOf(v)
		if err != nil {
			return nil, errors.New(geo.ErrorMessage(err))
		}
		req.filter.BBox = &box
	}
	if f.Filter != nil {
		flt, err := f.Filter.Filter()
		if err != nil {
			return nil, errors.New(geo.ErrorMessage(err))
		}
		flt.BBox = req.filter.BBox
		req.filter = flt
	}
	if err := req.filter.Clean(); err != nil {
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
