package geocode

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"nexus/geo"
)

// TestForward looks up places across Latin America, West Africa, Europe and
// the Middle East, with and without accents and country hints, and wants the
// best candidate within 25 km of the place's true position.
func TestForward(t *testing.T) {
	g := loaded(t)
	tests := []struct {
		q       string
		country string
		lat     float64 // true position
		lon     float64
	}{
		// Latin America and the Caribbean.
		{"Bogotá", "CO", 4.711, -74.072},
		{"Bogota", "CO", 4.711, -74.072},
		{"BOGOTA", "CO", 4.711, -74.072},
		{"Tumaco, CO", "CO", 1.807, -78.764},
		{"Tumaco, Colombia", "CO", 1.807, -78.764},
		{"Tumaco, Nariño, Colombia", "CO", 1.807, -78.764},
		{"Timbiquí", "CO", 2.772, -77.665},
		{"Timbiqui, co", "CO", 2.772, -77.665},
		{"Medellin", "CO", 6.244, -75.581},
		{"Cúcuta", "CO", 7.894, -72.508},
		{"Buenaventura, Colombia", "CO", 3.883, -77.017},
		{"Zona Rosa, Bogotá", "CO", 4.711, -74.072}, // no such place: the context
		{"Ciudad del Este", "PY", -25.516, -54.611},
		{"Asuncion", "PY", -25.264, -57.576},
		{"Foz do Iguaçu", "BR", -25.547, -54.588},
		{"Foz do Iguacu", "BR", -25.547, -54.588},
		{"Sao Paulo", "BR", -23.550, -46.633},
		{"Lima, Peru", "PE", -12.046, -77.043},
		{"La Paz, Bolivia", "BO", -16.500, -68.150},
		{"Guayaquil", "EC", -2.170, -79.922},
		{"Caracas", "VE", 10.481, -66.904},
		{"Mazatlán", "MX", 23.249, -106.411},
		{"Mazatlan, Mexico", "MX", 23.249, -106.411},
		{"Culiacán", "MX", 24.809, -107.394},
		{"culiacan", "MX", 24.809, -107.394},
		{"Nuevo Laredo", "MX", 27.476, -99.516},
		{"Ciudad Juarez", "MX", 31.690, -106.424},
		{"Tijuana", "MX", 32.515, -117.038},
		{"Ciudad de México", "MX", 19.433, -99.133},
		{"Guatemala City", "GT", 14.634, -90.507},
		{"Tegucigalpa", "HN", 14.072, -87.192},
		{"San Pedro Sula", "HN", 15.505, -88.025},
		{"Panama City", "PA", 8.983, -79.517},
		{"Kingston", "JM", 17.971, -76.793},
		{"Port-au-Prince", "HT", 18.594, -72.307},
		{"Santo Domingo", "DO", 18.486, -69.931},
		{"Port of Spain", "TT", 10.657, -61.519},
		{"Springfield, IL", "US", 39.781, -89.650}, // a US state code, not Israel
		// West Africa.
		{"Lagos", "NG", 6.524, 3.379},
		{"Accra", "GH", 5.604, -0.187},
		{"Dakar", "SN", 14.716, -17.467},
		{"Conakry", "GN", 9.641, -13.578},
		{"Lomé", "TG", 6.131, 1.223},
		{"Lome", "TG", 6.131, 1.223},
		{"Bamako", "ML", 12.639, -8.003},
		{"Bissau", "GW", 11.864, -15.598},
		{"Praia", "CV", 14.933, -23.513},
		{"Abidjan", "CI", 5.345, -4.024},
		{"Abidjan, Côte d'Ivoire", "CI", 5.345, -4.024},
		{"Abidjan, Ivory Coast", "CI", 5.345, -4.024},
		{"Freetown", "SL", 8.484, -13.234},
		{"Nouakchott", "MR", 18.079, -15.965},
		{"Ouagadougou", "BF", 12.371, -1.520},
		// Europe.
		{"Madrid", "ES", 40.417, -3.704},
		{"Algeciras", "ES", 36.133, -5.450},
		{"Lisbon", "PT", 38.722, -9.139},
		{"Lisboa", "PT", 38.722, -9.139},
		{"Rotterdam", "NL", 51.924, 4.478},
		{"Antwerp", "BE", 51.219, 4.402},
		{"Antwerpen", "BE", 51.219, 4.402},
		{"Marseille", "FR", 43.297, 5.381},
		{"Le Havre", "FR", 49.494, 0.108},
		{"Hamburg", "DE", 53.551, 9.994},
		{"Gioia Tauro", "IT", 38.424, 15.899},
		// Middle East.
		{"Beirut", "LB", 33.894, 35.502},
		{"Tehran", "IR", 35.689, 51.389},
		{"Damascus", "SY", 33.513, 36.292},
		{"Baghdad", "IQ", 33.315, 44.366},
		{"بغداد", "IQ", 33.315, 44.366},
		{"Amman", "JO", 31.954, 35.911},
		{"Tripoli", "LY", 32.887, 13.191},
		{"Tripoli, LY", "LY", 32.887, 13.191},
		{"Tripoli, LB", "LB", 34.437, 35.850},
		{"Tripoli, Lebanon", "LB", 34.437, 35.850},
		{"Sanaa", "YE", 15.369, 44.191},
		{"Mosul", "IQ", 36.335, 43.119},
		{"Halab", "SY", 36.202, 37.134},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			ps, err := g.Forward(tt.q, 5)
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) == 0 {
				t.Fatal("no candidates")
			}
			p := ps[0]
			if p.Country != tt.country {
				t.Errorf("country = %q, want %q (%+v)", p.Country, tt.country, p)
			}
			if d := distanceKm(p.Point[0], p.Point[1], tt.lon, tt.lat); d > 25 {
				t.Errorf("%s at %v is %.1f km from the true position", p.Name, p.Point, d)
			}
			if p.Precision != PrecisionPlace {
				t.Errorf("precision = %q, want place", p.Precision)
			}
		})
	}
}

