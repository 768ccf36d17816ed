package live

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"nexus/geo"
	"nexus/limit"
	"nexus/store"
)

// bigIncident is an incident of about 250 KB, most of it in its sources.
func bigIncident(t testing.TB, title string) geo.Record {
	t.Helper()
	var sources []string
	for i := 0; i < geo.MaxItems; i++ {
		sources = append(sources, fmt.Sprintf(`{"title":"%d %s","publisher":"%s"}`, i, strings.Repeat("s", 600), strings.Repeat("p", 600)))
	}
	r, err := geo.DecodeFeature(geo.Incidents, fmt.Appendf(nil,
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[-74,4]},"properties":{"title":%q,"type":"attack","date":"2024-05-01","sources":[%s]}}`,
		title, strings.Join(sources, ",")))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The changes the hub keeps for replays are bounded by their memory, not
// only by their count: many versions of a large record, with nobody
// connected, do not pile up; a replay from before them reads the log and
// misses nothing.
func TestRecentChangesBoundedByBytes(t *testing.T) {
	const budget = 2 << 20
	e := newEnv(t, Options{RecentBytes: budget})
	ctx := context.Background()
	first, err := e.db.Create(ctx, "tester", bigIncident(t, "version 1"))
	if err != nil {
		t.Fatal(err)
	}
	const versions = 16
	for v := 2; v <= versions; v++ {
		if _, _, err := e.db.Replace(ctx, "tester", first.ID, 0, bigIncident(t, fmt.Sprint("version ", v))); err != nil {
			t.Fatal(err)
		}
	}
	last, _ := e.db.LastSeq(ctx)
	for e.hub.Seq() < last {
		time.Sleep(5 * time.Millisecond)
	}
	e.hub.mu.Lock()
	held, n := e.hub.recent.bytes, e.hub.recent.n
	e.hub.mu.Unlock()
	if held > budget || n >= versions {
		t.Fatalf("the hub holds %d changes in %d bytes, over its budget of %d", n, held, budget)
	}
	c := e.dial(nil, nil)
	c.subscribe("", 0)
	for v := 1; v <= versions; v++ {
		m := c.read()
		if m.Type != "change" || m.ID != first.ID || !strings.Contains(string(m.Feature), fmt.Sprintf(`"version %d"`, v)) {
			t.Fatalf("replay frame %d: %s %s seq %d", v, m.Type, m.ID, m.Seq)
		}
	}
}

// A connection's frames are answered in the order they were sent: a
// subscribe that is answered with reset (a since ahead of the log), sent
// just before a malformed frame, gets its reset before the malformed frame
// gets its error, however the two meet the writer.
func TestAnswersComeInTheOrderOfTheFrames(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.dial(nil, nil)
	for i := range 200 {
		c.send(`{"type":"subscribe","since":5}`)
		c.send(`{"type":"sync"}`)
		if m := c.read(); m.Type != "reset" {
			t.Fatalf("round %d: the first answer is %+v, want the subscribe's reset", i, m)
		}
		if m := c.read(); m.Type != "error" {
			t.Fatalf("round %d: the second answer is %+v, want the error for the malformed frame", i, m)
		}
	}
}

// A subscribe costs a bounded replay: a since more than MaxReplay changes
// back is answered with reset, at no cost of reading, and the client goes
// on live from there; one within reach replays every change after it.
func TestReplayFurtherThanMaxReplayIsAReset(t *testing.T) {
	e := newEnv(t, Options{MaxReplay: 3})
	var ids []string
	for i := range 5 {
		ids = append(ids, e.create(-74, 4, fmt.Sprint("incident ", i)).ID)
	}
	last, err := e.db.LastSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for e.hub.Seq() < last {
		time.Sleep(5 * time.Millisecond)
	}
	c := e.dial(nil, nil)
	c.subscribe("", 0)
	if m := c.read(); m.Type != "reset" || m.Seq != last {
		t.Fatalf("since 0, 5 changes back with MaxReplay 3: got %s seq %d, want reset at %d", m.Type, m.Seq, last)
	}
	fresh := e.create(-74, 4, "after the reset").ID
	newest := c.expect(fresh)[0].Seq

	d := e.dial(nil, nil)
	d.subscribe("", newest-3)
	d.expect(ids[3:]...)
	d.expect(fresh)
}

// Replays from the log cost their caller: a subscribe that would read more
// changes from the log than the caller has left in its budget is answered
// with 429 and retry_after, and the view stays as it was; a replay from
// memory costs nothing.
func TestLogReplaysAreBudgetedPerCaller(t *testing.T) {
	e := openEnv(t)
	e.ring = 1 // the hub holds only the newest change: the rest is read from the log
	e.start(Options{Replays: limit.Rate{PerSecond: 0.001, Burst: 4}, MaxReplay: 4}, nil)
	var ids []string
	for i := range 4 {
		ids = append(ids, e.create(-74, 4, fmt.Sprint("incident ", i)).ID)
	}
	last, err := e.db.LastSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for e.hub.Seq() < last {
		time.Sleep(5 * time.Millisecond)
	}
	// 3 changes from the log, the last from memory: within the budget.
	a := e.dial(nil, nil)
	a.subscribe("", 0)
	a.expect(ids...)

	// The same caller (the same address, no token) has 1 left.
	b := e.dial(nil, nil)
	b.subscribe(boxEurope, -1)
	b.sync()
	b.subscribe("", 0)
	m := b.read()
	if m.Type != "error" || m.Status != 429 || m.RetryAfter < 1 {
		t.Fatalf("a second replay of 3 changes from the log with 1 left: got %+v, want an error of status 429 with retry_after", m)
	}
	// The view is still Europe's.
	e.create(-74, 4, "in Bogotá")
	eu := e.create(2, 45, "in Europe").ID
	newest := b.expect(eu)[0].Seq
	// From memory it costs nothing.
	b.subscribe("", newest-1)
	b.expect(eu)
}

// A reader's replay leaves out the content of records deleted since, also
// while the hub has not yet fanned out what the log holds (here written by
// another handle on the file, which the hub would only find at its next
// poll): the replay runs to the log's end, not to the hub's.
func TestReplayToAReaderHidesDeletedContentWhileTheHubLags(t *testing.T) {
	e := openEnv(t)
	e.start(Options{PollInterval: time.Hour}, nil)
	<-e.hub.ready
	other, err := store.Open(e.db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	s, err := other.Create(ctx, "tester", incident(t, -74, 4, "Informant met handler"))
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Delete(ctx, "tester", geo.Incidents, s.ID, 0); err != nil {
		t.Fatal(err)
	}
	c := e.dial(nil, nil)
	c.subscribe("", 0)
	// As joined does: the answer to a frame sent after the answer to a
	// first one comes once the subscribe has joined the live stream (or
	// during its replay, whose frames may come between the answers).
	c.send(`{"type":"sync"}`)
	var got []string
	var last string
	for synced, done := 0, false; !done; {
		m := c.read()
		switch {
		case m.Type == "error" && strings.Contains(m.Detail, "unknown type"):
			if synced++; synced == 1 {
				c.send(`{"type":"sync"}`)
			} else {
				// A write through the hub's own handle wakes it: it fans
				// out the create, the delete and this one.
				last = e.create(-74, 4, "Last").ID
			}
			continue
		case strings.Contains(string(m.Feature), "Informant"):
			t.Fatalf("a reader got the content of a deleted record: %s %s seq %d", m.Op, m.ID, m.Seq)
		}
		got = append(got, m.Op+" "+map[bool]string{true: "deleted", false: "last"}[m.ID == s.ID])
		done = m.ID == last
	}
	if fmt.Sprint(got) != "[delete deleted upsert last]" {
		t.Fatalf("reader's replay %v, want [delete deleted upsert last]", got)
	}
}
