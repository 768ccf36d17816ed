package api

import (
	"errors"
	"net/http"
	"strings"

	"nexus/geo"
	"nexus/geocode"
)

// geocode answers GET /api/geocode?q=&limit=: candidate places, best first,
// as a JSON array of {name, admin1, country, point, population, precision}.
func (s *Server) geocode(w http.ResponseWriter, r *http.Request, _ geo.Principal) error {
	q := r.URL.Query()
	if err := checkParams(q, []string{"q", "limit", "f"}); err != nil {
		return err
	}
	name, limit, err := parseGeocode(q)
	if err != nil {
		return err
	}
	if s.cfg.Geocoder == nil {
		return errorf(eUnavailable, "place search is not available: this server was started without the gazetteer")
	}
	places, err := s.cfg.Geocoder.Forward(name, limit)
	if err != nil {
		return geocodeError(err)
	}
	if places == nil {
		places = []geocode.Place{}
	}
	return writeJSON(w, http.StatusOK, typeJSON, places)
}

// reverse answers GET /api/reverse?lon=&lat=: the country (or territorial
// sea) a point is in, and the nearest populated place.
func (s *Server) reverse(w http.ResponseWriter, r *http.Request, _ geo.Principal) error {
	q := r.URL.Query()
	if err := checkParams(q, []string{"lon", "lat", "f"}); err != nil {
		return err
	}
	lon, lat, err := parseLonLat(q)
	if err != nil {
		return err
	}
	if s.cfg.Geocoder == nil {
		return errorf(eUnavailable, "reverse geocoding is not available: this server was started without the gazetteer")
	}
	rev, err := s.cfg.Geocoder.Reverse(lon, lat)
	if err != nil {
		return geocodeError(err)
	}
	return writeJSON(w, http.StatusOK, typeJSON, rev)
}

// geocodeError turns the gazetteer's ErrBadQuery into EMALFORMED.
func geocodeError(err error) error {
	if errors.Is(err, geocode.ErrBadQuery) {
		msg := strings.TrimPrefix(err.Error(), geocode.ErrBadQuery.Error()+": ")
		return errorf(geo.EMALFORMED, "%s", msg)
	}
	return err
}
