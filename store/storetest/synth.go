package storetest

import (
	"fmt"
	"math/rand"
	"strings"

	"github.com/paulmach/orb"

	"nexus/geo"
)

// Synthetic records for the property tests, the crash test and the
// benchmarks: realistic sizes (a title of about 40 characters, a summary of
// about 200, two actors, one source, a date and a country), full-precision
// coordinates, and routes that cross the antimeridian.

var (
	synthActors    = []string{"ISIS", "Hezbollah", "Los Zetas", "FARC", "ELN", "Sinaloa Cartel", "CJNG", "Tren de Aragua", "PCC", "Clan del Golfo", "Al-Shabaab", "Gulf Cartel"}
	synthCountries = []string{"CO", "MX", "VE", "AR", "BR", "PE", "EC", "GT", "US", "ES", "GW", "LB", "NG", "ML", "PA", "HN"}
	synthPlaces    = []string{"Bogotá", "Medellín", "Tumaco", "Ciudad Juárez", "Culiacán", "Caracas", "Buenos Aires", "Bissau", "Beirut", "Guayaquil", "Lima", "Nuevo Laredo", "Tegucigalpa", "São Paulo", "Cartagena", "Bamako"}
	synthWords     = []string{"police", "seized", "tonnes", "cocaine", "vessel", "border", "network", "laundering", "militants", "embassy", "bombing", "suspects", "arrested", "shipment", "airstrip", "smugglers", "prosecutors", "informant", "weapons", "cash", "checkpoint", "convoy", "ambush", "soldiers", "extortion", "hostages", "ransom", "financier", "recruiters", "jungle", "coast", "container", "warehouse", "submarine", "operation", "indictment", "sanctions", "officials", "investigators", "couriers"}
	synthSubtypes  = []string{"bombing", "armed assault", "hostage taking", "maritime interdiction", "money laundering", ""}
	synthTags      = []string{"synthetic", "maritime", "urban", "rural", "border"}
	synthPubs      = []string{"El Tiempo", "Reuters", "InSight Crime", "La Nación", "AP"}
)

// Synth makes synthetic records from one seeded source: the property
// tests use it, and so may an engine's own tests and benchmarks.
type Synth struct {
	rng    *rand.Rand
	prefix string // of external ids, so that two generators do not collide
	next   int
}

// NewSynth returns a generator seeded with seed whose external ids begin
// with prefix.
func NewSynth(seed int64, prefix string) *Synth {
	return &Synth{rng: rand.New(rand.NewSource(seed)), prefix: prefix}
}

func (s *Synth) pick(list []string) string { return list[s.rng.Intn(len(list))] }

// pickN returns n distinct items of the list.
func (s *Synth) pickN(list []string, n int) []string {
	out := make([]string, 0, n)
	for _, k := range s.rng.Perm(len(list))[:n] {
		out = append(out, list[k])
	}
	return out
}

// text joins random words until the text is at least n bytes long.
func (s *Synth) text(n int) string {
	var b strings.Builder
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s.pick(synthWords))
	}
	return b.String()
}

// date returns a partial date between 1970 and 2024 in one of the three precisions.
func (s *Synth) date() string {
	y := 1970 + s.rng.Intn(55)
	switch k := s.rng.Intn(10); {
	case k < 2:
		return fmt.Sprintf("%04d", y)
	case k < 5:
		return fmt.Sprintf("%04d-%02d", y, 1+s.rng.Intn(12))
	default:
		return fmt.Sprintf("%04d-%02d-%02d", y, 1+s.rng.Intn(12), 1+s.rng.Intn(28))
	}
}

// lon and lat are uniform with a full float64 mantissa, so that they are
// never exact float32 values; one in a hundred lies on the edge of the range.
func (s *Synth) lon() float64 {
	if s.rng.Intn(100) == 0 {
		return []float64{-180, 180}[s.rng.Intn(2)]
	}
	return s.rng.Float64()*360 - 180
}

func (s *Synth) lat() float64 {
	if s.rng.Intn(100) == 0 {
		return []float64{-90, 90}[s.rng.Intn(2)]
	}
	return s.rng.Float64()*180 - 90
}

func (s *Synth) externalID() string {
	s.next++
	return fmt.Sprintf("%s:%d", s.prefix, s.next)
}

func (s *Synth) source() geo.Source {
	d := s.date()
	return geo.Source{
		Title:     "Report on " + s.text(20) + " in " + s.pick(synthPlaces),
		URL:       fmt.Sprintf("https://news.example.org/%s/%d", d[:4], s.rng.Intn(1e6)),
		Publisher: s.pick(synthPubs),
		Published: d,
	}
}