// TestForwardRanking checks the order of candidates and what hints do.
func TestForwardRanking(t *testing.T) {
	g := loaded(t)
	first := func(q string) Place {
		t.Helper()
		ps, err := g.Forward(q, 10)
		if err != nil || len(ps) == 0 {
			t.Fatalf("Forward(%q) = %v, %v", q, ps, err)
		}
		return ps[0]
	}
	if p := first("Colombia"); p.Precision != PrecisionCountry || p.Country != "CO" {
		t.Errorf("Colombia: %+v, want the country", p)
	}
	if p := first("Nariño, CO"); p.Precision != PrecisionAdmin || p.Name != "Nariño" {
		t.Errorf("Nariño, CO: %+v, want the department", p)
	}
	if p := first("Antioquia"); p.Precision != PrecisionAdmin || p.Country != "CO" {
		t.Errorf("Antioquia: %+v, want the department", p)
	}
	// A hint keeps every candidate in the country.
	ps, err := g.Forward("San José, CR", 10)
	if err != nil || len(ps) == 0 {
		t.Fatalf("San José, CR: %v, %v", ps, err)
	}
	for _, p := range ps {
		if p.Country != "CR" {
			t.Errorf("San José, CR gave %+v", p)
		}
	}
	// The dependents of a country go with it: Cayenne is in French Guiana.
	if p := first("Cayenne, France"); p.Country != "GF" {
		t.Errorf("Cayenne, France: %+v", p)
	}
	// A prefix finds names that start with it, exact names first.
	if p := first("Ciudad del Es"); p.Name != "Ciudad del Este" {
		t.Errorf("Ciudad del Es: %+v", p)
	}
	// Whole words first: "ciudad del" starts "Ciudad del Cabo" (Cape Town)
	// as a word prefix, which beats the plain prefix "ciudad delicias".
	if p := first("Ciudad del"); !strings.HasPrefix(geo.Fold(p.Name), "ciudad del ") && p.Name != "Cape Town" {
		t.Errorf("Ciudad del: %+v", p)
	}
	// No match is no candidates, not an error.
	if ps, err := g.Forward("Xqzwvtplk", 5); err != nil || len(ps) != 0 {
		t.Errorf("Xqzwvtplk: %v, %v", ps, err)
	}
	// Limit is honoured and candidates are distinct.
	ps, _ = g.Forward("San", 100)
	if len(ps) != 100 {
		t.Errorf("San: %d candidates, want 100", len(ps))
	}
	seen := map[Place]bool{}
	for _, p := range ps {
		if seen[p] {
			t.Errorf("San: %+v twice", p)
		}
		seen[p] = true
	}
}

