package live

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"nexus/api"
	"nexus/geo"
	"nexus/overview"
	"nexus/store"
)

// TestFiltersAgree runs one table of filters through the places that
// answer them: the HTTP API (items of both collections, and the number of
// incidents /api/view counts through the in-memory overview), the store
// (its SQL, indexes and full-text search) and the websocket (the subscribe
// frame read as the hub reads it, matched against the change log). Each
// must select the same records, or refuse the same filters.
func TestFiltersAgree(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(filepath.Join(t.TempDir(), "nexus.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	n := func(v int64) *int64 { return &v }
	records := map[string]geo.Record{
		"bogota bomb": &geo.Incident{Point: orb.Point{-74.08, 4.6}, Title: "Car bomb in Bogotá", Type: "attack", Date: "2019-01-17",
			Place: "Bogotá, D.C.", Country: "CO", Actors: []string{"ELN"}, Killed: n(22)},
		"medellin arrest": &geo.Incident{Point: orb.Point{-75.57, 6.25}, Title: "Arrest in Medellín", Type: "arrest", Date: "2024-05",
			Country: "CO", Actors: []string{"Clan del Golfo", "Ñeembucú Clan"}, Tags: []string{"extradition"}},
		"veracruz seizure": &geo.Incident{Point: orb.Point{-96.13, 19.17}, Title: "Cocaine seized at the port", Type: "seizure", Date: "2024-05-02",
			Country: "MX", Actors: []string{"Los Zetas"}, Summary: "Straße of containers; São Tomé flag."},
		"fiji plot": &geo.Incident{Point: orb.Point{179.5, -17}, Title: "Plot across the date line", Type: "plot", Date: "2010"},
		"pacific route": &geo.Route{Line: orb.LineString{{-77.03, 3.88}, {-104.32, 19.05}}, Name: "Pacific route to Manzanillo",
			Commodity: "cocaine", Waypoints: []string{"Buenaventura", "Manzanillo"}, Actors: []string{"Sinaloa Cartel"},
			Countries: []string{"CO", "MX"}, ActiveFrom: "2015", ActiveTo: "2020"},
		"date line route": &geo.Route{Line: orb.LineString{{170, -15}, {-170, -10}}, Name: "Arms across the Pacific", Commodity: "arms",
			Summary: "From West África via Bogotá"},
	}
	names := map[string]string{} // id → name
	for name, r := range records {
		s, err := db.Create(ctx, "test", r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		names[s.ID] = name
	}
	ov := overview.New(db, slog.New(slog.DiscardHandler))
	if err := ov.Load(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Config{Store: db, Overview: ov}))
	t.Cleanup(srv.Close)
	changes, err := db.Changes(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		query string
		want  []string // nil with fails: every place refuses the filter
		fails bool
	}{
		{query: "", want: []string{"bogota bomb", "date line route", "fiji plot", "medellin arrest", "pacific route", "veracruz seizure"}},
		{query: "q=bogota", want: []string{"bogota bomb", "date line route"}},
		{query: "q=BOGOTÁ", want: []string{"bogota bomb", "date line route"}},
		{query: "q=bogo", want: []string{"bogota bomb", "date line route"}}, // a word typed begins a word of the text
		{query: "q=ota", want: nil},
		{query: "q=d.c.", want: []string{"bogota bomb", "medellin arrest"}}, // "d" begins "del" of "Clan del Golfo"
		{query: "q=medellin+arrest", want: []string{"medellin arrest"}},
		{query: "q=strasse+sao+tome", want: []string{"veracruz seizure"}},
		{query: "q=africa", want: []string{"date line route"}},
		{query: "q=manzanillo", want: []string{"pacific route"}},
		{query: "q=extradition", want: []string{"medellin arrest"}},
		{query: "q=car+truck", want: nil},
		{query: "type=attack,arrest", want: []string{"bogota bomb", "date line route", "medellin arrest", "pacific route"}},
		{query: "commodity=cocaine", want: []string{"bogota bomb", "fiji plot", "medellin arrest", "pacific route", "veracruz seizure"}},
		{query: "type=plot&commodity=arms", want: []string{"date line route", "fiji plot"}},
		{query: "country=co", want: []string{"bogota bomb", "medellin arrest", "pacific route"}},
		{query: "country=MX&type=seizure", want: []string{"pacific route", "veracruz seizure"}},
		{query: "actor=eln", want: []string{"bogota bomb"}},
		{query: "actor=los+zetas,SINALOA+CARTEL", want: []string{"pacific route", "veracruz seizure"}},
		{query: "actor=Zetas", want: []string{"veracruz seizure"}}, // a word of the name begins with it
		{query: "actor=zet", want: []string{"veracruz seizure"}},
		{query: "actor=ze", want: nil}, // too short to stand for a word's start
		{query: "actor=Ñeembucú+Clan", want: []string{"medellin arrest"}},
		{query: "actor=ñeembucú+clan", want: nil},                                                             // case is ignored for ASCII letters only, as SQLite's NOCASE
		{query: "datetime=2024-05", want: []string{"date line route", "medellin arrest", "veracruz seizure"}}, // a route without dates is active at all times
		{query: "datetime=2024-05-02", want: []string{"date line route", "medellin arrest", "veracruz seizure"}},
		{query: "datetime=2018/2019-06", want: []string{"bogota bomb", "date line route", "pacific route"}},
		{query: "datetime=../2012", want: []string{"date line route", "fiji plot"}},
		{query: "datetime=2021-01-01T00:00:00Z/..", want: []string{"date line route", "medellin arrest", "veracruz seizure"}},
		{query: "bbox=-80,0,-70,10", want: []string{"bogota bomb", "medellin arrest", "pacific route"}},
		{query: "bbox=175,-20,-175,0", want: []string{"date line route", "fiji plot"}},
		{query: "bbox=-80,0,0,-70,10,100", want: []string{"bogota bomb", "medellin arrest", "pacific route"}},
		{query: "bbox=-80,0,-70,10&q=bogota&type=attack&datetime=2019", want: []string{"bogota bomb"}},
		{query: "type=riot", fails: true},
		{query: "commodity=gold", fails: true},
		{query: "country=COL", fails: true},
		{query: "bbox=0,0,190,10", fails: true},
		{query: "bbox=0,10,10,0", fails: true},
		{query: "datetime=yesterday", fails: true},
		{query: "q=" + strings.Repeat("x", geo.MaxText+1), fails: true},
	} {
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		name := geo.Clip(tc.query)
		t.Run(name, func(t *testing.T) {
			fromAPI, apiErr := agreeAPI(t, srv.URL, tc.query, names)
			fromStore, storeErr := agreeStore(t, db, q, names)
			fromLive, liveErr := agreeLive(t, db, q, changes, names)
			for place, err := range map[string]error{"API": apiErr, "store": storeErr, "websocket": liveErr} {
				if (err != nil) != tc.fails {
					t.Errorf("%s: error %v, want an error: %v", place, err, tc.fails)
				}
			}
			if tc.fails {
				return
			}
			for place, got := range map[string][]string{"API": fromAPI, "store": fromStore, "websocket": fromLive} {
				if !slices.Equal(got, tc.want) {
					t.Errorf("%s selects %q, want %q", place, got, tc.want)
				}
			}
			if q.Has("q") {
				return // the overview leaves full text to the store
			}
			incidents := 0
			for _, name := range tc.want {
				if _, ok := records[name].(*geo.Incident); ok {
					incidents++
				}
			}
			if got := agreeOverview(t, srv.URL, tc.query); got != incidents {
				t.Errorf("the overview counts %d incidents, want %d", got, incidents)
			}
		})
	}
}

// agreeAPI asks the HTTP API for the items of both collections.
func agreeAPI(t *testing.T, base, query string, names map[string]string) ([]string, error) {
	var out []string
	for _, c := range []string{"incidents", "routes"} {
		resp, err := http.Get(base + "/api/collections/" + c + "/items?limit=100&" + query)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("GET %s items?%s: %d %s", c, query, resp.StatusCode, body)
			}
			return nil, &geo.Error{Code: geo.EMALFORMED, Message: string(body)}
		}
		var fc struct {
			Features []struct {
				ID string `json:"id"`
			} `json:"features"`
		}
		if err := json.Unmarshal(body, &fc); err != nil {
			t.Fatal(err)
		}
		for _, f := range fc.Features {
			out = append(out, names[f.ID])
		}
	}
	slices.Sort(out)
	return out, nil
}

