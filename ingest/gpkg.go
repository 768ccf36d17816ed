package ingest

import (
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	_ "modernc.org/sqlite" // a GeoPackage is a SQLite database

	"nexus/geo"
)

// sqliteMagic starts every SQLite database file, and so every GeoPackage.
const sqliteMagic = "SQLite format 3\x00"

// readGPKG imports a GeoPackage: every table of gpkg_contents named
// incidents, routes or links, or else a feature table of points (incidents)
// or lines (routes). Columns named as a record's properties are read (lists
// and sources as JSON text or joined with ";"); others are left out.
// SQLite needs a file: the input is copied to a temporary one first.
// Rejections name the table and the row's fid in place of a line.
func (im *importer) readGPKG(r io.Reader) error {
	dir, err := os.MkdirTemp("", "nexus-import-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := dir + "/import.gpkg"
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("reading the input: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=query_only(1)")
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(im.ctx, `SELECT c.table_name, c.data_type, g.column_name, g.geometry_type_name
		FROM gpkg_contents c LEFT JOIN gpkg_geometry_columns g ON g.table_name = c.table_name ORDER BY c.table_name`)
	if err != nil {
		return geo.Errorf(geo.EUNSUPPORTED, "the SQLite file is not a GeoPackage: it has no gpkg_contents table")
	}
	type table struct {
		name, geomCol string
		c             geo.Collection
	}
	var tables []table
	for rows.Next() {
		var name, dataType string
		var geomCol, geomType sql.NullString
		if err := rows.Scan(&name, &dataType, &geomCol, &geomType); err != nil {
			rows.Close()
			return geo.Errorf(geo.EMALFORMED, "the GeoPackage cannot be read: %v", err)
		}
		c, err := geo.ParseCollection(name)
		if err != nil {
			switch strings.ToUpper(geomType.String) {
			case "POINT":
				c = geo.Incidents
			case "LINESTRING", "MULTILINESTRING":
				c = geo.Routes
			default:
				continue
			}
		}
		if (c == geo.Links) != !geomCol.Valid {
			continue
		}
		tables = append(tables, table{name, geomCol.String, c})
	}
	rows.Close()
	if len(tables) == 0 {
		return geo.Errorf(geo.EUNSUPPORTED, "the GeoPackage has no table of incidents (points), routes (lines) or links")
	}
	for _, t := range tables {
		if err := im.gpkgTable(db, t.name, t.geomCol, t.c); err != nil {
			return err
		}
	}
	return nil
}

// gpkgTable imports the rows of one table as records of the collection.
func (im *importer) gpkgTable(db *sql.DB, name, geomCol string, c geo.Collection) error {
	unreadable := func(err error) error {
		if im.ctx.Err() != nil {
			return im.ctx.Err()
		}
		return geo.Errorf(geo.EMALFORMED, "the GeoPackage cannot be read: table %s: %v", name, err)
	}
	rows, err := db.QueryContext(im.ctx, fmt.Sprintf("SELECT * FROM %q", name))
	if err != nil {
		return unreadable(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return unreadable(err)
	}
	known := propertyNames(c)
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for rows.Next() {
		if err := im.ctx.Err(); err != nil {
			return err
		}
		n++
		if err := rows.Scan(ptrs...); err != nil {
			return unreadable(err)
		}
		props := map[string]any{}
		geometry := []byte("null")
		line := n
		for i, col := range cols {
			v := vals[i]
			if b, ok := v.([]byte); ok && col != geomCol {
				v = string(b)
			}
			switch {
			case col == "fid":
				if id, ok := v.(int64); ok {
					line = id
				}
			case col == geomCol && geomCol != "":
				b, _ := v.([]byte)
				g, err := gpkgGeometry(b)
				if err != nil {
					im.reject(line, "geometry", fmt.Sprintf("table %s: %v", name, err))
					goto next
				}
				geometry = geo.AppendGeometry(nil, g)
			case v == nil || !known[col]:
			case col == "actors" || col == "tags" || col == "waypoints" || col == "countries" || col == "sources":
				s := fmt.Sprint(v)
				if strings.HasPrefix(strings.TrimSpace(s), "[") {
					props[col] = json.RawMessage(s)
				} else if col != "sources" {
					props[col] = nonEmpty(splitList(s)...)
				}
			default:
				props[col] = v
			}
		}
		{
			p, err := json.Marshal(props)
			if err != nil {
				im.reject(line, fieldRow, fmt.Sprintf("table %s: %v", name, err))
				continue
			}
			raw := []byte(`{"type":"Feature","geometry":` + string(geometry) + `,"properties":` + string(p) + `}`)
			rec, err := geo.DecodeFeature(c, raw)
			if err != nil {
				im.rejectErr(line, fieldFeature, err, false)
				continue
			}
			if err := im.add(line, rec, false); err != nil {
				return err
			}
		}
	next:
	}
	if err := rows.Err(); err != nil {
		return unreadable(err)
	}
	return nil
}

// gpkgGeometry decodes a GeoPackage geometry: the "GP" header, an
// envelope whose size the flags give, then WKB.
func gpkgGeometry(b []byte) (orb.Geometry, error) {
	if len(b) < 8 || b[0] != 'G' || b[1] != 'P' {
		return nil, fmt.Errorf("is not a GeoPackage geometry")
	}
	flags := b[3]
	envelope := [...]int{0, 32, 48, 48, 64}
	e := int(flags>>1) & 7
	if e >= len(envelope) || len(b) < 8+envelope[e] {
		return nil, fmt.Errorf("has an envelope of unknown kind %d", e)
	}
	if flags&(1<<4) != 0 {
		return nil, fmt.Errorf("is empty")
	}
	var order binary.ByteOrder = binary.BigEndian
	if flags&1 != 0 {
		order = binary.LittleEndian
	}
	if srs := int32(order.Uint32(b[4:8])); srs != 4326 && srs != 0 && srs != -1 {
		return nil, fmt.Errorf("is in SRS %d; Nexus reads WGS84 longitude, latitude (EPSG:4326)", srs)
	}
	g, err := wkb.Unmarshal(b[8+envelope[e]:])
	if err != nil {
		return nil, fmt.Errorf("is not valid WKB: %v", err)
	}
	return g, nil
}

// propertyNames are the JSON names of a record's properties.
func propertyNames(c geo.Collection) map[string]bool {
	out := map[string]bool{}
	t := reflect.TypeOf(geo.NewRecord(c)).Elem()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous {
			continue // Meta: set by the server
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out[name] = true
		}
	}
	return out
}