func TestForwardBadInput(t *testing.T) {
	g := loaded(t)
	tests := []struct {
		name  string
		q     string
		limit int
		want  string
	}{
		{"empty", "", 5, "empty"},
		{"blank", "  \t ", 5, "empty"},
		{"too long", strings.Repeat("a", MaxQueryLen+1), 5, "characters long"},
		{"punctuation", "!!! ,CO", 5, "no letters"},
		{"limit zero", "Bogota", 0, "limit"},
		{"limit too big", "Bogota", MaxLimit + 1, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := g.Forward(tt.q, tt.limit)
			if !errors.Is(err, ErrBadQuery) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrBadQuery about %q", err, tt.want)
			}
		})
	}
	if _, err := g.Forward(strings.Repeat("é", MaxQueryLen), 5); err != nil {
		t.Errorf("%d two-byte characters: %v", MaxQueryLen, err)
	}
}

// TestReverse looks up points on both sides of borders (each within 5 km of
// it), in coastal and island states, in territorial seas and on the high seas.
func TestReverse(t *testing.T) {
	g := loaded(t)
	tests := []struct {
		name        string
		lon, lat    float64
		country     string
		territorial bool
		atSea       bool
	}{
		{"Bogotá", -74.072, 4.711, "CO", false, false},
		// Border pairs.
		{"Nuevo Laredo", -99.500, 27.480, "MX", false, false},
		{"Laredo", -99.510, 27.510, "US", false, false},
		{"Tijuana", -117.030, 32.510, "MX", false, false},
		{"San Ysidro, San Diego", -117.040, 32.560, "US", false, false},
		{"Ciudad Juárez", -106.450, 31.725, "MX", false, false},
		{"El Paso", -106.450, 31.780, "US", false, false},
		{"Foz do Iguaçu", -54.580, -25.540, "BR", false, false},
		{"Ciudad del Este", -54.610, -25.520, "PY", false, false},
		{"Puerto Iguazú", -54.570, -25.600, "AR", false, false},
		{"Cúcuta", -72.490, 7.880, "CO", false, false},
		{"San Antonio del Táchira", -72.440, 7.815, "VE", false, false},
		{"Strasbourg", 7.740, 48.580, "FR", false, false},
		{"Kehl", 7.820, 48.570, "DE", false, false},
		// Coastal cities and island states.
		{"Dakar", -17.450, 14.690, "SN", false, false},
		{"Marseille", 5.370, 43.300, "FR", false, false},
		{"Lagos (Ikeja)", 3.350, 6.600, "NG", false, false},
		{"Praia, Cabo Verde", -23.510, 14.930, "CV", false, false},
		{"Kingston, Jamaica", -76.790, 18.000, "JM", false, false},
		{"Port of Spain, Trinidad", -61.510, 10.660, "TT", false, false},
		{"Valletta, Malta", 14.510, 35.900, "MT", false, false},
		{"Suva, Fiji", 178.440, -18.140, "FJ", false, false},
		// Across the antimeridian: Chukotka lies east of 180°, and the cut
		// must not spill into Canada at the same latitude.
		{"Lavrentiya, Chukotka", -170.990, 65.580, "RU", false, false},
		{"Chukotka uplands", 176.000, 66.000, "RU", false, false},
		{"Nunavut at 66°N", -100.000, 66.000, "CA", false, false},
		{"Antarctica", 0.000, -80.000, "AQ", false, false},
		{"near the South Pole", 120.000, -89.000, "AQ", false, false},
		// Areas that Natural Earth gives no ISO code, and dependents.
		{"Pristina, Kosovo", 21.170, 42.660, "XK", false, false},
		{"Cayenne, French Guiana", -52.330, 4.930, "GF", false, false},
		// Territorial seas (12 nautical miles) and the high seas.
		{"off Kingston", -76.800, 17.850, "JM", true, true},
		{"off Dakar", -17.600, 14.700, "SN", true, true},
		{"off Praia", -23.500, 14.850, "CV", true, true},
		{"off Lagos", 3.400, 6.300, "NG", true, true},
		{"beyond Dakar's sea", -17.900, 14.700, "", false, true},
		{"mid-Atlantic", -30.000, 30.000, "", false, true},
		{"Gulf of Guinea", 2.000, 0.000, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := g.Reverse(tt.lon, tt.lat)
			if err != nil {
				t.Fatal(err)
			}
			if r.Country != tt.country || r.Territorial != tt.territorial || r.AtSea != tt.atSea {
				t.Errorf("got country %q territorial %v at sea %v, want %q %v %v",
					r.Country, r.Territorial, r.AtSea, tt.country, tt.territorial, tt.atSea)
			}
			if got := g.CountryOf(tt.lon, tt.lat); got != tt.country {
				t.Errorf("CountryOf = %q, want %q", got, tt.country)
			}
			if tt.country != "" && r.CountryName == "" {
				t.Error("no country name")
			}
			if r.Nearest == nil || r.NearestKm < 0 {
				t.Fatalf("no nearest place: %+v", r)
			}
			if d := distanceKm(tt.lon, tt.lat, r.Nearest.Point[0], r.Nearest.Point[1]); math.Abs(d-r.NearestKm) > 0.01 {
				t.Errorf("NearestKm %.3f, but %s is %.3f km away", r.NearestKm, r.Nearest.Name, d)
			}
		})
	}
}