// agreeOverview returns the number of incidents /api/view matches, which
// the overview index counts.
func agreeOverview(t *testing.T, base, query string) int {
	resp, err := http.Get(base + "/api/view?zoom=2&" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var fc struct {
		NumberMatched *int `json:"numberMatched"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&fc); err != nil || resp.StatusCode != http.StatusOK || fc.NumberMatched == nil {
		t.Fatalf("GET /api/view?%s: %d %v", query, resp.StatusCode, err)
	}
	return *fc.NumberMatched
}

// agreeStore asks the store for the records of both collections, the
// filter read and resolved as the API does.
func agreeStore(t *testing.T, db *store.DB, q url.Values, names map[string]string) ([]string, error) {
	f, err := geo.ParseFilterQuery(q)
	if err != nil {
		return nil, err
	}
	if err := db.Resolve(context.Background(), &f); err != nil {
		return nil, err
	}
	var out []string
	for _, c := range []geo.Collection{geo.Incidents, geo.Routes} {
		p, err := db.Query(context.Background(), c, f, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, feature := range p.Features {
			var v struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(feature, &v); err != nil {
				t.Fatal(err)
			}
			out = append(out, names[v.ID])
		}
	}
	slices.Sort(out)
	return out, nil
}

// agreeLive writes the filter as a subscribe frame, reads and resolves it
// as the server's hub does and matches every change of the log (all
// creates) against it.
func agreeLive(t *testing.T, db *store.DB, q url.Values, changes []geo.Change, names map[string]string) ([]string, error) {
	filter := map[string]any{}
	frame := map[string]any{"type": "subscribe", "filter": filter}
	for k := range q {
		switch k {
		case "bbox":
			var box []float64
			for _, s := range strings.Split(q.Get(k), ",") {
				v, err := strconv.ParseFloat(s, 64)
				if err != nil {
					t.Fatal(err)
				}
				box = append(box, v)
			}
			frame["bbox"] = box
		case "q", "datetime":
			filter[k] = q.Get(k)
		default:
			filter[k] = strings.Split(q.Get(k), ",")
		}
	}
	data, err := json.Marshal(frame)
	if err != nil {
		t.Fatal(err)
	}
	req, err := parseRequest(data)
	if err != nil {
		return nil, err
	}
	if err := db.Resolve(context.Background(), &req.filter); err != nil { // as the server's hub does
		return nil, err
	}
	sub := compile(req.filter)
	var out []string
	for i := range changes {
		e, err := decode(&changes[i])
		if err != nil {
			t.Fatal(err)
		}
		if sub.match(e) != skip {
			out = append(out, names[changes[i].ID])
		}
	}
	slices.Sort(out)
	return out, nil
}
