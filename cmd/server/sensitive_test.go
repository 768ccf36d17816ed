package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	orbgeo "github.com/paulmach/orb/geo"
	"github.com/paulmach/orb/maptile"

	"nexus/geo"
	"nexus/internal/pgtest"
)

// inCell is a point near the south-west corner of the coarse cell of p,
// to 1e-7 degrees: about 4 km north-south and east-west from the cell's
// centre, where viewers see it.
func inCell(p orb.Point) orb.Point {
	c := geo.CoarseCell(p)
	r7 := func(v float64) float64 { return math.Round(v*1e7) / 1e7 }
	return orb.Point{r7(c.Min[0] + 0.1*(c.Max[0]-c.Min[0]) + 1.23e-5), r7(c.Min[1] + 0.1*(c.Max[1]-c.Min[1]) + 4.56e-5)}
}

// num is a coordinate as the server writes it in text.
func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// le is a coordinate as a GeoPackage's WKB holds it, be as SQLite keeps a
// REAL.
func le(v float64) []byte { return binary.LittleEndian.AppendUint64(nil, math.Float64bits(v)) }
func be(v float64) []byte { return binary.BigEndian.AppendUint64(nil, math.Float64bits(v)) }

// marks are the byte strings an output shows of a set of positions: each
// number as text and as a little-endian float64.
func marks(pts []orb.Point) [][]byte {
	var out [][]byte
	for _, p := range pts {
		out = append(out, []byte(num(p[0])), []byte(num(p[1])), le(p[0]), le(p[1]), be(p[0]), be(p[1]))
	}
	return out
}

// shows reports whether body holds the position: both of its numbers, as
// text or as binary.
func shows(body []byte, p orb.Point) bool {
	text := bytes.Contains(body, []byte(num(p[0]))) && bytes.Contains(body, []byte(num(p[1])))
	bin := bytes.Contains(body, le(p[0])) && bytes.Contains(body, le(p[1]))
	return text || bin
}

// leaks lists the numbers of the positions that appear in body in any form.
func leaks(body []byte, pts []orb.Point) []string {
	var out []string
	for _, m := range marks(pts) {
		if bytes.Contains(body, m) {
			out = append(out, fmt.Sprintf("%q", m))
		}
	}
	return out
}

// follow reads a websocket's frames as they come, into a channel that
// holds many; a last frame {"type":"closed","error":…} says how it ended.
func follow(c *websocket.Conn) chan []byte {
	frames := make(chan []byte, 1<<14)
	go func() {
		for {
			_, b, err := c.ReadMessage()
			if err != nil {
				frames <- []byte(`{"type":"closed","error":` + strconv.Quote(err.Error()) + `}`)
				return
			}
			frames <- b
		}
	}()
	return frames
}

func distanceKm(a, b orb.Point) float64 { return orbgeo.DistanceHaversine(a, b) / 1000 }

func box(p orb.Point, d float64) string {
	return fmt.Sprintf("%s,%s,%s,%s", num(p[0]-d), num(p[1]-d), num(p[0]+d), num(p[1]+d))
}

func polygon(p orb.Point, d float64) string {
	w, s, e, n := num(p[0]-d), num(p[1]-d), num(p[0]+d), num(p[1]+d)
	return fmt.Sprintf("S_INTERSECTS(geometry,POLYGON((%s %s,%s %s,%s %s,%s %s,%s %s)))", w, s, e, s, e, n, w, n, w, s)
}

// TestSensitiveLocationsEverywhere checks the rule of sensitive records
// across every output and every filter of the real server, on each engine:
// viewers and anonymous readers never see, nor find by, the exact geometry
// of a sensitive incident or route, only its coarse cell centre; editors
// see and find the exact one.
func TestSensitiveLocationsEverywhere(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testSensitiveLocationsEverywhere(t, filepath.Join(t.TempDir(), "nexus.db")) })
	t.Run("postgres", func(t *testing.T) { testSensitiveLocationsEverywhere(t, pgtest.DB(t)) })
}