func TestReverseNearest(t *testing.T) {
	g := loaded(t)
	r, err := g.Reverse(-54.611, -25.516)
	if err != nil {
		t.Fatal(err)
	}
	if r.Nearest.Name != "Ciudad del Este" || r.Nearest.Country != "PY" || r.NearestKm > 2 {
		t.Errorf("nearest = %+v at %.1f km", r.Nearest, r.NearestKm)
	}
}

func TestReverseBadInput(t *testing.T) {
	g := loaded(t)
	tests := []struct {
		name     string
		lon, lat float64
		want     string
	}{
		{"NaN longitude", math.NaN(), 0, "not a finite"},
		{"Inf latitude", 0, math.Inf(1), "not a finite"},
		{"longitude too big", 180.5, 0, "out of range"},
		{"longitude too small", -181, 0, "out of range"},
		{"latitude too big", 0, 90.0001, "out of range"},
		{"latitude too small", 0, -91, "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := g.Reverse(tt.lon, tt.lat)
			if !errors.Is(err, ErrBadQuery) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrBadQuery about %q", err, tt.want)
			}
			if c := g.CountryOf(tt.lon, tt.lat); c != "" {
				t.Errorf("CountryOf = %q", c)
			}
		})
	}
	// The edges of the range are valid.
	for _, p := range [][2]float64{{-180, -90}, {180, 90}, {180, 0}, {-180, 0}, {0, 90}, {0, -90}} {
		if _, err := g.Reverse(p[0], p[1]); err != nil {
			t.Errorf("Reverse(%v): %v", p, err)
		}
	}
}

