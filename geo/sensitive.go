package geo

import (
	"bytes"
	"math"

	"github.com/paulmach/orb"
)

// Sensitive records. An editor marks a record "sensitive": true when its
// exact place must not be published (a witness's village, an informant's
// route). Viewers and anonymous readers then get the record with every
// position snapped to the centre of its cell of a grid of CoarseKm
// (Coarsen) and precision PrecisionCoarse, in every output, and every
// spatial filter of theirs tests that coarse geometry: the exact position
// cannot be told apart from any other in its cell, by one query or many.
// Editors and admins see and filter on the exact geometry.

// CoarseKm is the side of a cell of the grid sensitive positions are
// snapped to, in kilometres (north-south; east-west the cells of a row are
// as close to it as a whole number of them around the parallel allows).
const CoarseKm = 10

// PrecisionCoarse is the precision of a coarsened record: its position is
// the centre of its CoarseKm cell.
const PrecisionCoarse = "10km"

// earthKmPerDegree is the length of one degree of a great circle, in km
// (mean Earth radius 6371.0088 km).
const earthKmPerDegree = 6371.0088 * math.Pi / 180

// coarseRows is the number of rows of the grid from pole to pole, and
// coarseDLat their height in degrees: whole rows, each about CoarseKm.
var (
	coarseRows = math.Round(180 * earthKmPerDegree / CoarseKm)
	coarseDLat = 180 / coarseRows
)

// coarseCell returns the row and column of the cell holding p, the cell's
// width in degrees and the number of cells in its row.
func coarseCell(p orb.Point) (row, col, dlon, cols float64) {
	row = math.Floor((p[1] + 90) / coarseDLat)
	row = math.Max(0, math.Min(row, coarseRows-1))
	latc := -90 + (row+0.5)*coarseDLat
	cols = math.Max(1, math.Round(360*math.Cos(latc*math.Pi/180)/coarseDLat))
	dlon = 360 / cols
	col = math.Floor((p[0] + 180) / dlon)
	col = math.Mod(math.Max(0, col), cols)
	return row, col, dlon, cols
}

// CoarsePoint is the centre of the grid cell holding p, to 1e-6 degrees:
// the same for every point of the cell, so that nothing a viewer sees
// moves with the exact position inside it.
func CoarsePoint(p orb.Point) orb.Point {
	row, col, dlon, _ := coarseCell(p)
	return orb.Point{round6(-180 + (col+0.5)*dlon), round6(-90 + (row+0.5)*coarseDLat)}
}

// CoarseCell is the grid cell holding p.
func CoarseCell(p orb.Point) orb.Bound {
	row, col, dlon, _ := coarseCell(p)
	return orb.Bound{
		Min: orb.Point{-180 + col*dlon, -90 + row*coarseDLat},
		Max: orb.Point{-180 + (col+1)*dlon, -90 + (row+1)*coarseDLat},
	}
}

func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// CoarseGeometry returns g with every vertex replaced by CoarsePoint of
// it; g itself is not changed. Vertices stay one for one, so that a
// route's waypoint names still name them.
func CoarseGeometry(g orb.Geometry) orb.Geometry {
	line := func(l orb.LineString) orb.LineString {
		out := make(orb.LineString, len(l))
		for i, p := range l {
			out[i] = CoarsePoint(p)
		}
		return out
	}
	switch g := g.(type) {
	case orb.Point:
		return CoarsePoint(g)
	case orb.LineString:
		return line(g)
	case orb.MultiLineString:
		out := make(orb.MultiLineString, len(g))
		for i, l := range g {
			out[i] = line(l)
		}
		return out
	}
	return g
}

// IsSensitive reports whether a record is marked sensitive.
func IsSensitive(r Record) bool {
	switch r := r.(type) {
	case *Incident:
		return r.Sensitive
	case *Route:
		return r.Sensitive
	}
	return false
}

// Coarsened returns what viewers see of a record: for a sensitive record a
// copy with its geometry coarsened (CoarseGeometry) and its precision
// PrecisionCoarse; any other record as it is. r is not changed.
func Coarsened(r Record) Record {
	switch r := r.(type) {
	case *Incident:
		if r.Sensitive {
			c := *r
			c.Point = CoarsePoint(r.Point)
			c.Precision = PrecisionCoarse
			return &c
		}
	case *Route:
		if r.Sensitive {
			c := *r
			c.Line = CoarseGeometry(r.Line)
			c.Precision = PrecisionCoarse
			return &c
		}
	}
	return r
}

// sensitiveMark is how a sensitive record's Feature says so. Inside a
// JSON string a quote is escaped, so these bytes appear in an encoded
// Feature only as the member itself.
var sensitiveMark = []byte(`"sensitive":true`)

// MaybeSensitive reports whether an encoded Feature may be of a sensitive
// record: false is certain, true is checked by decoding (PublicFeature).
func MaybeSensitive(feature []byte) bool { return bytes.Contains(feature, sensitiveMark) }

// SensitiveFeature reports whether an encoded Feature of the collection is
// of a sensitive record.
func SensitiveFeature(c Collection, feature []byte) (bool, error) {
	if !MaybeSensitive(feature) || c == Links {
		return false, nil
	}
	r, err := DecodeFeature(c, feature)
	if err != nil {
		return false, err
	}
	return IsSensitive(r), nil
}

// PublicFeature returns what viewers see of an encoded Feature of the
// collection: the Feature itself unless it is sensitive, else the Feature
// of Coarsened(record). It decodes only Features that carry the mark.
func PublicFeature(c Collection, feature []byte) ([]byte, error) {
	if !MaybeSensitive(feature) || c == Links {
		return feature, nil
	}
	r, err := DecodeFeature(c, feature)
	if err != nil {
		return nil, err
	}
	if !IsSensitive(r) {
		return feature, nil
	}
	return EncodeFeature(Coarsened(r))
}

// CoarseFeature returns the Feature of Coarsened(record) of an encoded
// Feature of the collection, as if the record were sensitive: an earlier
// version of a record that is sensitive now is shown so.
func CoarseFeature(c Collection, feature []byte) ([]byte, error) {
	if c == Links {
		return feature, nil
	}
	r, err := DecodeFeature(c, feature)
	if err != nil {
		return nil, err
	}
	switch r := r.(type) {
	case *Incident:
		r.Sensitive = true
	case *Route:
		r.Sensitive = true
	}
	return EncodeFeature(Coarsened(r))
}

// Public returns the change as viewers see it: its before and after
// Features through PublicFeature.
func (c Change) Public() (Change, error) {
	var err error
	if c.Before, err = PublicFeature(c.Collection, c.Before); err != nil {
		return c, err
	}
	c.After, err = PublicFeature(c.Collection, c.After)
	return c, err
}
