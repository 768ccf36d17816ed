package geo

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// absent removes a property from the base record in a test case.
var absent = struct{ absent bool }{true}

// props are the properties a test case sets over a valid base record.
type props map[string]any

// baseIncident is a valid incident: the AMIA bombing in Buenos Aires.
func baseIncident() props {
	return props{
		"title":       "Bombing of the AMIA building",
		"summary":     "A van loaded with explosives destroyed the Jewish community centre.",
		"type":        "attack",
		"subtype":     "Bombing/Explosion",
		"date":        "1994-07-18",
		"place":       "Pasteur 633, Buenos Aires",
		"country":     "AR",
		"precision":   "exact",
		"actors":      []string{"Hezbollah"},
		"killed":      85,
		"wounded":     300,
		"sources":     []map[string]string{{"title": "AMIA bombing", "url": "https://example.org/amia", "publisher": "Example", "published": "1994-07-19"}},
		"tags":        []string{"bomb"},
		"external_id": "gtd:199407180002",
	}
}

// baseRoute is a valid route: cocaine from Colombia through Guinea-Bissau to Spain.
func baseRoute() props {
	return props{
		"name":        "Highway 10",
		"commodity":   "cocaine",
		"mode":        "sea",
		"waypoints":   []string{"Cartagena", "Bissau", "Cádiz"},
		"actors":      []string{"Clan del Golfo"},
		"sources":     []map[string]string{{"title": "UNODC report", "url": "https://example.org/unodc"}},
		"tags":        []string{"atlantic"},
		"external_id": "route:hw10",
		"summary":     "Mother ships cross the Atlantic along the 10th parallel.",
		"active_from": "2005",
		"active_to":   "2012-06",
		"confidence":  "medium",
	}
}

const (
	pointAMIA = `{"type":"Point","coordinates":[-58.3994,-34.6025]}`
	lineHW10  = `{"type":"LineString","coordinates":[[-75.5,10.4],[-15.6,11.9],[-6.3,36.5]]}`
)

// feature writes a GeoJSON Feature from a geometry and base properties with
// the changes set over them.
func feature(geometry string, base, set props) string {
	p := props{}
	for k, v := range base {
		p[k] = v
	}
	for k, v := range set {
		if v == absent {
			delete(p, k)
		} else {
			p[k] = v
		}
	}
	b, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf(`{"type":"Feature","geometry":%s,"properties":%s}`, geometry, b)
}

func incident(set props) string { return feature(pointAMIA, baseIncident(), set) }

func incidentAt(geometry string) string { return feature(geometry, baseIncident(), nil) }

func route(set props) string { return feature(lineHW10, baseRoute(), set) }

func routeAlong(geometry string, set props) string { return feature(geometry, baseRoute(), set) }