// Incident returns a valid incident at a random point.
func (s *Synth) Incident() *geo.Incident {
	place := s.pick(synthPlaces)
	summary := s.text(199)
	in := &geo.Incident{
		Point:      orb.Point{s.lon(), s.lat()},
		Title:      s.text(26) + " near " + place,
		Summary:    strings.ToUpper(summary[:1]) + summary[1:] + ".",
		Type:       s.pick(geo.IncidentTypes),
		Subtype:    s.pick(synthSubtypes),
		Date:       s.date(),
		Place:      place,
		Country:    s.pick(synthCountries),
		Precision:  s.pick(geo.Precisions),
		Actors:     s.pickN(synthActors, 2),
		Sources:    []geo.Source{s.source()},
		Tags:       s.pickN(synthTags, 1),
		ExternalID: s.externalID(),
	}
	if s.rng.Intn(2) == 0 {
		k, w := int64(s.rng.Intn(20)), int64(s.rng.Intn(50))
		in.Killed, in.Wounded = &k, &w
	}
	return in
}

// Incidents returns n incidents as records.
func (s *Synth) Incidents(n int) []geo.Record {
	out := make([]geo.Record, n)
	for i := range out {
		out[i] = s.Incident()
	}
	return out
}

// walk returns a line of n vertices from start, in steps of at most 20° of
// longitude and 10° of latitude; a step past ±180° wraps round, so the line
// crosses the antimeridian there.
func (s *Synth) walk(start orb.Point, n int) orb.LineString {
	ls := orb.LineString{start}
	p := start
	for len(ls) < n {
		dx := (0.5 + s.rng.Float64()*19.5) * float64(1-2*s.rng.Intn(2))
		dy := (0.5 + s.rng.Float64()*9.5) * float64(1-2*s.rng.Intn(2))
		p = orb.Point{p[0] + dx, p[1] + dy}
		if p[0] > 180 {
			p[0] -= 360
		} else if p[0] < -180 {
			p[0] += 360
		}
		if p[1] > 89 || p[1] < -89 {
			p[1] -= 2 * dy
		}
		ls = append(ls, p)
	}
	return ls
}

// crossing returns a line whose first segment crosses the antimeridian,
// such as [175, y] → [-175, y'], in either direction.
func (s *Synth) crossing() orb.LineString {
	y := s.rng.Float64()*120 - 60
	a := orb.Point{170 + s.rng.Float64()*10, y}
	b := orb.Point{-180 + s.rng.Float64()*10, y + s.rng.Float64()*10 - 5}
	if s.rng.Intn(2) == 0 {
		a, b = b, a
	}
	ls := orb.LineString{a}
	return append(ls, s.walk(b, 1+s.rng.Intn(3))...)
}

// Route returns a valid route: a fifth cross the antimeridian on purpose
// (and random walks cross it now and then), a fifth are MultiLineStrings.
func (s *Synth) Route() *geo.Route {
	r := &geo.Route{
		Name:       s.text(30),
		Commodity:  s.pick(geo.Commodities),
		Mode:       s.pick(geo.Modes),
		Actors:     s.pickN(synthActors, 1+s.rng.Intn(2)),
		Countries:  s.pickN(synthCountries, 1+s.rng.Intn(3)),
		Sources:    []geo.Source{s.source()},
		Summary:    s.text(200),
		Confidence: s.pick(geo.Confidences),
		ExternalID: s.externalID(),
	}
	switch k := s.rng.Intn(10); {
	case k < 2:
		r.Line = s.crossing()
	case k < 4:
		mls := orb.MultiLineString{s.walk(orb.Point{s.lon(), s.rng.Float64()*160 - 80}, 2+s.rng.Intn(3))}
		if s.rng.Intn(2) == 0 {
			mls = append(mls, s.crossing())
		} else {
			mls = append(mls, s.walk(orb.Point{s.lon(), s.rng.Float64()*160 - 80}, 2+s.rng.Intn(3)))
		}
		r.Line = mls
	default:
		r.Line = s.walk(orb.Point{s.lon(), s.rng.Float64()*160 - 80}, 2+s.rng.Intn(5))
	}
	switch s.rng.Intn(4) {
	case 1:
		r.ActiveFrom = s.date()
	case 2:
		r.ActiveTo = s.date()
	case 3:
		r.ActiveFrom = s.date()
		r.ActiveTo = fmt.Sprintf("%04d", 1971+s.rng.Intn(10)+atoi4(r.ActiveFrom))
	}
	return r
}

// Routes returns n routes as records.
func (s *Synth) Routes(n int) []geo.Record {
	out := make([]geo.Record, n)
	for i := range out {
		out[i] = s.Route()
	}
	return out
}

// atoi4 reads the year of a partial date, minus 1970.
func atoi4(date string) int {
	y := 0
	for _, c := range date[:4] {
		y = y*10 + int(c-'0')
	}
	return y - 1970
}