func TestCountries(t *testing.T) {
	g := loaded(t)
	codes := map[string]string{
		"Colombia": "CO", "colombia": "CO", "CO": "CO", "co": "CO", "COL": "CO",
		"Côte d'Ivoire": "CI", "Cote dIvoire": "CI", "Ivory Coast": "CI",
		"Estados Unidos": "US", "USA": "US", "Líbano": "LB", "Lebanon": "LB",
		"Guinea-Bissau": "GW", "Guinée-Bissau": "GW", "Kosovo": "XK",
		"Deutschland": "DE", "Cabo Verde": "CV", "Cape Verde": "CV",
		"": "", "Atlantis": "",
	}
	for in, want := range codes {
		if got := g.CountryCode(in); got != want {
			t.Errorf("CountryCode(%q) = %q, want %q", in, got, want)
		}
	}
	names := map[string]string{"CO": "Colombia", "co": "Colombia", "GW": "Guinea-Bissau", "XX": "", "": "", "COL": ""}
	for in, want := range names {
		if got := g.CountryName(in); got != want {
			t.Errorf("CountryName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestNearestMatchesBruteForce checks the k-d search against a scan of every
// place.
func TestNearestMatchesBruteForce(t *testing.T) {
	g := loaded(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for range 50 {
		lon, lat := -180+360*rng.Float64(), -90+180*rng.Float64()
		got, km := g.nearest(lon, lat, nil)
		v := unitVec(lon, lat)
		want, wantD := -1, math.Inf(1)
		for i, p := range g.placeVec {
			dx, dy, dz := float64(v[0])-float64(p[0]), float64(v[1])-float64(p[1]), float64(v[2])-float64(p[2])
			if d := dx*dx + dy*dy + dz*dz; d < wantD {
				want, wantD = i, d
			}
		}
		wantKm := 2 * earthRadiusKm * math.Asin(math.Sqrt(wantD)/2)
		if got != want && math.Abs(km-wantKm) > 1e-3 {
			t.Errorf("nearest(%.4f, %.4f) = %d at %.3f km, want %d at %.3f km", lon, lat, got, km, want, wantKm)
		}
	}
}

// TestCountryAtMatchesBruteForce checks the cell index against the even-odd
// rule applied to every edge, at random points and at points a few hundred
// metres either side of random boundary edges.
func TestCountryAtMatchesBruteForce(t *testing.T) {
	g := loaded(t)
	s := &g.shapes
	brute := func(lon, lat float64) int {
		var in toggles
		for k := range s.edges {
			e := &s.edges[k]
			ay, by := float64(e.ay), float64(e.by)
			if (ay > lat) == (by > lat) {
				continue
			}
			ax, bx := float64(e.ax), float64(e.bx)
			if x := ax + (lat-ay)*(bx-ax)/(by-ay); x < lon {
				in.edge(e)
			}
		}
		return int(in.country()) - 1
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var points [][2]float64
	for range 60 {
		points = append(points, [2]float64{-180 + 360*rng.Float64(), -85 + 170*rng.Float64()})
	}
	for range 60 {
		e := &s.edges[rng.IntN(len(s.edges))]
		mx, my := float64(e.ax+e.bx)/2, float64(e.ay+e.by)/2
		dx, dy := float64(e.bx-e.ax), float64(e.by-e.ay)
		n := math.Hypot(dx, dy)
		off := 0.003 // degrees, about 300 m
		points = append(points, [2]float64{mx - dy/n*off, my + dx/n*off}, [2]float64{mx + dy/n*off, my - dx/n*off})
	}
	for _, p := range points {
		if p[0] < -180 || p[0] > 180 || p[1] < -90 || p[1] > 90 {
			continue
		}
		if got, want := s.countryAt(p[0], p[1]), brute(p[0], p[1]); got != want {
			t.Errorf("countryAt(%.5f, %.5f) = %d, brute force says %d", p[0], p[1], got, want)
		}
	}
}

func TestDefaultConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	gs := make([]*Gazetteer, 8)
	for i := range gs {
		wg.Go(func() {
			g, err := Default()
			if err != nil {
				t.Error(err)
				return
			}
			gs[i] = g
			if _, err := g.Forward("Bogota", 1); err != nil {
				t.Error(err)
			}
			g.CountryOf(-74, 4.6)
		})
	}
	wg.Wait()
	for _, g := range gs[1:] {
		if g != gs[0] {
			t.Fatal("Default returned different gazetteers")
		}
	}
}

func TestBasemap(t *testing.T) {
	gz := BasemapGeoJSON()
	if gz == nil {
		t.Fatal("no basemap: run data/reference/build.sh")
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if len(gz) > 3<<20 {
		t.Errorf("basemap is %d bytes gzipped, want at most 3 MiB", len(gz))
	}
	var fc struct {
		Type     string `json:"type"`
		Features []struct {
			Properties struct {
				ISOA2 string `json:"iso_a2"`
				Name  string `json:"name"`
			} `json:"properties"`
			Geometry struct {
				Type        string           `json:"type"`
				Coordinates [][][][2]float64 `json:"coordinates"`
			} `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal(raw, &fc); err != nil {
		t.Fatal(err)
	}
	if fc.Type != "FeatureCollection" || len(fc.Features) < 200 {
		t.Fatalf("type %q with %d features", fc.Type, len(fc.Features))
	}
	found := false
	for _, f := range fc.Features {
		if f.Properties.ISOA2 == "CO" {
			found = true
			if f.Geometry.Type != "MultiPolygon" || len(f.Geometry.Coordinates) == 0 {
				t.Errorf("Colombia: %s with %d polygons", f.Geometry.Type, len(f.Geometry.Coordinates))
			}
		}
	}
	if !found {
		t.Error("no feature with iso_a2 CO")
	}
}

func TestAttribution(t *testing.T) {
	for _, s := range []string{"GeoNames", "CC BY 4.0", "Natural Earth", "public domain"} {
		if !strings.Contains(Attribution, s) {
			t.Errorf("Attribution does not mention %q", s)
		}
	}
}
