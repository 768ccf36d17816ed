package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"nexus/geo"
	"nexus/geocode"
	"nexus/store"
)

// openDB opens a real database in a temporary directory.
func openDB(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "nexus.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// batchwise is the store as it is once it holds records: it offers an
// import no load (Loader), so that the import writes batch by batch.
type batchwise struct{ db *store.DB }

func (b batchwise) ImportBatch(ctx context.Context, actor string, recs []geo.Record) ([]geo.ImportResult, error) {
	return b.db.ImportBatch(ctx, actor, recs)
}

func (b batchwise) PrepareBatch(actor string, recs []geo.Record) (func(context.Context) ([]geo.ImportResult, error), error) {
	return b.db.PrepareBatch(actor, recs)
}

// An import into a store that holds no records is one load.
var _ Loader = (*store.DB)(nil)

// bogota is the geocoder of the tests: a pure function that knows one place.
func bogota(place, country string) (lon, lat float64, precision string, ok bool) {
	if place == "Bogotá" && country == "Colombia" {
		return -74.0817, 4.6097, "place", true
	}
	return 0, 0, "", false
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func importBytes(t testing.TB, db *store.DB, data []byte, opt Options) (Report, error) {
	t.Helper()
	if opt.Actor == "" {
		opt.Actor = "importer"
	}
	return Import(context.Background(), db, bytes.NewReader(data), opt)
}

// stored returns every stored incident by external id, and the routes too.
func stored(t testing.TB, db *store.DB) map[string]geo.Record {
	t.Helper()
	out := map[string]geo.Record{}
	for _, c := range []geo.Collection{geo.Incidents, geo.Routes} {
		err := db.Each(context.Background(), c, geo.NewFilter(), func(f []byte) error {
			r, err := geo.DecodeFeature(c, f)
			if err != nil {
				return err
			}
			key := r.Keys().ExternalID
			if key == "" {
				key = r.Base().ID
			}
			out[key] = r
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func incident(t testing.TB, recs map[string]geo.Record, id string) *geo.Incident {
	t.Helper()
	r, ok := recs[id]
	if !ok {
		t.Fatalf("%s was not stored", id)
	}
	return r.(*geo.Incident)
}

func lastSeq(t testing.TB, db *store.DB) int64 {
	t.Helper()
	seq, err := db.LastSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

func n(v int64) *int64 { return &v }

// checkCount compares a nullable count.
func checkCount(t *testing.T, what string, got, want *int64) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		t.Errorf("%s = %v, want %v", what, fmtCount(got), fmtCount(want))
	case *got != *want:
		t.Errorf("%s = %d, want %d", what, *got, *want)
	}
}

func fmtCount(p *int64) any {
	if p == nil {
		return "null"
	}
	return *p
}

func checkRejected(t *testing.T, got []Rejected, want []Rejected) {
	t.Helper()
	for _, r := range got {
		t.Logf("rejected line %d %s: %s", r.Line, r.Field, r.Reason)
	}
	if len(got) != len(want) {
		t.Fatalf("rejected %d rows, want %d:\n%v", len(got), len(want), got)
	}
	for i := range want {
		if got[i].Line != want[i].Line || got[i].Field != want[i].Field {
			t.Errorf("rejected[%d] = line %d field %q (%s), want line %d field %q", i, got[i].Line, got[i].Field, got[i].Reason, want[i].Line, want[i].Field)
		}
		if got[i].Reason == "" {
			t.Errorf("rejected[%d] has no reason", i)
		}
	}
}

func TestGTD(t *testing.T) {
	db := openDB(t)
	rep, err := importBytes(t, db, readFile(t, "gtd.csv"), Options{Geocode: bogota})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Format != FormatGTD || rep.Created != 8 || rep.Updated != 0 || rep.Unchanged != 0 || rep.Geocoded != 1 || rep.RejectedCount != 5 {
		t.Errorf("report = %+v", rep)
	}
	checkRejected(t, rep.Rejected, []Rejected{
		{Line: 10, Field: "latitude"}, // no point, and Atlantis cannot be placed
		{Line: 11, Field: "row"},      // too few columns
		{Line: 12, Field: "latitude"}, // abc
		{Line: 13, Field: "latitude"}, // 95
		{Line: 14, Field: "nkill"},    // many
	})

	recs := stored(t, db)
	t.Run("bombing", func(t *testing.T) {
		i := incident(t, recs, "gtd:201507250001")
		if i.Title != "Bombing/Explosion in Tumaco" || i.Type != "attack" || i.Subtype != "Bombing/Explosion" ||
			i.Date != "2015-07-25" || i.Place != "Tumaco, Nariño" || i.Precision != "place" || i.Country != "" {
			t.Errorf("got %+v", i)
		}
		if i.Point != (orb.Point{-78.764148, 1.806954}) {
			t.Errorf("point = %v", i.Point)
		}
		if !reflect.DeepEqual(i.Actors, []string{"National Liberation Army of Colombia (ELN)"}) {
			t.Errorf("actors = %q", i.Actors)
		}
		checkCount(t, "killed", i.Killed, n(0)) // a real 0
		checkCount(t, "wounded", i.Wounded, n(3))
		if len(i.Sources) != 2 || i.Sources[0].URL != "http://www.bbc.com/news/world-latin-america-33667123" ||
			!strings.HasPrefix(i.Sources[0].Title, `"Colombia pipeline bombed,"`) || i.Sources[1].URL != "" || i.Sources[0].Publisher != "" {
			t.Errorf("sources = %+v", i.Sources)
		}
		if !reflect.DeepEqual(i.Tags, []string{"Utilities"}) || !strings.Contains(i.Summary, "Trans-Andean") {
			t.Errorf("tags %q, summary %q", i.Tags, i.Summary)
		}
	})
	t.Run("three groups, the third unknown", func(t *testing.T) {
		i := incident(t, recs, "gtd:199407180002")
		if !reflect.DeepEqual(i.Actors, []string{"Hezbollah", "Islamic Jihad (Ideology)"}) {
			t.Errorf("actors = %q", i.Actors)
		}
		checkCount(t, "killed", i.Killed, n(85))
		checkCount(t, "wounded", i.Wounded, n(300))
	})
	t.Run("month and day unknown, specificity 5, -9 and -99", func(t *testing.T) {
		i := incident(t, recs, "gtd:200100000001")
		if i.Date != "2001" || i.Precision != "country" || len(i.Actors) != 0 || i.Place != "" || i.Title != "Armed Assault in Colombia" || len(i.Tags) != 0 {
			t.Errorf("got %+v", i)
		}
		checkCount(t, "killed", i.Killed, nil)
		checkCount(t, "wounded", i.Wounded, nil)
	})
	t.Run("day unknown, specificity 2, kidnapping", func(t *testing.T) {
		i := incident(t, recs, "gtd:201006000001")
		if i.Date != "2010-06" || i.Precision != "admin" || i.Type != "kidnapping" || !reflect.DeepEqual(i.Actors, []string{"Los Zetas", "Gulf Cartel"}) {
			t.Errorf("got %+v", i)
		}
		checkCount(t, "killed", i.Killed, nil) // empty
		checkCount(t, "wounded", i.Wounded, n(0))
	})
	t.Run("specificity 3, assassination, summary on two lines", func(t *testing.T) {
		i := incident(t, recs, "gtd:201802030001")
		if i.Precision != "admin" || i.Type != "assassination" || i.Title != "Assassination in Cauca" || i.Place != "Cauca" || !strings.Contains(i.Summary, "\nThe attack") {
			t.Errorf("got %+v", i)
		}
	})
	t.Run("specificity 4, barricade", func(t *testing.T) {
		i := incident(t, recs, "gtd:201903150001")
		if i.Precision != "admin" || i.Type != "kidnapping" || i.Subtype != "Hostage Taking (Barricade Incident)" {
			t.Errorf("got %+v", i)
		}
		checkCount(t, "killed", i.Killed, n(2)) // "2.0"
		checkCount(t, "wounded", i.Wounded, nil)
	})
	t.Run("geocoded", func(t *testing.T) {
		i := incident(t, recs, "gtd:201701150001")
		if i.Point != (orb.Point{-74.0817, 4.6097}) || i.Precision != "place" || i.Place != "Bogotá, Bogota" {
			t.Errorf("got %+v", i)
		}
	})
	t.Run("good row after bad ones", func(t *testing.T) {
		i := incident(t, recs, "gtd:201701210001")
		if i.Type != "attack" || i.Subtype != "Facility/Infrastructure Attack" || i.Place != "Cali, Valle del Cauca" {
			t.Errorf("got %+v", i)
		}
		checkCount(t, "wounded", i.Wounded, nil)
	})
}

func TestGTDLatin1(t *testing.T) {
	db := openDB(t)
	data := readFile(t, "gtd_latin1.csv")
	if bytes.Contains(data, []byte("Bogotá")) || !bytes.Contains(data, []byte("Bogot\xe1")) {
		t.Fatal("testdata/gtd_latin1.csv is not Latin-1")
	}
	rep, err := importBytes(t, db, data, Options{Geocode: bogota})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 2 || rep.Geocoded != 1 || rep.RejectedCount != 0 {
		t.Fatalf("report = %+v", rep)
	}
	recs := stored(t, db)
	if i := incident(t, recs, "gtd:201707010001"); i.Place != "Tumaco, Nariño" || i.Summary != "Ataque armado en el municipio de Tumaco, Nariño." {
		t.Errorf("got %q, %q", i.Place, i.Summary)
	}
	if i := incident(t, recs, "gtd:201707020001"); i.Place != "Bogotá" || i.Title != "Bombing/Explosion in Bogotá" || i.Point != (orb.Point{-74.0817, 4.6097}) {
		t.Errorf("got %+v", i)
	}
}

// A UTF-8 file with one Latin-1 row further down than the first 64 KB:
// that row alone is decoded as Latin-1.
func TestLatin1Row(t *testing.T) {
	db := openDB(t)
	data := readFile(t, "gtd.csv")
	header, rest, _ := bytes.Cut(data, []byte("\r\n"))
	row, _, _ := bytes.Cut(rest, []byte("\r\n")) // the Tumaco row, with "Nariño" in UTF-8
	var b bytes.Buffer
	b.Write(header)
	b.WriteString("\r\n")
	for i := 0; b.Len() < 70<<10; i++ {
		b.Write(bytes.Replace(row, []byte("201507250001"), fmt.Appendf(nil, "9%05d", i), 1))
		b.WriteString("\r\n")
	}
	b.Write(bytes.Replace(row, []byte("Nariño"), []byte("Nari\xf1o"), 1))
	b.WriteString("\r\n")
	rep, err := importBytes(t, db, b.Bytes(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.RejectedCount != 0 {
		t.Fatalf("report = %+v", rep)
	}
	recs := stored(t, db)
	if i := incident(t, recs, "gtd:201507250001"); i.Place != "Tumaco, Nariño" {
		t.Errorf("place = %q", i.Place)
	}
	if i := incident(t, recs, "gtd:900000"); i.Place != "Tumaco, Nariño" {
		t.Errorf("place = %q", i.Place)
	}
}

func TestACLED(t *testing.T) {
	db := openDB(t)
	data := readFile(t, "acled.csv")
	if !bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")) {
		t.Fatal("testdata/acled.csv has lost its BOM")
	}
	countries := false
	if g, err := geocode.Default(); err == nil {
		db.CountryOf, countries = g.CountryOf, true
	} else {
		t.Logf("countries not derived: %v", err)
	}
	rep, err := importBytes(t, db, data, Options{Geocode: bogota})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Format != FormatACLED || rep.Created != 7 || rep.Geocoded != 1 || rep.RejectedCount != 2 {
		t.Errorf("report = %+v", rep)
	}
	checkRejected(t, rep.Rejected, []Rejected{{Line: 9, Field: "event_date"}, {Line: 10, Field: "fatalities"}})

	recs := stored(t, db)
	t.Run("battle", func(t *testing.T) {
		i := incident(t, recs, "acled:COL1001")
		if i.Title != "Battles: Armed clash in Tumaco" || i.Type != "attack" || i.Subtype != "Battles: Armed clash" ||
			i.Date != "2020-03-14" || i.Place != "Tumaco, Nariño" || i.Precision != "place" ||
			i.Summary != "On 14 March 2020, the army clashed with the ELN in Tumaco." {
			t.Errorf("got %+v", i)
		}
		if countries && i.Country != "CO" {
			t.Errorf("country = %q, want CO from the point", i.Country)
		}
		if !reflect.DeepEqual(i.Actors, []string{"Military Forces of Colombia (2018-2022)", "ELN: National Liberation Army"}) {
			t.Errorf("actors = %q", i.Actors)
		}
		if !reflect.DeepEqual(i.Sources, []geo.Source{{Title: "El Tiempo"}, {Title: "Caracol Radio"}}) {
			t.Errorf("sources = %+v", i.Sources)
		}
		checkCount(t, "killed", i.Killed, n(3))
		checkCount(t, "wounded", i.Wounded, nil)
	})
	t.Run("written date, week precision, abduction, associated actors", func(t *testing.T) {
		i := incident(t, recs, "acled:COL1002")
		if i.Date != "2020-03" || i.Type != "kidnapping" || i.Precision != "admin" || !reflect.DeepEqual(i.Tags, []string{"Civilian targeting"}) {
			t.Errorf("got %+v", i)
		}
		if want := []string{"Clan del Golfo", "Civilians (Colombia)", "Teachers (Colombia)", "Farmers (Colombia)"}; !reflect.DeepEqual(i.Actors, want) {
			t.Errorf("actors = %q, want %q", i.Actors, want)
		}
		checkCount(t, "killed", i.Killed, n(0)) // ACLED's 0 is a real 0
	})
	t.Run("arrests, month precision", func(t *testing.T) {
		i := incident(t, recs, "acled:MEX2001")
		if i.Date != "2021-07" || i.Type != "arrest" || i.Precision != "admin" {
			t.Errorf("got %+v", i)
		}
		if want := []string{"Police Forces of Mexico (2018-2024)", "Sinaloa Cartel", "National Guard of Mexico", "Navy of Mexico"}; !reflect.DeepEqual(i.Actors, want) {
			t.Errorf("actors = %q, want %q", i.Actors, want)
		}
		checkCount(t, "killed", i.Killed, nil) // empty
	})
	t.Run("at sea", func(t *testing.T) {
		i := incident(t, recs, "acled:ATL3001")
		if i.Country != "" || i.Place != "Gulf of Guinea" || i.Title != "Violence against civilians: Attack in Gulf of Guinea" || i.Type != "attack" {
			t.Errorf("got %+v", i)
		}
	})
	t.Run("dashed written date, protest", func(t *testing.T) {
		i := incident(t, recs, "acled:COL1003")
		if i.Date != "2020-03-14" || i.Type != "other" || i.Place != "Bogotá, D.C." || !reflect.DeepEqual(i.Tags, []string{"crowd size=around 300"}) {
			t.Errorf("got %+v", i)
		}
	})
	t.Run("looting", func(t *testing.T) {
		if i := incident(t, recs, "acled:COL1004"); i.Type != "other" || i.Subtype != "Strategic developments: Looting/property destruction" {
			t.Errorf("got %+v", i)
		}
	})
	t.Run("geocoded", func(t *testing.T) {
		i := incident(t, recs, "acled:COL1005")
		if i.Point != (orb.Point{-74.0817, 4.6097}) || i.Precision != "place" || i.Place != "Bogotá, Bogotá, D.C." {
			t.Errorf("got %+v", i)
		}
	})
}

func TestReimport(t *testing.T) {
	for _, name := range []string{"gtd.csv", "acled.csv"} {
		t.Run(name, func(t *testing.T) {
			db := openDB(t)
			data := readFile(t, name)
			first, err := importBytes(t, db, data, Options{Geocode: bogota})
			if err != nil {
				t.Fatal(err)
			}
			seq := lastSeq(t, db)
			again, err := importBytes(t, db, data, Options{Geocode: bogota})
			if err != nil {
				t.Fatal(err)
			}
			if again.Created != 0 || again.Updated != 0 || again.Unchanged != first.Created || again.RejectedCount != first.RejectedCount {
				t.Errorf("again = %+v, first = %+v", again, first)
			}
			if got := lastSeq(t, db); got != seq {
				t.Errorf("the change log moved from %d to %d on an unchanged import", seq, got)
			}

			// One row changes: its killed count.
			var changed []byte
			if name == "gtd.csv" {
				changed = bytes.Replace(data, []byte(",85,"), []byte(",86,"), 1)
			} else {
				changed = bytes.Replace(data, []byte(`Tumaco.",3,`), []byte(`Tumaco.",4,`), 1)
			}
			if bytes.Equal(changed, data) {
				t.Fatal("the test did not change the file")
			}
			third, err := importBytes(t, db, changed, Options{Geocode: bogota})
			if err != nil {
				t.Fatal(err)
			}
			if third.Created != 0 || third.Updated != 1 || third.Unchanged != first.Created-1 {
				t.Errorf("third = %+v", third)
			}
			if got := lastSeq(t, db); got != seq+1 {
				t.Errorf("last seq = %d, want %d", got, seq+1)
			}
		})
	}
}

func TestBatches(t *testing.T) {
	db := openDB(t)
	var calls []int
	b := batcherFunc(func(ctx context.Context, actor string, recs []geo.Record) ([]geo.ImportResult, error) {
		calls = append(calls, len(recs))
		return db.ImportBatch(ctx, actor, recs)
	})
	rep, err := Import(context.Background(), b, bytes.NewReader(readFile(t, "gtd.csv")), Options{Geocode: bogota, BatchSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 8 || !reflect.DeepEqual(calls, []int{3, 3, 2}) {
		t.Errorf("created %d in batches %v", rep.Created, calls)
	}
}

type batcherFunc func(ctx context.Context, actor string, recs []geo.Record) ([]geo.ImportResult, error)

func (f batcherFunc) ImportBatch(ctx context.Context, actor string, recs []geo.Record) ([]geo.ImportResult, error) {
	return f(ctx, actor, recs)
}

func TestActorInChangeLog(t *testing.T) {
	db := openDB(t)
	if _, err := Import(context.Background(), db, bytes.NewReader(readFile(t, "acled.csv")), Options{Actor: "alice", Geocode: bogota}); err != nil {
		t.Fatal(err)
	}
	changes, err := db.Changes(context.Background(), 0, 100)
	if err != nil || len(changes) != 7 {
		t.Fatalf("%d changes, %v", len(changes), err)
	}
	for _, c := range changes {
		if c.Actor != "alice" || c.Op != geo.OpCreate {
			t.Errorf("change %d by %q, op %s", c.Seq, c.Actor, c.Op)
		}
	}
}

func TestUnreadable(t *testing.T) {
	for _, c := range []struct {
		name, input, code string
	}{
		{"empty", "", geo.EMALFORMED},
		{"blank", " \r\n\t\n", geo.EMALFORMED},
		{"only a BOM", "\xEF\xBB\xBF", geo.EMALFORMED},
		{"unknown CSV header", "id,name,lat,lon\n1,a,2,3\n", geo.EUNSUPPORTED},
		{"UTF-16", "\xFF\xFEe\x00v\x00", geo.EUNSUPPORTED},
		{"binary", "\x00\x01\x02\x03", geo.EUNSUPPORTED},
		{"CSV header with an open quote", "\"eventid,iyear\n", geo.EMALFORMED},
		{"JSON, not GeoJSON", `{"name": "x", "values": [1, 2]}`, geo.EUNSUPPORTED},
		{"a bare geometry", `{"type": "Point", "coordinates": [1, 2]}`, geo.EUNSUPPORTED},
		{"not JSON after all", `{"type": "Feature", oops}`, geo.EMALFORMED},
		{"features not an array", `{"type": "FeatureCollection", "features": {}}`, geo.EMALFORMED},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := openDB(t)
			rep, err := importBytes(t, db, []byte(c.input), Options{})
			var ge *geo.Error
			if !errors.As(err, &ge) || ge.Code != c.code {
				t.Fatalf("error %v, want a *geo.Error %s", err, c.code)
			}
			if rep.Created != 0 || rep.Rejected == nil {
				t.Errorf("report = %+v", rep)
			}
			if c.name == "empty" && ge.Message != "empty input" {
				t.Errorf("message %q", ge.Message)
			}
		})
	}
}

func TestSemicolonCSV(t *testing.T) {
	db := openDB(t)
	in := "event_id_cnty;event_date;event_type;sub_event_type;country;location;latitude;longitude;fatalities\n" +
		"COL9;2020-01-02;Battles;Armed clash;Colombia;Tumaco;1,5;-78\n" + // a decimal comma: rejected
		"COL10;2020-01-02;Battles;Armed clash;Colombia;Tumaco;1.5;-78;2\n"
	rep, err := importBytes(t, db, []byte(in), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Format != FormatACLED || rep.Created != 1 || rep.RejectedCount != 1 || rep.Rejected[0].Line != 2 {
		t.Errorf("report = %+v", rep)
	}
}

func TestCancelled(t *testing.T) {
	db := openDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	b := batcherFunc(func(bctx context.Context, actor string, recs []geo.Record) ([]geo.ImportResult, error) {
		calls++
		res, err := db.ImportBatch(bctx, actor, recs)
		cancel() // stop after the first batch
		return res, err
	})
	rep, err := Import(ctx, b, bytes.NewReader(readFile(t, "gtd.csv")), Options{Geocode: bogota, BatchSize: 2})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v", err)
	}
	if rep.Created != 2 || calls != 1 {
		t.Errorf("created %d in %d batches", rep.Created, calls)
	}
	if got := len(stored(t, db)); got != 2 {
		t.Errorf("%d records stored, want the 2 of the whole batch", got)
	}
}

// failingReader returns its data, then an error.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// An import that breaks off keeps only whole batches; the first import
// into an empty store, one load, keeps nothing.
func TestReaderError(t *testing.T) {
	broken := errors.New("connection reset")
	for name, data := range map[string][]byte{"csv": benchACLED(t, 1000), "geojson": benchGeoJSON(1000)} {
		for _, load := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, load %t", name, load), func(t *testing.T) {
				db := openDB(t)
				var dst Batcher = batchwise{db}
				if load {
					dst = db
				}
				// The break comes after the first 64 KB, which are read at once.
				r := &failingReader{data: data[:len(data)*3/4], err: broken}
				rep, err := Import(context.Background(), dst, r, Options{BatchSize: 7})
				if !errors.Is(err, broken) {
					t.Fatalf("error = %v", err)
				}
				n := int64(len(stored(t, db)))
				switch {
				case load && (rep.Created != 0 || n != 0):
					t.Errorf("report %+v with %d stored: an interrupted load keeps nothing", rep, n)
				case !load && (rep.Created == 0 || rep.Created%7 != 0 || n != rep.Created):
					t.Errorf("report %+v with %d stored: only whole batches", rep, n)
				}
			})
		}
	}
}

func TestProgress(t *testing.T) {
	db := openDB(t)
	data := readFile(t, "acled.csv")
	var last int64
	calls := 0
	_, err := importBytes(t, db, data, Options{Progress: func(n int64) {
		if n < last {
			t.Errorf("progress went back from %d to %d", last, n)
		}
		last = n
		calls++
	}})
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 || last != int64(len(data)) {
		t.Errorf("progress called %d times, last with %d, want %d", calls, last, len(data))
	}
}

func TestRejectedCap(t *testing.T) {
	var b strings.Builder
	b.WriteString("event_id_cnty,event_date,latitude,longitude\n")
	for i := 0; i < MaxRejected+5; i++ {
		b.WriteString("X,never,1,2\n")
	}
	db := openDB(t)
	rep, err := importBytes(t, db, []byte(b.String()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rejected) != MaxRejected || rep.RejectedCount != MaxRejected+5 || rep.Rejected[MaxRejected-1].Line != MaxRejected+1 {
		t.Errorf("%d listed, %d counted", len(rep.Rejected), rep.RejectedCount)
	}
}

func TestGTDDate(t *testing.T) {
	for _, c := range []struct {
		y, m, d, want, field string
	}{
		{"1994", "7", "18", "1994-07-18", ""},
		{"1994", "7", "0", "1994-07", ""},
		{"1994", "0", "0", "1994", ""},
		{"1994", "0", "18", "1994", ""}, // a day without a month
		{"1994", "", "", "1994", ""},
		{"1996", "2", "29", "1996-02-29", ""},
		{"1994", "2", "30", "", "iday"},
		{"1994", "13", "1", "", "imonth"},
		{"", "1", "1", "", "iyear"},
		{"94x", "1", "1", "", "iyear"},
		{"1994.0", "7.0", "18.0", "1994-07-18", ""},
	} {
		r := row{fields: []string{c.y, c.m, c.d}, col: map[string]int{"iyear": 0, "imonth": 1, "iday": 2}}
		got, err := gtdDate(r)
		switch {
		case c.field != "" && (err == nil || err.field != c.field):
			t.Errorf("%s-%s-%s: error %v, want one on %s", c.y, c.m, c.d, err, c.field)
		case c.field == "" && (err != nil || got != c.want):
			t.Errorf("%s-%s-%s = %q, %v, want %q", c.y, c.m, c.d, got, err, c.want)
		}
	}
}

func TestACLEDDate(t *testing.T) {
	for _, c := range []struct {
		date, precision, want string
	}{
		{"2020-03-14", "1", "2020-03-14"},
		{"14 March 2020", "1", "2020-03-14"},
		{"4 March 2020", "", "2020-03-04"},
		{"14-March-2020", "1", "2020-03-14"},
		{"14 Mar 2020", "1", "2020-03-14"},
		{"14-03-2020", "1", "2020-03-14"},
		{"14/03/2020", "1", "2020-03-14"},
		{"2020-03-31", "2", "2020-03"},
		{"2020-03-15", "3", "2020-03"},
		{"2020-03-14", "4", ""},
		{"March 14, 2020", "1", ""},
		{"2020-02-30", "1", ""},
		{"+202-03-14", "1", ""},
		{"0000-03-14", "1", ""},
	} {
		got, err := acledDate(c.date, c.precision)
		if c.want == "" && err == nil || c.want != "" && (err != nil || got != c.want) {
			t.Errorf("%q precision %q = %q, %v, want %q", c.date, c.precision, got, err, c.want)
		}
	}
}

func TestTypes(t *testing.T) {
	for attack, want := range map[string]string{
		"Assassination":                       "assassination",
		"Hostage Taking (Kidnapping)":         "kidnapping",
		"Hostage Taking (Barricade Incident)": "kidnapping",
		"Bombing/Explosion":                   "attack",
		"Armed Assault":                       "attack",
		"Facility/Infrastructure Attack":      "attack",
		"Unarmed Assault":                     "attack",
		"Hijacking":                           "attack",
		"":                                    "attack", // Unknown
	} {
		if got := gtdType(attack); got != want {
			t.Errorf("GTD %q = %s, want %s", attack, got, want)
		}
	}
	for _, c := range []struct{ event, sub, want string }{
		{"Battles", "Armed clash", "attack"},
		{"Explosions/Remote violence", "Air/drone strike", "attack"},
		{"Violence against civilians", "Attack", "attack"},
		{"Violence against civilians", "Abduction/forced disappearance", "kidnapping"},
		{"Protests", "Peaceful protest", "other"},
		{"Riots", "Mob violence", "other"},
		{"Strategic developments", "Arrests", "arrest"},
		{"Strategic developments", "Looting/property destruction", "other"},
		{"Strategic developments", "Agreement", "other"},
		{"Something new", "", "other"},
	} {
		if got := acledType(c.event, c.sub); got != c.want {
			t.Errorf("ACLED %s: %s = %s, want %s", c.event, c.sub, got, c.want)
		}
	}
}

func TestCitation(t *testing.T) {
	for text, want := range map[string]string{
		`"Bomb," BBC, 2015, http://www.bbc.com/news/a-1.`:               "http://www.bbc.com/news/a-1",
		`Report (https://example.org/r?id=2), 2019`:                     "https://example.org/r?id=2",
		`"Title," El Tiempo, July 26, 2015.`:                            "",
		`See https://en.wikipedia.org/wiki/AMIA_(building); retrieved.`: "https://en.wikipedia.org/wiki/AMIA_(building)",
		`http:// broken`: "",
	} {
		s := citation(text)
		if s.URL != want || s.Title != text {
			t.Errorf("citation(%q) = %+v, want url %q", text, s, want)
		}
	}
}