// testSensitiveLocationsEverywhere is TestSensitiveLocationsEverywhere on
// the database at dbPath (a SQLite file or a PostgreSQL URL).
func testSensitiveLocationsEverywhere(t *testing.T, dbPath string) {
	s := startWatchServer(t, dbPath)
	defer s.Close()
	base := s.URL

	// The sensitive incident P, its coarse point C; the route's three
	// vertices, west to east along one parallel, and their coarse ones.
	P := inCell(orb.Point{-74.0537, 4.6668})
	C := geo.CoarsePoint(P)
	V := []orb.Point{inCell(orb.Point{-77.5, 8.3}), inCell(orb.Point{-75.9, 8.3}), inCell(orb.Point{-74.3, 8.3})}
	var CV []orb.Point
	for _, v := range V {
		CV = append(CV, geo.CoarsePoint(v))
	}
	exact := append([]orb.Point{P}, V...)
	coarse := append([]orb.Point{C}, CV...)
	if d := distanceKm(P, C); d < 3 {
		t.Fatalf("the exact point is %.1f km from its coarse one; the test needs more", d)
	}

	post := func(c, feature string) string {
		t.Helper()
		st, b, _ := do(t, base, s.editor, "POST", "/api/collections/"+c+"/items", feature)
		if st != 201 {
			t.Fatalf("create %s: %d %s", c, st, b)
		}
		var f struct{ ID string }
		json.Unmarshal(b, &f)
		return f.ID
	}
	pointJSON := func(p orb.Point) string { return "[" + num(p[0]) + "," + num(p[1]) + "]" }
	incID := post("incidents", `{"type":"Feature","geometry":{"type":"Point","coordinates":`+pointJSON(P)+`},"properties":{"title":"Witness house","type":"kidnapping","date":"2024-03-02","precision":"exact","actors":["Frente Sensible"],"sensitive":true}}`)
	routeID := post("routes", `{"type":"Feature","geometry":{"type":"LineString","coordinates":[`+pointJSON(V[0])+`,`+pointJSON(V[1])+`,`+pointJSON(V[2])+`]},"properties":{"name":"Informant's path","commodity":"cash","actors":["Frente Sensible"],"sensitive":true}}`)
	// Probes of the corridor filter: one 11 m from the route's exact
	// middle vertex, one 11 m from its coarse one.
	near := func(p orb.Point) orb.Point { return orb.Point{p[0] + 0.0001, p[1] + 0.0001} }
	onExact := post("incidents", `{"type":"Feature","geometry":{"type":"Point","coordinates":`+pointJSON(near(V[1]))+`},"properties":{"title":"Probe on the exact path","type":"other","date":"2024"}}`)
	onCoarse := post("incidents", `{"type":"Feature","geometry":{"type":"Point","coordinates":`+pointJSON(near(CV[1]))+`},"properties":{"title":"Probe on the coarse path","type":"other","date":"2024"}}`)
	// Enough incidents 70 to 100 km north-east of the point for a view of
	// the region to draw clusters: the cluster of P's cell holds P alone.
	var many strings.Builder
	many.WriteString(`{"type":"FeatureCollection","features":[`)
	for i := range 1001 {
		if i > 0 {
			many.WriteByte(',')
		}
		fmt.Fprintf(&many, `{"type":"Feature","geometry":{"type":"Point","coordinates":[%v,%v]},"properties":{"title":"Filler %d","type":"other","date":"2020"}}`, C[0]+0.6+float64(i%30)*0.01, C[1]+0.6+float64(i/30)*0.01, i)
	}
	many.WriteString("]}")
	if st, b, _ := do(t, base, s.editor, "POST", "/api/import", many.String()); st != 200 {
		t.Fatalf("import: %d %s", st, b)
	}
	clusters := map[string][]byte{}
	for _, tok := range []string{"", s.viewer} {
		_, clusters[tok], _ = do(t, base, tok, "GET", "/api/view?zoom=8&bbox="+box(C, 1), nil)
		if !bytes.Contains(clusters[tok], []byte(`"clustered":true`)) {
			t.Fatalf("the view of the region is not clustered: %.300s", clusters[tok])
		}
	}

	// Watches of the viewer: a circle of 1 km and a square around the
	// exact point, a circle around the coarse point with a webhook; an
	// editor's change of the incident then alerts the last only. Likewise
	// circles around the route's exact and coarse middle vertex, and a
	// corridor along the route (its filter's near_route), which follows
	// the route's coarse path.
	rc := newReceiver(t, false)
	exactWatch, _ := s.createWatch(t, `{"type":"Point","coordinates":`+pointJSON(P)+`}`, `{"name":"exact","radius_km":1}`)
	squareAt := func(p orb.Point, d float64) string {
		w, so, e, n := num(p[0]-d), num(p[1]-d), num(p[0]+d), num(p[1]+d)
		return `{"type":"Polygon","coordinates":[[[` + w + `,` + so + `],[` + e + `,` + so + `],[` + e + `,` + n + `],[` + w + `,` + n + `],[` + w + `,` + so + `]]]}`
	}
	exactSquare, _ := s.createWatch(t, squareAt(P, 0.01), `{"name":"exact square"}`)
	coarseWatch, _ := s.createWatch(t, `{"type":"Point","coordinates":`+pointJSON(C)+`}`, `{"name":"coarse","radius_km":1,"webhook":"`+rc.URL+`/hook"}`)
	exactRouteWatch, _ := s.createWatch(t, `{"type":"Point","coordinates":`+pointJSON(V[1])+`}`, `{"name":"exact vertex","radius_km":1}`)
	coarseRouteWatch, _ := s.createWatch(t, `{"type":"Point","coordinates":`+pointJSON(CV[1])+`}`, `{"name":"coarse vertex","radius_km":1}`)
	// The corridor watch covers the whole region: its filter decides.
	corridorWatch, _ := s.createWatch(t, squareAt(V[1], 3), `{"name":"along the route","filter":{"near_route":"`+routeID+`","km":1}}`)

	// Live: a viewer and an editor follow everything; a viewer's view of
	// the exact point alone, and one of the coarse point alone.
	// Each follower's frames are read as they come (the import's changes
	// may still be on their way), and kept.
	subscribe := func(token string, bbox string) chan []byte {
		c := dialLive(t, base, token)
		msg := `{"type":"subscribe"}`
		if bbox != "" {
			msg = `{"type":"subscribe","bbox":[` + bbox + `]}`
		}
		if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		return follow(c)
	}
	liveViewer := subscribe(s.viewer, "")
	alerts := dialLive(t, base, s.viewer) // alerts come whatever the view
	liveAnon := subscribe("", "")
	liveEditor := subscribe(s.editor, "")
	liveExactBox := subscribe(s.viewer, box(P, 0.01))
	liveCoarseBox := subscribe(s.viewer, box(C, 0.01))
	// Views by filter: near each point (the route's corridor follows).
	subscribeFilter := func(token, filter string) chan []byte {
		c := dialLive(t, base, token)
		if err := c.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","filter":`+filter+`}`)); err != nil {
			t.Fatal(err)
		}
		return follow(c)
	}
	nearOf := func(p orb.Point) string { return `{"near":"` + num(p[0]) + `,` + num(p[1]) + `,1"}` }
	liveNearExact := subscribeFilter(s.viewer, nearOf(P))
	liveNearCoarse := subscribeFilter(s.viewer, nearOf(C))

	// The editor changes both sensitive records, then creates two marker
	// incidents (not sensitive), 150 m from the exact point and from the
	// coarse one: a follower of a view of either gets its marker after
	// whatever it gets of the changes before it.
	if st, b, _ := do(t, base, s.editor, "PATCH", "/api/collections/incidents/items/"+incID, `{"properties":{"title":"Witness house (moved in)"}}`, "Content-Type", "application/merge-patch+json"); st != 200 {
		t.Fatalf("patch: %d %s", st, b)
	}
	if st, b, _ := do(t, base, s.editor, "PATCH", "/api/collections/routes/items/"+routeID, `{"properties":{"mode":"land"}}`, "Content-Type", "application/merge-patch+json"); st != 200 {
		t.Fatalf("patch: %d %s", st, b)
	}
	off := func(p orb.Point) orb.Point { return orb.Point{p[0] + 0.001, p[1] + 0.001} }
	marker := post("incidents", `{"type":"Feature","geometry":{"type":"Point","coordinates":`+pointJSON(off(P))+`},"properties":{"title":"Marker","type":"other","date":"2024"}}`)
	marker2 := post("incidents", `{"type":"Feature","geometry":{"type":"Point","coordinates":`+pointJSON(off(C))+`},"properties":{"title":"Marker","type":"other","date":"2024"}}`)

	// framesUntil reads a follower's frames up to the marker's.
	framesUntil := func(frames chan []byte, marker string) (all []byte, ids []string) {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			var b []byte
			select {
			case b = <-frames:
			case <-timeout:
				t.Fatal("no marker")
			}
			var f struct{ Type, ID, Error string }
			json.Unmarshal(b, &f)
			if f.Type == "closed" {
				t.Fatalf("the connection closed before the marker came: %s", f.Error)
			}
			if f.Type != "change" {
				continue
			}
			all = append(append(all, b...), '\n')
			ids = append(ids, f.ID)
			if f.ID == marker {
				return all, ids
			}
		}
	}
	// The viewer's alert of the coarse watch; the webhook.
	alert := nextAlert(t, alerts)
	if alert.Watch != coarseWatch || alert.ID != incID {
		t.Fatalf("the first alert is of watch %s, record %s; want the coarse watch %s, record %s", alert.Watch, alert.ID, coarseWatch, incID)
	}
	hook := rc.next(t)
	// The route's change alerts its corridor's watch (a route lies along
	// itself) and the coarse vertex's, in either order.
	var routeAlert alertFrame
	for routeAlert.Watch != coarseRouteWatch {
		routeAlert = nextAlert(t, alerts)
		if routeAlert.ID != routeID || (routeAlert.Watch != coarseRouteWatch && routeAlert.Watch != corridorWatch) {
			t.Fatalf("an alert of watch %s, record %s; want the coarse vertex's watch %s, record %s", routeAlert.Watch, routeAlert.ID, coarseRouteWatch, routeID)
		}
	}

	get := func(token, path string) []byte {
		t.Helper()
		st, b, _ := do(t, base, token, "GET", path, nil)
		if st != 200 {
			t.Fatalf("GET %s: %d %s", path, st, b)
		}
		return b
	}
	tile := func(token, c string, p orb.Point) []byte {
		t.Helper()
		tl := maptile.At(p, 14)
		raw := get(token, fmt.Sprintf("/api/collections/%s/tiles/WebMercatorQuad/%d/%d/%d", c, tl.Z, tl.Y, tl.X))
		layers, err := mvt.Unmarshal(raw)
		if err != nil {
			t.Fatalf("tile: %v", err)
		}
		layers.ProjectToWGS84(tl)
		// The positions of the tile's features, to the tile's
		// resolution (about a metre): written as they would be exact.
		var out []byte
		for _, l := range layers {
			for _, f := range l.Features {
				geo.EachVertex(f.Geometry, func(q orb.Point) {
					for _, want := range append(append([]orb.Point{}, exact...), coarse...) {
						if distanceKm(q, want) < 0.005 {
							out = append(out, []byte(pointJSON(want)+"\n")...)
						}
					}
				})
			}
		}
		return out
	}

	// Outputs: each row reads something as a caller; viewers must see
	// the coarse positions and none of the exact ones, editors the exact.
	type output struct {
		name   string
		read   func(token string) []byte
		shows  []orb.Point // the coarse positions it must hold for a viewer (the exact ones for an editor)
		editor bool        // also read as the editor
	}
	pathOf := func(p string) func(string) []byte { return func(tok string) []byte { return get(tok, p) } }
	inc, rte := []orb.Point{C}, CV
	both := coarse
	exactOf := func(ps []orb.Point) []orb.Point {
		var out []orb.Point
		for _, p := range ps {
			for i, c := range coarse {
				if c == p {
					out = append(out, exact[i])
				}
			}
		}
		return out
	}
	outputs := []output{
		{"collection incidents (extent)", pathOf("/api/collections/incidents"), nil, false},
		{"collection routes (extent)", pathOf("/api/collections/routes"), nil, false},
		{"item incident", pathOf("/api/collections/incidents/items/" + incID), inc, true},
		{"item route", pathOf("/api/collections/routes/items/" + routeID), rte, true},
		{"items incidents", pathOf("/api/collections/incidents/items?limit=2000"), inc, true},
		{"items routes", pathOf("/api/collections/routes/items"), rte, true},
		{"view points", pathOf("/api/view?bbox=" + box(C, 0.2) + "&zoom=12"), inc, true},
		{"view clusters", func(tok string) []byte { return clusters[tok] }, inc, false},
		{"stats by country", pathOf("/api/stats?by=country&bbox=" + box(C, 0.01)), nil, false},
		{"export geojson", pathOf("/api/export.geojson"), both, true},
		{"export csv of incidents", pathOf("/api/export.csv"), inc, true},
		{"export csv of routes", pathOf("/api/export.csv?collections=routes"), rte, true},
		{"export kml", pathOf("/api/export.kml"), both, true},
		{"export gpkg", pathOf("/api/export.gpkg"), both, true},
		{"tile of incidents at the exact point", func(tok string) []byte { return tile(tok, "incidents", P) }, nil, false},
		{"tile of incidents at the coarse point", func(tok string) []byte { return tile(tok, "incidents", C) }, inc, false},
		{"tile of routes", func(tok string) []byte { return tile(tok, "routes", V[1]) }, nil, false},
		{"tile of routes at the coarse vertex", func(tok string) []byte { return tile(tok, "routes", CV[1]) }, []orb.Point{CV[1]}, false},
		// The command line: exact for whoever runs it, coarse with -public.
		{"server export", func(tok string) []byte {
			args := []string{"-db", dbPath}
			if tok != s.editor {
				args = append(args, "-public")
			}
			var out bytes.Buffer
			if err := exportCmd(context.Background(), args, &out, io.Discard); err != nil {
				t.Fatalf("server export %v: %v", args, err)
			}
			return out.Bytes()
		}, both, true},
		{"history of the incident", pathOf("/api/collections/incidents/items/" + incID + "/history"), inc, true},
		{"history of the route", pathOf("/api/collections/routes/items/" + routeID + "/history"), rte, true},
		{"actor profile", pathOf("/api/actors/" + url.PathEscape("Frente Sensible")), both, true},
		{"live frames (viewer)", func(string) []byte { b, _ := framesUntil(liveViewer, marker2); return b }, both, false},
		{"live frames (anonymous)", func(string) []byte { b, _ := framesUntil(liveAnon, marker2); return b }, both, false},
		{"alert frame", func(string) []byte { b, _ := json.Marshal(alert); return b }, inc, false},
		{"alert frame of the route", func(string) []byte { b, _ := json.Marshal(routeAlert); return b }, rte, false},
		{"webhook", func(string) []byte { return hook.body }, inc, false},
		{"alerts of the coarse watch", pathOf("/api/watches/" + coarseWatch + "/alerts"), inc, false},
		{"alerts of the coarse vertex's watch", pathOf("/api/watches/" + coarseRouteWatch + "/alerts"), rte, false},
	}
	for _, o := range outputs {
		callers := []struct{ name, token string }{{"anonymous", ""}, {"viewer", s.viewer}}
		if strings.Contains(o.name, "watch") || strings.HasPrefix(o.name, "live") || o.name == "alert frame" || o.name == "webhook" {
			callers = callers[1:] // read once; only the owner reads them
		}
		for _, c := range callers {
			body := o.read(c.token)
			if l := leaks(body, exact); len(l) > 0 {
				t.Errorf("%s as %s shows exact coordinates %v:\n%.600s", o.name, c.name, l, body)
			}
			for _, p := range o.shows {
				if !shows(body, p) {
					t.Errorf("%s as %s does not show the coarse position %v:\n%.600s", o.name, c.name, p, body)
				}
			}
		}
		if o.editor {
			body := o.read(s.editor)
			for _, p := range exactOf(o.shows) {
				if !shows(body, p) {
					t.Errorf("%s as editor does not show the exact position %v:\n%.600s", o.name, p, body)
				}
			}
		}
	}
	// The editor's own live frames and tiles are exact.
	if b, _ := framesUntil(liveEditor, marker2); len(leaks(b, exact)) != len(marks(exact))/3 {
		t.Errorf("the editor's live frames do not hold every exact coordinate: %v", leaks(b, exact))
	}
	if b := tile(s.editor, "incidents", P); !bytes.Contains(b, []byte(pointJSON(P))) {
		t.Errorf("the editor's tile at the exact point does not hold it")
	}

	// Filters: what contains the exact position but not the coarse one
	// never finds a sensitive record for a viewer; what contains the
	// coarse one does. Editors find it by the exact one.
	type filter struct {
		name         string
		exact, crude string // items queries around the exact and the coarse position
		coll, id     string // the record they are about
	}
	filters := []filter{
		{"bbox", "bbox=" + box(P, 0.01), "bbox=" + box(C, 0.01), "incidents", incID},
		{"bbox of a route vertex", "bbox=" + box(V[1], 0.01), "bbox=" + box(CV[1], 0.01), "routes", routeID},
		{"near", "near=" + num(P[0]) + "," + num(P[1]) + ",1", "near=" + num(C[0]) + "," + num(C[1]) + ",1", "incidents", incID},
		{"near a route vertex", "near=" + num(V[1][0]) + "," + num(V[1][1]) + ",1", "near=" + num(CV[1][0]) + "," + num(CV[1][1]) + ",1", "routes", routeID},
		{"cql2 s_intersects", "filter-lang=cql2-text&filter=" + url.QueryEscape(polygon(P, 0.01)), "filter-lang=cql2-text&filter=" + url.QueryEscape(polygon(C, 0.01)), "incidents", incID},
		{"cql2 s_intersects of a route", "filter-lang=cql2-text&filter=" + url.QueryEscape(polygon(V[1], 0.01)), "filter-lang=cql2-text&filter=" + url.QueryEscape(polygon(CV[1], 0.01)), "routes", routeID},
		{"near_route corridor (its exact path)", "near_route=" + routeID + "&km=1", "", "incidents", onExact},
		{"near_route corridor (its coarse path)", "", "near_route=" + routeID + "&km=1", "incidents", onCoarse},
	}
	finds := func(token, path, id string) bool {
		t.Helper()
		return bytes.Contains(get(token, path), []byte(`"`+id+`"`))
	}
	for _, f := range filters {
		for _, tok := range []string{"", s.viewer} {
			who := map[bool]string{true: "anonymous", false: "viewer"}[tok == ""]
			for _, endpoint := range []string{"/api/collections/" + f.coll + "/items?limit=2000&", "/api/export.geojson?"} {
				if f.exact != "" && finds(tok, endpoint+f.exact, f.id) {
					t.Errorf("%s: %s around the exact position finds %s for the %s", f.name, endpoint, f.id, who)
				}
				if f.crude != "" && !finds(tok, endpoint+f.crude, f.id) {
					t.Errorf("%s: %s around the coarse position does not find %s for the %s", f.name, endpoint, f.id, who)
				}
			}
		}
		if f.exact != "" && !finds(s.editor, "/api/collections/"+f.coll+"/items?limit=2000&"+f.exact, f.id) {
			t.Errorf("%s: the editor's query around the exact position does not find %s", f.name, f.id)
		}
	}
	// The flag itself is a queryable.
	if b := get("", "/api/collections/incidents/items?filter=sensitive%3DTRUE"); !bytes.Contains(b, []byte(incID)) || bytes.Contains(b, []byte(marker)) {
		t.Errorf("filter=sensitive=TRUE does not select the sensitive incident alone: %.300s", b)
	}
	if b := get("", "/api/collections/incidents/items?limit=2000&filter=sensitive%3DFALSE"); bytes.Contains(b, []byte(incID)) || !bytes.Contains(b, []byte(marker)) {
		t.Errorf("filter=sensitive=FALSE does not select the others: %.300s", b)
	}
	// The overview's count and stats, the view and the tiles take the
	// same boxes.
	matched := func(token, path string) int {
		var v struct {
			NumberMatched int `json:"numberMatched"`
		}
		json.Unmarshal(get(token, path), &v)
		return v.NumberMatched
	}
	for _, tok := range []string{"", s.viewer} {
		// A marker is near each point: the only one of the exact point's
		// box for a viewer.
		if n := matched(tok, "/api/view?zoom=14&bbox="+box(P, 0.01)); n != 1 {
			t.Errorf("the view of the exact point matches %d for a viewer; want 1 (the marker)", n)
		}
		if n := matched(tok, "/api/view?zoom=14&bbox="+box(C, 0.01)); n != 2 {
			t.Errorf("the view of the coarse point matches %d for a viewer; want 2", n)
		}
		if b := get(tok, "/api/stats?by=type&bbox="+box(P, 0.01)); bytes.Contains(b, []byte("kidnapping")) {
			t.Errorf("the statistics of the exact point count the sensitive incident for a viewer: %s", b)
		}
		if b := get(tok, "/api/stats?by=type&bbox="+box(C, 0.01)); !bytes.Contains(b, []byte("kidnapping")) {
			t.Errorf("the statistics of the coarse point do not count the sensitive incident for a viewer: %s", b)
		}
	}
	if b := get(s.editor, "/api/collections/incidents/items?bbox="+box(P, 0.01)); !bytes.Contains(b, []byte(incID)) || !bytes.Contains(b, []byte(marker)) {
		t.Errorf("the editor's box of the exact point does not hold the incident and the marker: %s", b)
	}
	if b := get(s.editor, "/api/view?zoom=14&bbox="+box(P, 0.01)); !bytes.Contains(b, []byte(incID)) || !shows(b, P) {
		t.Errorf("the editor's view of the exact point does not hold the incident, exact: %s", b)
	}
	if n := matched(s.editor, "/api/view?zoom=14&bbox="+box(C, 0.01)); n != 1 {
		t.Errorf("the editor's view of the coarse point matches %d; want 1 (the marker)", n)
	}
	if b := get(s.editor, "/api/stats?by=type&bbox="+box(P, 0.01)); !bytes.Contains(b, []byte("kidnapping")) {
		t.Errorf("the editor's statistics of the exact point do not count the sensitive incident: %s", b)
	}
	// Live views: the exact box never receives the sensitive change, the
	// coarse one does, coarse.
	if b, ids := framesUntil(liveExactBox, marker); strings.Contains(strings.Join(ids, " "), incID) {
		t.Errorf("a viewer's live view of the exact point received the sensitive incident:\n%s", b)
	}
	if b, ids := framesUntil(liveCoarseBox, marker2); !strings.Contains(strings.Join(ids, " "), incID) || len(leaks(b, exact)) > 0 || !shows(b, C) {
		t.Errorf("a viewer's live view of the coarse point did not receive the incident, coarse:\n%s", b)
	}
	// A replay from the start of the log, as a client resuming does.
	// (The import's changes are many: the replay's frames are read as
	// they come.)
	replay := dialLive(t, base, s.viewer)
	replay.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","since":0}`))
	replayed := follow(replay)
	if b, _ := framesUntil(replayed, marker2); len(leaks(b, exact)) > 0 || !shows(b, C) {
		t.Errorf("the viewer's replay from since 0 shows exact coordinates %v", leaks(b, exact))
	}
	// Views of the route's corridor, opened now that the hub has sent the
	// route's change (the live frames above hold it), so that their path
	// is the one the server resolves for each caller; then a probe on the
	// route's exact path and one on its coarse path: a viewer's corridor
	// gets the second alone, an editor's the first.
	corridor := `{"near_route":"` + routeID + `","km":1}`
	liveCorridor := subscribeFilter(s.viewer, corridor)
	liveCorridorEditor := subscribeFilter(s.editor, corridor)
	liveOnExact := post("incidents", `{"type":"Feature","geometry":{"type":"Point","coordinates":`+pointJSON(near(V[1]))+`},"properties":{"title":"Live probe on the exact path","type":"other","date":"2024"}}`)
	liveOnCoarse := post("incidents", `{"type":"Feature","geometry":{"type":"Point","coordinates":`+pointJSON(near(CV[1]))+`},"properties":{"title":"Live probe on the coarse path","type":"other","date":"2024"}}`)
	// Live views by filter: near the exact point never receives the
	// sensitive incident, near the coarse one does; the corridors.
	if b, ids := framesUntil(liveNearExact, marker); strings.Contains(strings.Join(ids, " "), incID) {
		t.Errorf("a viewer's live view near the exact point received the sensitive incident:\n%s", b)
	}
	if b, ids := framesUntil(liveNearCoarse, marker2); !strings.Contains(strings.Join(ids, " "), incID) || len(leaks(b, exact)) > 0 {
		t.Errorf("a viewer's live view near the coarse point did not receive the incident, coarse:\n%s", b)
	}
	if b, ids := framesUntil(liveCorridor, liveOnCoarse); strings.Contains(strings.Join(ids, " "), liveOnExact) || len(leaks(b, exact)) > 0 {
		t.Errorf("a viewer's live corridor along the route received the probe on its exact path, or exact coordinates:\n%s", b)
	}
	if _, ids := framesUntil(liveCorridorEditor, liveOnExact); len(ids) == 0 {
		t.Errorf("the editor's live corridor did not receive the probe on the exact path")
	}
	// Watch areas: those around the exact positions have no alert of the
	// sensitive records; the corridor watch alerts on the probe on the
	// coarse path, never on the one on the exact path.
	for _, w := range []struct{ name, id, record string }{
		{"circle around the exact point", exactWatch, incID},
		{"square around the exact point", exactSquare, incID},
		{"circle around the route's exact vertex", exactRouteWatch, routeID},
	} {
		if b := get(s.viewer, "/api/watches/"+w.id+"/alerts"); bytes.Contains(b, []byte(w.record)) {
			t.Errorf("the watch of a %s alerted on the sensitive record: %s", w.name, b)
		}
	}
	var corridorAlerts []byte
	for deadline := time.Now().Add(30 * time.Second); ; {
		corridorAlerts = get(s.viewer, "/api/watches/"+corridorWatch+"/alerts")
		if bytes.Contains(corridorAlerts, []byte(liveOnCoarse)) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !bytes.Contains(corridorAlerts, []byte(liveOnCoarse)) || bytes.Contains(corridorAlerts, []byte(liveOnExact)) {
		t.Errorf("the corridor watch does not alert on the probe on the coarse path alone: %s", corridorAlerts)
	}

	// No sequence of queries locates the exact point. A viewer bisecting
	// the cell with boxes converges on the coarse point; measuring the
	// distance from a point 20 km west with ever closer corridors yields
	// the distance to the coarse point.
	cell := geo.CoarseCell(P)
	lo, hi := orb.Point{cell.Min[0] - 0.05, cell.Min[1] - 0.05}, orb.Point{cell.Max[0] + 0.05, cell.Max[1] + 0.05}
	for range 20 {
		mx, my := (lo[0]+hi[0])/2, (lo[1]+hi[1])/2
		if finds(s.viewer, fmt.Sprintf("/api/collections/incidents/items?limit=100&bbox=%s,%s,%s,%s", num(lo[0]), num(lo[1]), num(mx), num(hi[1])), incID) {
			hi[0] = mx
		} else {
			lo[0] = mx
		}
		if finds(s.viewer, fmt.Sprintf("/api/collections/incidents/items?limit=100&bbox=%s,%s,%s,%s", num(lo[0]), num(lo[1]), num(hi[0]), num(my)), incID) {
			hi[1] = my
		} else {
			lo[1] = my
		}
	}
	if found := (orb.Point{(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2}); distanceKm(found, C) > 0.01 || distanceKm(found, P) < 3 {
		t.Errorf("bisecting with boxes locates the incident at %v: %.3f km from the coarse point, %.3f km from the exact one", found, distanceKm(found, C), distanceKm(found, P))
	}
	from := orb.Point{C[0] - 0.18, C[1]}
	r0, r1 := 0.0, 60.0
	for range 20 {
		r := (r0 + r1) / 2
		if finds(s.viewer, "/api/collections/incidents/items?limit=100&near="+num(from[0])+","+num(from[1])+","+strconv.FormatFloat(r, 'f', 6, 64), incID) {
			r1 = r
		} else {
			r0 = r
		}
	}
	if d := (r0 + r1) / 2; math.Abs(d-distanceKm(from, C)) > 0.01 || math.Abs(d-distanceKm(from, P)) < 1 {
		t.Errorf("measuring with near puts the incident %.3f km away: the coarse point is %.3f km away, the exact one %.3f km", d, distanceKm(from, C), distanceKm(from, P))
	}
}

// TestSensitiveMarkerInTheMap opens the map as an anonymous reader and as
// the admin: the reader's marker of a sensitive incident sits at the
// coarse point and its popup says "precision: ~10 km"; the admin's sits
// at the exact point.
func TestSensitiveMarkerInTheMap(t *testing.T) {
	srv, p := openSample(t)
	p.open("/")
	p.wait("live connection", `document.getElementById('live-state').dataset.state === 'live'`, waitLong)
	P := inCell(orb.Point{-74.0537, 4.6668})
	C := geo.CoarsePoint(P)
	id := srv.createIncident(t, P[0], P[1], map[string]any{
		"title": "Witness house", "type": "kidnapping", "date": "2024-03-02", "precision": "exact", "sensitive": true,
	})
	markerAt := func(p *tab) orb.Point {
		p.wait("the incident on the map", fmt.Sprintf(`window.nexus.incidents.has(%s)`, js(id)), waitLong)
		ll := eval[[]float64](p, fmt.Sprintf(`(() => { const l = window.nexus.incidents.get(%s).getLatLng(); return [l.lng, l.lat]; })()`, js(id)))
		return orb.Point{ll[0], ll[1]}
	}
	popupOf := func(p *tab) string {
		if !eval[bool](p, fmt.Sprintf(`window.nexus.show(%s)`, js(id))) {
			t.Fatal("nexus.show found no incident to open")
		}
		p.wait("its popup", `document.querySelector('.leaflet-popup-content') !== null`, waitLong)
		return eval[string](p, `document.querySelector('.leaflet-popup-content').textContent`)
	}
	// The reader, live: the change frame brought the coarse point.
	if at := markerAt(p); at != C {
		t.Errorf("the reader's marker is at %v; want the coarse point %v (exact %v)", at, C, P)
	}
	popup := popupOf(p)
	if !strings.Contains(popup, "precision: ~10 km") {
		t.Errorf("the reader's popup does not say the precision: %q", popup)
	}
	exactText := fmt.Sprintf("%.4f, %.4f", P[1], P[0])
	if strings.Contains(popup, exactText) || !strings.Contains(popup, fmt.Sprintf("%.4f, %.4f", C[1], C[0])) {
		t.Errorf("the reader's popup shows %q rather than the coarse point: %q", exactText, popup)
	}
	// The reader, on a fresh load of the view.
	p.open("/")
	p.waitReady()
	if at := markerAt(p); at != C {
		t.Errorf("after a reload the reader's marker is at %v; want the coarse point %v", at, C)
	}
	// The admin sees the exact point, and that it is sensitive.
	admin := openTab(t, newBrowser(t), srv.URL)
	admin.open("/#token=" + srv.token)
	admin.waitReady()
	if at := markerAt(admin); at != P {
		t.Errorf("the admin's marker is at %v; want the exact point %v", at, P)
	}
	if popup := popupOf(admin); !strings.Contains(popup, exactText) || !strings.Contains(popup, "Sensitive") {
		t.Errorf("the admin's popup does not show the exact point %q and that it is sensitive: %q", exactText, popup)
	}
	for _, tb := range []*tab{p, admin} {
		if errs, _, _ := tb.seen(); len(errs) > 0 {
			t.Errorf("console errors:\n  %s", strings.Join(errs, "\n  "))
		}
	}
}
