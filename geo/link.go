package geo

import (
	"strings"

	"github.com/paulmach/orb"
)

// Links is the collection of relations between actors.
const Links Collection = "links"

// Relations between actors that a link states.
var Relations = []string{"financing", "supply", "alliance", "hire", "rivalry", "other"}

// Link is a relation between two actors that a source states: who finances,
// supplies, allies with, hires or fights whom, and when. It has no place:
// its Feature's geometry is null.
type Link struct {
	From       string   `json:"from"`
	To         string   `json:"to"`
	Relation   string   `json:"relation"`
	DateFrom   string   `json:"date_from,omitempty"`
	DateTo     string   `json:"date_to,omitempty"`
	Confidence string   `json:"confidence,omitempty"`
	Summary    string   `json:"summary,omitempty"`
	Sources    []Source `json:"sources"`
	Tags       []string `json:"tags"`
	ExternalID string   `json:"external_id,omitempty"`
	Meta
}

// Collection implements Record.
func (*Link) Collection() Collection { return Links }

// Base implements Record.
func (l *Link) Base() *Meta { return &l.Meta }

// Geometry implements Record: a link has none.
func (*Link) Geometry() orb.Geometry { return nil }

// Validate implements Record.
func (l *Link) Validate() error {
	var v invalid
	checkString(&v, "from", l.From, true, MaxTitle)
	checkString(&v, "to", l.To, true, MaxTitle)
	if l.From != "" && l.To != "" && ActorKey(l.From) == ActorKey(l.To) {
		v.add("to", "is the same actor as from (%q); a link joins two actors", l.From)
	}
	checkEnum(&v, "relation", l.Relation, true, Relations)
	checkDate(&v, "date_from", l.DateFrom, false)
	checkDate(&v, "date_to", l.DateTo, false)
	if l.DateFrom != "" && l.DateTo != "" {
		a, errA := ParseDate(l.DateFrom)
		b, errB := ParseDate(l.DateTo)
		if errA == nil && errB == nil && a.Start >= b.End {
			v.add("date_to", "%s is before date_from %s", l.DateTo, l.DateFrom)
		}
	}
	checkEnum(&v, "confidence", l.Confidence, false, Confidences)
	checkString(&v, "summary", l.Summary, false, MaxSummary)
	checkSources(&v, l.Sources)
	checkList(&v, "tags", l.Tags)
	checkString(&v, "external_id", l.ExternalID, false, MaxTitle)
	return v.err()
}

// Keys implements Record: a link is found by its two actors, its relation
// (its kind) and its dates; it has no box and no country, so a spatial
// filter never selects it.
func (l *Link) Keys() Keys {
	span := All
	if s, err := ParseDate(l.DateFrom); err == nil {
		span.Start = s.Start
	}
	if s, err := ParseDate(l.DateTo); err == nil {
		span.End = s.End
	}
	return Keys{
		Kind:       l.Relation,
		Span:       span,
		Actors:     []string{l.From, l.To},
		ExternalID: l.ExternalID,
		Text:       joinText(l.From, l.To, l.Relation, l.Summary, strings.Join(l.Tags, " ")),
	}
}

// Normalize implements Record: lists are never null.
func (l *Link) Normalize(func(lon, lat float64) string) {
	l.Sources, l.Tags = nonNil(l.Sources), nonNil(l.Tags)
}