// lineOf writes a LineString of n distinct positions.
func lineOf(n int) string {
	var b strings.Builder
	b.WriteString(`{"type":"LineString","coordinates":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "[%g,%g]", -80+float64(i%1000)*0.01, 10+float64(i/1000)*0.01)
	}
	b.WriteString("]}")
	return b.String()
}

// decodeAndValidate is what the API does with a body: decode, then validate.
func decodeAndValidate(c Collection, text string) (Record, error) {
	r, err := DecodeFeature(c, []byte(text))
	if err != nil {
		return nil, err
	}
	return r, r.Validate()
}

func TestValidate(t *testing.T) {
	long := func(n int) string { return strings.Repeat("é", n) }
	cases := []struct {
		name  string
		c     Collection
		text  string
		code  string // "" when the record is valid
		field string // a field the *Error names
		rule  string // a substring of that field's message, or of the message
	}{
		// Valid records.
		{name: "incident is valid", c: Incidents, text: incident(nil)},
		{name: "incident with null killed and wounded", c: Incidents, text: incident(props{"killed": nil, "wounded": nil})},
		{name: "incident with zero killed", c: Incidents, text: incident(props{"killed": 0})},
		{name: "incident with only the required properties", c: Incidents,
			text: `{"type":"Feature","geometry":{"type":"Point","coordinates":[-74.06,4.65]},"properties":{"title":"Plot against diplomats","type":"plot","date":"2018"}}`},
		{name: "incident dated by month", c: Incidents, text: incident(props{"date": "1994-07"})},
		{name: "incident on a leap day", c: Incidents, text: incident(props{"date": "2024-02-29"})},
		{name: "incident at the corner of the world", c: Incidents, text: incidentAt(`{"type":"Point","coordinates":[180,-90]}`)},
		{name: "incident with a title of 200 characters", c: Incidents, text: incident(props{"title": long(200)})},
		{name: "incident with a source that has only a url", c: Incidents, text: incident(props{"sources": []map[string]string{{"url": "http://example.org"}}})},
		{name: "incident with a source published at an RFC 3339 time", c: Incidents, text: incident(props{"sources": []map[string]string{{"title": "x", "published": "1994-07-19T08:00:00-03:00"}}})},
		{name: "incident with server fields", c: Incidents, text: incident(props{"version": 3, "created": "2024-01-02T03:04:05Z", "updated": "2024-01-03T03:04:05Z"})},
		{name: "route is valid", c: Routes, text: route(nil)},
		{name: "route crossing the antimeridian", c: Routes,
			text: routeAlong(`{"type":"LineString","coordinates":[[121.5,25.0],[179.5,30.0],[-150,35],[-105.3,19.9]]}`, props{"waypoints": absent})},
		{name: "route as a MultiLineString", c: Routes,
			text: routeAlong(`{"type":"MultiLineString","coordinates":[[[-75.5,10.4],[-15.6,11.9]],[[-15.6,11.9],[-6.3,36.5],[-3.7,40.4]]]}`, props{"waypoints": absent})},
		{name: "route with one waypoint per vertex of a MultiLineString", c: Routes,
			text: routeAlong(`{"type":"MultiLineString","coordinates":[[[-75.5,10.4],[-15.6,11.9]],[[-15.6,11.9],[-6.3,36.5]]]}`, props{"waypoints": []string{"a", "b", "c", "d"}})},
		{name: "route with only the required properties", c: Routes,
			text: `{"type":"Feature","geometry":` + lineHW10 + `,"properties":{"name":"x","commodity":"arms"}}`},
		{name: "route with active_from only", c: Routes, text: route(props{"active_to": absent})},
		{name: "route active within one year", c: Routes, text: route(props{"active_from": "2005", "active_to": "2005-03"})},
		{name: "route with a repeated position among distinct ones", c: Routes,
			text: routeAlong(`{"type":"LineString","coordinates":[[1,1],[1,1],[2,2]]}`, props{"waypoints": absent})},
		{name: "route with 10000 vertices", c: Routes, text: routeAlong(lineOf(MaxVertices), props{"waypoints": absent})},

		// Decoding: the input is not JSON at all.
		{name: "malformed JSON", c: Incidents, text: `{"type":"Feature","geometry":`, code: EMALFORMED, rule: "malformed JSON"},
		{name: "empty body", c: Incidents, text: ``, code: EMALFORMED, rule: "malformed JSON"},
		{name: "trailing garbage after the JSON", c: Incidents, text: incident(nil) + ` x`, code: EMALFORMED, rule: "unexpected data after the JSON value"},
		{name: "a second value after the JSON", c: Routes, text: route(nil) + `{}`, code: EMALFORMED, rule: "unexpected data after the JSON value"},

		// Decoding: JSON of the wrong shape.
		{name: "not a Feature", c: Incidents, text: `{"type":"FeatureCollection","features":[]}`, code: EINVALID, field: "features", rule: "is not a member"},
		{name: "type is not Feature", c: Incidents, text: `{"type":"Point","geometry":` + pointAMIA + `}`, code: EINVALID, field: "type", rule: `must be "Feature"`},
		{name: "a JSON array instead of a Feature", c: Incidents, text: `[1,2]`, code: EINVALID, field: "feature", rule: "must be an object"},
		{name: "unknown member of the Feature", c: Incidents, text: strings.Replace(incident(nil), `{"type":"Feature",`, `{"type":"Feature","colour":"red",`, 1), code: EINVALID, field: "colour", rule: "is not a member"},
		{name: "unknown property", c: Incidents, text: incident(props{"colour": "red"}), code: EINVALID, field: "properties.colour", rule: "is not a member"},
		{name: "unknown route property", c: Routes, text: route(props{"date": "2005"}), code: EINVALID, field: "properties.date", rule: "is not a member"},
		{name: "killed as a string", c: Incidents, text: incident(props{"killed": "3"}), code: EINVALID, field: "properties.killed", rule: "must be an integer"},
		{name: "killed as a fraction", c: Incidents, text: incident(props{"killed": 1.5}), code: EINVALID, field: "properties.killed", rule: "must be an integer"},
		{name: "actors as a string", c: Incidents, text: incident(props{"actors": "ISIS"}), code: EINVALID, field: "properties.actors", rule: "must be an array"},
		{name: "properties as an array", c: Incidents, text: `{"type":"Feature","geometry":` + pointAMIA + `,"properties":[]}`, code: EINVALID, field: "properties", rule: "must be an object"},

		// Incident properties.
		{name: "title missing", c: Incidents, text: incident(props{"title": absent}), code: EINVALID, field: "title", rule: "is required"},
		{name: "title empty", c: Incidents, text: incident(props{"title": ""}), code: EINVALID, field: "title", rule: "is required"},
		{name: "title blank", c: Incidents, text: incident(props{"title": " \t"}), code: EINVALID, field: "title", rule: "is required"},
		{name: "title of 201 characters", c: Incidents, text: incident(props{"title": long(201)}), code: EINVALID, field: "title", rule: "201 characters long, more than 200"},
		{name: "summary over 20000 characters", c: Incidents, text: incident(props{"summary": long(20001)}), code: EINVALID, field: "summary", rule: "more than 20000"},
		{name: "subtype too long", c: Incidents, text: incident(props{"subtype": long(MaxText + 1)}), code: EINVALID, field: "subtype", rule: "more than 2000"},
		{name: "place too long", c: Incidents, text: incident(props{"place": long(MaxText + 1)}), code: EINVALID, field: "place", rule: "more than 2000"},
		{name: "type missing", c: Incidents, text: incident(props{"type": absent}), code: EINVALID, field: "type", rule: "is required"},
		{name: "type unknown", c: Incidents, text: incident(props{"type": "riot"}), code: EINVALID, field: "type", rule: `"riot" is not one of attack, plot`},
		{name: "type in capitals", c: Incidents, text: incident(props{"type": "Attack"}), code: EINVALID, field: "type", rule: "is not one of"},
		{name: "date missing", c: Incidents, text: incident(props{"date": absent}), code: EINVALID, field: "date", rule: "is required: YYYY, YYYY-MM or YYYY-MM-DD"},
		{name: "date of the wrong form", c: Incidents, text: incident(props{"date": "18/07/1994"}), code: EINVALID, field: "date", rule: "not a valid date of the form YYYY-MM-DD"},
		{name: "date of the wrong length", c: Incidents, text: incident(props{"date": "94-07"}), code: EINVALID, field: "date", rule: "not a date of the form YYYY, YYYY-MM or YYYY-MM-DD"},
		{name: "date with a time", c: Incidents, text: incident(props{"date": "1994-07-18T10:00:00Z"}), code: EINVALID, field: "date", rule: "not a date of the form"},
		{name: "date in month 13", c: Incidents, text: incident(props{"date": "1994-13"}), code: EINVALID, field: "date", rule: "not a valid date of the form YYYY-MM"},
		{name: "impossible date 2021-02-30", c: Incidents, text: incident(props{"date": "2021-02-30"}), code: EINVALID, field: "date", rule: `"2021-02-30" is not a valid date`},
		{name: "no leap day in 2023", c: Incidents, text: incident(props{"date": "2023-02-29"}), code: EINVALID, field: "date", rule: "not a valid date"},
		{name: "country of three letters", c: Incidents, text: incident(props{"country": "ARG"}), code: EINVALID, field: "country", rule: "ISO 3166-1 alpha-2"},
		{name: "country in lower case", c: Incidents, text: incident(props{"country": "ar"}), code: EINVALID, field: "country", rule: "ISO 3166-1 alpha-2"},
		{name: "precision unknown value", c: Incidents, text: incident(props{"precision": "street"}), code: EINVALID, field: "precision", rule: `"street" is not one of exact, place`},
		{name: "actors item empty", c: Incidents, text: incident(props{"actors": []string{"Hezbollah", ""}}), code: EINVALID, field: "actors[1]", rule: "is required"},
		{name: "actors item too long", c: Incidents, text: incident(props{"actors": []string{long(201)}}), code: EINVALID, field: "actors[0]", rule: "more than 200"},
		{name: "too many actors", c: Incidents, text: incident(props{"actors": make([]string, MaxItems+1)}), code: EINVALID, field: "actors", rule: "more than 200"},
		{name: "killed negative", c: Incidents, text: incident(props{"killed": -1}), code: EINVALID, field: "killed", rule: "must be 0 or more, or null when unknown"},
		{name: "wounded negative", c: Incidents, text: incident(props{"wounded": -3}), code: EINVALID, field: "wounded", rule: "must be 0 or more"},
		{name: "source without title and url", c: Incidents, text: incident(props{"sources": []map[string]string{{"publisher": "El Tiempo"}}}), code: EINVALID, field: "sources[0]", rule: "needs a title or a url"},
		{name: "source url with a javascript: scheme", c: Incidents, text: incident(props{"sources": []map[string]string{{"title": "x", "url": "javascript:alert(1)"}}}), code: EINVALID, field: "sources[0].url", rule: "absolute http or https URL"},
		{name: "source url relative", c: Incidents, text: incident(props{"sources": []map[string]string{{"title": "x", "url": "/news/1"}}}), code: EINVALID, field: "sources[0].url", rule: "absolute http or https URL"},
		{name: "source url without a host", c: Incidents, text: incident(props{"sources": []map[string]string{{"title": "x", "url": "https://"}}}), code: EINVALID, field: "sources[0].url", rule: "absolute http or https URL"},
		{name: "source published bad date", c: Incidents, text: incident(props{"sources": []map[string]string{{"title": "x", "published": "19 July 1994"}}}), code: EINVALID, field: "sources[0].published", rule: "is neither an RFC 3339 time nor a date"},
		{name: "source published impossible date", c: Incidents, text: incident(props{"sources": []map[string]string{{"title": "x", "published": "1994-02-30"}}}), code: EINVALID, field: "sources[0].published", rule: "not a valid date"},
		{name: "source title too long", c: Incidents, text: incident(props{"sources": []map[string]string{{"title": long(MaxText + 1)}}}), code: EINVALID, field: "sources[0].title", rule: "more than 2000"},
		{name: "source with an unknown member", c: Incidents, text: incident(props{"sources": []map[string]string{{"title": "x", "author": "y"}}}), code: EINVALID, field: "properties.author", rule: "is not a member"}, // encoding/json does not say which source
		{name: "tags empty item", c: Incidents, text: incident(props{"tags": []string{""}}), code: EINVALID, field: "tags[0]", rule: "is required"},
		{name: "external_id too long", c: Incidents, text: incident(props{"external_id": long(201)}), code: EINVALID, field: "external_id", rule: "more than 200"},

		// Incident geometry.
		{name: "geometry missing", c: Incidents, text: `{"type":"Feature","properties":{"title":"x","type":"attack","date":"1994"}}`, code: EINVALID, field: "geometry", rule: "is required"},
		{name: "geometry null", c: Incidents, text: incidentAt(`null`), code: EINVALID, field: "geometry", rule: "is required"},
		{name: "geometry not an object", c: Incidents, text: incidentAt(`[1,2]`), code: EINVALID, field: "geometry", rule: "is not a GeoJSON geometry"},
		{name: "LineString for an incident", c: Incidents, text: incidentAt(lineHW10), code: EINVALID, field: "geometry", rule: `type "LineString" is not allowed here`},
		{name: "MultiPoint for an incident", c: Incidents, text: incidentAt(`{"type":"MultiPoint","coordinates":[[1,2]]}`), code: EINVALID, field: "geometry", rule: "is not allowed here"},
		{name: "longitude 180.0001", c: Incidents, text: incidentAt(`{"type":"Point","coordinates":[180.0001,0]}`), code: EINVALID, field: "geometry.coordinates", rule: "longitude 180.0001 is outside [-180, 180]"},
		{name: "longitude -181", c: Incidents, text: incidentAt(`{"type":"Point","coordinates":[-181,0]}`), code: EINVALID, field: "geometry.coordinates", rule: "longitude -181 is outside"},
		{name: "latitude -90.5", c: Incidents, text: incidentAt(`{"type":"Point","coordinates":[0,-90.5]}`), code: EINVALID, field: "geometry.coordinates", rule: "latitude -90.5 is outside [-90, 90]"},
		{name: "position with 1 number", c: Incidents, text: incidentAt(`{"type":"Point","coordinates":[1]}`), code: EINVALID, field: "geometry.coordinates", rule: "must be [lon, lat], got 1 numbers"},
		{name: "position with 3 numbers", c: Incidents, text: incidentAt(`{"type":"Point","coordinates":[1,2,3]}`), code: EINVALID, field: "geometry.coordinates", rule: "must be [lon, lat], got 3 numbers"},
		{name: "position with null numbers", c: Incidents, text: incidentAt(`{"type":"Point","coordinates":[null,null]}`), code: EINVALID, field: "geometry", rule: "finite numbers, not null"},
		{name: "position as strings", c: Incidents, text: incidentAt(`{"type":"Point","coordinates":["1","2"]}`), code: EINVALID, field: "geometry", rule: "must be [lon, lat]"},
		{name: "position with a number out of float64 range", c: Incidents, text: incidentAt(`{"type":"Point","coordinates":[1e400,0]}`), code: EINVALID, field: "geometry", rule: "must be [lon, lat]"},
		{name: "coordinates missing", c: Incidents, text: incidentAt(`{"type":"Point"}`), code: EINVALID, field: "geometry", rule: "must be [lon, lat]"},
		{name: "unknown member of the geometry", c: Incidents, text: incidentAt(`{"type":"Point","coordinates":[1,2],"crs":{}}`), code: EINVALID, field: "geometry", rule: `unknown field "crs"`},

		// Route properties.
		{name: "route name missing", c: Routes, text: route(props{"name": absent}), code: EINVALID, field: "name", rule: "is required"},
		{name: "route name of 201 characters", c: Routes, text: route(props{"name": long(201)}), code: EINVALID, field: "name", rule: "more than 200"},
		{name: "commodity missing", c: Routes, text: route(props{"commodity": absent}), code: EINVALID, field: "commodity", rule: "is required: one of cocaine"},
		{name: "commodity unknown", c: Routes, text: route(props{"commodity": "gold"}), code: EINVALID, field: "commodity", rule: `"gold" is not one of cocaine, heroin`},
		{name: "mode unknown", c: Routes, text: route(props{"mode": "rail"}), code: EINVALID, field: "mode", rule: `"rail" is not one of sea, air, land, mixed`},
		{name: "confidence unknown", c: Routes, text: route(props{"confidence": "certain"}), code: EINVALID, field: "confidence", rule: `"certain" is not one of low, medium, high`},
		{name: "fewer waypoints than vertices", c: Routes, text: route(props{"waypoints": []string{"Cartagena"}}), code: EINVALID, field: "waypoints", rule: "has 1 names for 3 vertices"},
		{name: "more waypoints than vertices", c: Routes, text: route(props{"waypoints": []string{"a", "b", "c", "d"}}), code: EINVALID, field: "waypoints", rule: "has 4 names for 3 vertices"},
		{name: "waypoint too long", c: Routes, text: route(props{"waypoints": []string{"a", long(MaxText + 1), "c"}}), code: EINVALID, field: "waypoints[1]", rule: "longer than 2000"},
		{name: "route actors item empty", c: Routes, text: route(props{"actors": []string{""}}), code: EINVALID, field: "actors[0]", rule: "is required"},
		{name: "route source url with a javascript: scheme", c: Routes, text: route(props{"sources": []map[string]string{{"url": "javascript:alert(1)"}}}), code: EINVALID, field: "sources[0].url", rule: "http or https"},
		{name: "route tags empty item", c: Routes, text: route(props{"tags": []string{"x", " "}}), code: EINVALID, field: "tags[1]", rule: "is required"},
		{name: "route external_id too long", c: Routes, text: route(props{"external_id": long(201)}), code: EINVALID, field: "external_id", rule: "more than 200"},
		{name: "route summary over 20000 characters", c: Routes, text: route(props{"summary": long(20001)}), code: EINVALID, field: "summary", rule: "more than 20000"},
		{name: "active_from bad", c: Routes, text: route(props{"active_from": "2005-13"}), code: EINVALID, field: "active_from", rule: "not a valid date of the form YYYY-MM"},
		{name: "active_from with a time", c: Routes, text: route(props{"active_from": "2005-01-01T00:00:00Z"}), code: EINVALID, field: "active_from", rule: "not a date of the form"},
		{name: "active_to bad", c: Routes, text: route(props{"active_to": "2012-02-30"}), code: EINVALID, field: "active_to", rule: "not a valid date"},
		{name: "active_to before active_from", c: Routes, text: route(props{"active_from": "2005", "active_to": "2004-12"}), code: EINVALID, field: "active_to", rule: "2004-12 is before active_from 2005"},
		{name: "route countries of the wrong type", c: Routes, text: route(props{"countries": "CO"}), code: EINVALID, field: "properties.countries", rule: "must be an array"},

		// Route geometry.
		{name: "Point for a route", c: Routes, text: routeAlong(pointAMIA, nil), code: EINVALID, field: "geometry", rule: `type "Point" is not allowed here`},
		{name: "route geometry missing", c: Routes, text: `{"type":"Feature","properties":{"name":"x","commodity":"arms"}}`, code: EINVALID, field: "geometry", rule: "is required"},
		{name: "LineString with 1 position", c: Routes, text: routeAlong(`{"type":"LineString","coordinates":[[1,2]]}`, props{"waypoints": absent}), code: EINVALID, field: "geometry.coordinates", rule: "at least 2 distinct positions"},
		{name: "LineString with no position", c: Routes, text: routeAlong(`{"type":"LineString","coordinates":[]}`, props{"waypoints": absent}), code: EINVALID, field: "geometry.coordinates", rule: "at least 2 distinct positions"},
		{name: "LineString with 2 identical positions", c: Routes, text: routeAlong(`{"type":"LineString","coordinates":[[1,2],[1,2]]}`, props{"waypoints": absent}), code: EINVALID, field: "geometry.coordinates", rule: "at least 2 distinct positions"},
		{name: "LineString longitude 180.0001 at vertex 1", c: Routes, text: routeAlong(`{"type":"LineString","coordinates":[[1,2],[180.0001,2]]}`, props{"waypoints": absent}), code: EINVALID, field: "geometry.coordinates[1]", rule: "longitude 180.0001 is outside [-180, 180]"},
		{name: "LineString latitude -90.5 at vertex 0", c: Routes, text: routeAlong(`{"type":"LineString","coordinates":[[1,-90.5],[1,2]]}`, props{"waypoints": absent}), code: EINVALID, field: "geometry.coordinates[0]", rule: "latitude -90.5 is outside [-90, 90]"},
		{name: "LineString position with 3 numbers", c: Routes, text: routeAlong(`{"type":"LineString","coordinates":[[1,2],[3,4,5]]}`, props{"waypoints": absent}), code: EINVALID, field: "geometry.coordinates[1]", rule: "got 3 numbers"},
		{name: "LineString position with a null", c: Routes, text: routeAlong(`{"type":"LineString","coordinates":[[1,2],[3,null]]}`, props{"waypoints": absent}), code: EINVALID, field: "geometry", rule: "not null"},
		{name: "LineString of numbers", c: Routes, text: routeAlong(`{"type":"LineString","coordinates":[1,2]}`, props{"waypoints": absent}), code: EINVALID, field: "geometry", rule: "array of [lon, lat] positions"},
		{name: "MultiLineString empty", c: Routes, text: routeAlong(`{"type":"MultiLineString","coordinates":[]}`, props{"waypoints": absent}), code: EINVALID, field: "geometry", rule: "at least one line"},
		{name: "MultiLineString with an empty line", c: Routes, text: routeAlong(`{"type":"MultiLineString","coordinates":[[[1,2],[3,4]],[]]}`, props{"waypoints": absent}), code: EINVALID, field: "geometry.coordinates[1]", rule: "at least 2 distinct positions"},
		{name: "MultiLineString latitude out of range", c: Routes, text: routeAlong(`{"type":"MultiLineString","coordinates":[[[1,2],[3,4]],[[5,6],[7,91]]]}`, props{"waypoints": absent}), code: EINVALID, field: "geometry.coordinates[1][1]", rule: "latitude 91 is outside"},
		{name: "more than 10000 vertices", c: Routes, text: routeAlong(lineOf(MaxVertices+1), props{"waypoints": absent}), code: EINVALID, field: "geometry", rule: "has 10001 positions, more than the limit of 10000"},
		{name: "more than 10000 vertices over the lines of a MultiLineString", c: Routes,
			text: routeAlong(`{"type":"MultiLineString","coordinates":[`+strings.TrimSuffix(strings.TrimPrefix(lineOf(6000), `{"type":"LineString","coordinates":`), "}")+`,`+strings.TrimSuffix(strings.TrimPrefix(lineOf(5000), `{"type":"LineString","coordinates":`), "}")+`]}`, props{"waypoints": absent}),
			code: EINVALID, field: "geometry", rule: "has 11000 positions, more than the limit of 10000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeAndValidate(tc.c, tc.text)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("valid record refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want %s error on %s (%s)", tc.code, tc.field, tc.rule)
			}
			if got := ErrorCode(err); got != tc.code {
				t.Fatalf("ErrorCode = %q, want %q (%v)", got, tc.code, err)
			}
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("error is a %T, want *Error", err)
			}
			if tc.field == "" {
				if !strings.Contains(e.Message, tc.rule) {
					t.Errorf("message %q does not name the rule %q", e.Message, tc.rule)
				}
				return
			}
			for _, f := range e.Fields {
				if f.Field == tc.field {
					if !strings.Contains(f.Message, tc.rule) {
						t.Errorf("field %s: message %q does not name the rule %q", f.Field, f.Message, tc.rule)
					}
					return
				}
			}
			t.Errorf("fields %+v do not name %q", e.Fields, tc.field)
		})
	}
}

// TestValidateOneFieldPerRule checks that a record breaking one rule is
// refused for that rule alone: the base records break nothing else.
func TestValidateOneFieldPerRule(t *testing.T) {
	cases := []struct {
		name string
		c    Collection
		text string
	}{
		{"incident with title empty", Incidents, incident(props{"title": ""})},
		{"route with mode unknown", Routes, route(props{"mode": "rail"})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeAndValidate(tc.c, tc.text)
			e, ok := err.(*Error)
			if !ok || len(e.Fields) != 1 {
				t.Fatalf("want exactly one field error, got %v", err)
			}
		})
	}
}

// TestErrorCode checks the error contract every layer speaks.
func TestErrorCode(t *testing.T) {
	cases := []struct {
		name    string
		err     error
		code    string
		message string
	}{
		{"nil", nil, "", ""},
		{"an *Error", Errorf(ENOTFOUND, "no incident %q", "x"), ENOTFOUND, `no incident "x"`},
		{"a wrapped *Error", fmt.Errorf("store: %w", Errorf(ECONFLICT, "version moved on")), ECONFLICT, "version moved on"},
		{"any other error is internal and hidden", fmt.Errorf("disk I/O error at /var/db"), EINTERNAL, "internal error"},
		{"field errors are listed", &Error{Code: EINVALID, Message: "invalid record", Fields: []FieldError{{"title", "is required"}, {"date", "is required"}}},
			EINVALID, "invalid record: title: is required; date: is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ErrorCode(tc.err); got != tc.code {
				t.Errorf("ErrorCode = %q, want %q", got, tc.code)
			}
			if got := ErrorMessage(tc.err); got != tc.message {
				t.Errorf("ErrorMessage = %q, want %q", got, tc.message)
			}
		})
	}
}

// TestPlainHTTPURL: every URL plainHTTPURL takes, url.Parse reads as an
// http or https URL with a host, among URLs of every character next to
// the scheme, in the host and in the path.
func TestPlainHTTPURL(t *testing.T) {
	var in []string
	for _, scheme := range []string{"http://", "https://", "HTTP://", "https:/", "ftp://", "https//", ""} {
		in = append(in, scheme, scheme+"/", scheme+"example.org", scheme+"example.org/a_b~c/d.e-f/")
		for c := 0; c < 256; c++ {
			ch := string(rune(c))
			if c >= 0x80 {
				ch = string([]byte{byte(c)})
			}
			in = append(in, scheme+ch+"example.org/x", scheme+"exam"+ch+"ple.org/x", scheme+"example.org"+ch+"x", scheme+"example.org/"+ch, scheme+"example.org/x"+ch+"y")
		}
	}
	plain := 0
	for _, s := range in {
		if !plainHTTPURL(s) {
			continue
		}
		plain++
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			t.Errorf("plainHTTPURL(%q), but url.Parse: %v, %v", s, u, err)
		}
	}
	if plain < 100 {
		t.Errorf("plainHTTPURL took %d URLs", plain)
	}
}
