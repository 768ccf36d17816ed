package export

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	_ "modernc.org/sqlite" // the GeoPackage is a SQLite database

	"nexus/geo"
)

// gpkgEncoder writes an OGC GeoPackage 1.2 (the version GDAL 3.6 writes):
// one table per collection; links, without geometry, as an attributes
// table; incidents (POINT) and routes (MULTILINESTRING: a LineString is
// written as a MultiLineString of one line, so that the table has one
// geometry type) as feature tables, each with its R*Tree spatial index; declared column
// types (TEXT, INTEGER, DATETIME; lists and sources as JSON text, declared
// application/json in gpkg_data_columns); and the provenance in
// gpkg_metadata, both as GDAL's dataset metadata (ogrinfo shows it) and as
// JSON. SQLite needs a file: it is written in a temporary directory, then
// copied to the output and removed.
type gpkgEncoder struct {
	ctx   context.Context
	out   io.Writer
	dir   string
	path  string
	db    *sql.DB
	tx    *sql.Tx
	cols  []geo.Collection
	ins   map[geo.Collection]*sql.Stmt
	rtree map[geo.Collection]*sql.Stmt
	ext   map[geo.Collection]*orb.Bound
	vals  []any
}

// gpkgApplicationID is "GPKG" and gpkgVersion 1.2.0, as PRAGMAs.
const (
	gpkgApplicationID = 0x47504B47
	gpkgVersion       = 10200
	srsWGS84          = 4326
)

func newGPKG(ctx context.Context, out io.Writer) (*gpkgEncoder, error) {
	dir, err := os.MkdirTemp("", "nexus-gpkg-")
	if err != nil {
		return nil, err
	}
	path := dir + "/export.gpkg"
	// No journal: the file is ours alone and is thrown away if the export fails.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(off)&_pragma=synchronous(off)&_pragma=temp_store(memory)")
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return &gpkgEncoder{ctx: ctx, out: out, dir: dir, path: path, db: db,
		ins: map[geo.Collection]*sql.Stmt{}, rtree: map[geo.Collection]*sql.Stmt{}, ext: map[geo.Collection]*orb.Bound{}}, nil
}

// close removes the temporary file.
func (e *gpkgEncoder) close() {
	if e.tx != nil {
		e.tx.Rollback()
	}
	e.db.Close()
	os.RemoveAll(e.dir)
}

const gpkgCore = `
CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
INSERT INTO gpkg_spatial_ref_sys VALUES
  ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
  ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
  ('WGS 84 geodetic', 4326, 'EPSG', 4326, 'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]', 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid');
CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name), CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
CREATE TABLE gpkg_extensions (table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL,
  scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
CREATE TABLE gpkg_metadata (id INTEGER CONSTRAINT m_pk PRIMARY KEY ASC NOT NULL, md_scope TEXT NOT NULL DEFAULT 'dataset',
  md_standard_uri TEXT NOT NULL, mime_type TEXT NOT NULL DEFAULT 'text/xml', metadata TEXT NOT NULL DEFAULT '');
CREATE TABLE gpkg_metadata_reference (reference_scope TEXT NOT NULL, table_name TEXT, column_name TEXT, row_id_value INTEGER,
  timestamp DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')), md_file_id INTEGER NOT NULL, md_parent_id INTEGER,
  CONSTRAINT crmr_mfi_fk FOREIGN KEY (md_file_id) REFERENCES gpkg_metadata(id),
  CONSTRAINT crmr_mpi_fk FOREIGN KEY (md_parent_id) REFERENCES gpkg_metadata(id));
CREATE TABLE gpkg_data_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, name TEXT, title TEXT,
  description TEXT, mime_type TEXT, constraint_name TEXT,
  CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name), CONSTRAINT gdc_tn UNIQUE (table_name, name));
CREATE TABLE gpkg_data_column_constraints (constraint_name TEXT NOT NULL, constraint_type TEXT NOT NULL, value TEXT,
  min NUMERIC, min_is_inclusive BOOLEAN, max NUMERIC, max_is_inclusive BOOLEAN, description TEXT,
  CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value));
INSERT INTO gpkg_extensions VALUES
  ('gpkg_metadata', NULL, 'gpkg_metadata', 'http://www.geopackage.org/spec/#extension_metadata', 'read-write'),
  ('gpkg_metadata_reference', NULL, 'gpkg_metadata', 'http://www.geopackage.org/spec/#extension_metadata', 'read-write'),
  ('gpkg_data_columns', NULL, 'gpkg_schema', 'http://www.geopackage.org/spec/#extension_schema', 'read-write'),
  ('gpkg_data_column_constraints', NULL, 'gpkg_schema', 'http://www.geopackage.org/spec/#extension_schema', 'read-write');
`

// gpkgTypes are the declared SQL types of the column kinds.
var gpkgTypes = map[kind]string{text: "TEXT", integer: "INTEGER", list: "TEXT", sources: "TEXT", datetime: "DATETIME"}

// gpkgGeometry is the geometry type of each collection's table.
var gpkgGeometry = map[geo.Collection]string{geo.Incidents: "POINT", geo.Routes: "MULTILINESTRING"}

func (e *gpkgEncoder) begin(cols []geo.Collection, p Provenance) error {
	e.cols = cols
	ctx := e.ctx
	for _, pragma := range []string{
		fmt.Sprintf("PRAGMA application_id = %d", gpkgApplicationID),
		fmt.Sprintf("PRAGMA user_version = %d", gpkgVersion),
	} {
		if _, err := e.db.ExecContext(ctx, pragma); err != nil {
			return err
		}
	}
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	e.tx = tx
	if _, err := tx.ExecContext(ctx, gpkgCore); err != nil {
		return fmt.Errorf("geopackage: %w", err)
	}
	desc := describe(p)
	for _, c := range cols {
		geomType, spatial := gpkgGeometry[c]
		var defs, names []string
		defs = append(defs, "fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL")
		if spatial {
			defs = append(defs, "geom "+geomType)
			names = append(names, "geom")
		}
		defs = append(defs, "id TEXT NOT NULL UNIQUE")
		names = append(names, "id")
		for _, col := range columns[c] {
			defs = append(defs, fmt.Sprintf("%q %s", col.name, gpkgTypes[col.kind]))
			names = append(names, col.name)
			if col.kind == list || col.kind == sources {
				if _, err := tx.ExecContext(ctx, "INSERT INTO gpkg_data_columns (table_name, column_name, name, mime_type) VALUES (?, ?, ?, 'application/json')", string(c), col.name, col.name); err != nil {
					return err
				}
			}
		}
		stmts := []string{fmt.Sprintf("CREATE TABLE %q (%s)", c, strings.Join(defs, ", "))}
		if spatial {
			stmts = append(stmts,
				fmt.Sprintf("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change, srs_id) VALUES ('%s', 'features', '%s', %s, '%s', %d)",
					c, c, sqlQuote(desc), p.Time.Format(timeFormat), srsWGS84),
				fmt.Sprintf("INSERT INTO gpkg_geometry_columns VALUES ('%s', 'geom', '%s', %d, 0, 0)", c, geomType, srsWGS84),
				fmt.Sprintf("INSERT INTO gpkg_extensions VALUES ('%s', 'geom', 'gpkg_rtree_index', 'http://www.geopackage.org/spec/#extension_rtree', 'write-only')", c),
				fmt.Sprintf("CREATE VIRTUAL TABLE \"rtree_%s_geom\" USING rtree(id, minx, maxx, miny, maxy)", c))
		} else {
			// Links have no geometry: a plain attributes table.
			stmts = append(stmts, fmt.Sprintf("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change) VALUES ('%s', 'attributes', '%s', %s, '%s')",
				c, c, sqlQuote(desc), p.Time.Format(timeFormat)))
		}
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("geopackage: %w", err)
			}
		}
		quoted := make([]string, len(names))
		for i, n := range names {
			quoted[i] = fmt.Sprintf("%q", n)
		}
		ins, err := tx.PrepareContext(ctx, fmt.Sprintf("INSERT INTO %q (%s) VALUES (%s)", c, strings.Join(quoted, ", "), strings.TrimSuffix(strings.Repeat("?, ", len(names)), ", ")))
		if err != nil {
			return err
		}
		e.ins[c] = ins
		if spatial {
			if e.rtree[c], err = tx.PrepareContext(ctx, fmt.Sprintf("INSERT INTO \"rtree_%s_geom\" VALUES (?, ?, ?, ?, ?)", c)); err != nil {
				return err
			}
		}
	}
	return e.metadata(p)
}

// metadata records the provenance: as GDAL metadata items (ogrinfo and
// QGIS show them) for the GeoPackage and for each table, and as JSON.
func (e *gpkgEncoder) metadata(p Provenance) error {
	items := map[string]string{
		"GENERATOR":   p.Generator,
		"EXPORTED":    p.Time.Format(time.RFC3339),
		"LICENCE":     p.Licence,
		"ATTRIBUTION": p.Attribution,
		"DESCRIPTION": describe(p),
	}
	for k, v := range p.Filters {
		items["FILTER_"+strings.ToUpper(strings.NewReplacer("-", "_").Replace(k))] = v
	}
	for c, n := range p.Counts {
		items["COUNT_"+strings.ToUpper(string(c))] = fmt.Sprint(n)
	}
	keys := make([]string, 0, len(items))
	for k := range items {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var x bytes.Buffer
	x.WriteString("<GDALMultiDomainMetadata>\n<Metadata>\n")
	for _, k := range keys {
		fmt.Fprintf(&x, `  <MDI key="%s">`, k)
		xmlEscape(&x, items[k])
		x.WriteString("</MDI>\n")
	}
	x.WriteString("</Metadata>\n</GDALMultiDomainMetadata>\n")
	js, err := json.Marshal(p)
	if err != nil {
		return err
	}
	ctx, tx := e.ctx, e.tx
	ts := p.Time.Format(timeFormat)
	if _, err := tx.ExecContext(ctx, "INSERT INTO gpkg_metadata (id, md_scope, md_standard_uri, mime_type, metadata) VALUES (1, 'dataset', 'http://gdal.org', 'text/xml', ?)", x.String()); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO gpkg_metadata (id, md_scope, md_standard_uri, mime_type, metadata) VALUES (2, 'dataset', 'https://www.rfc-editor.org/rfc/rfc8259', 'application/json', ?)", string(js)); err != nil {
		return err
	}
	for _, id := range []int{1, 2} {
		if _, err := tx.ExecContext(ctx, "INSERT INTO gpkg_metadata_reference (reference_scope, timestamp, md_file_id) VALUES ('geopackage', ?, ?)", ts, id); err != nil {
			return err
		}
	}
	return nil
}

func (e *gpkgEncoder) record(r geo.Record) error {
	c := r.Collection()
	g := r.Geometry()
	if g == nil {
		v := append(e.vals[:0], r.Base().ID)
		for _, col := range columns[c] {
			v = append(v, gpkgValue(col.kind, col.get(r)))
		}
		e.vals = v
		if _, err := e.ins[c].ExecContext(e.ctx, v...); err != nil {
			return fmt.Errorf("geopackage: %w", err)
		}
		return nil
	}
	if l, ok := g.(orb.LineString); ok {
		g = orb.MultiLineString{l}
	}
	blob, bound, err := gpkgBlob(g)
	if err != nil {
		return err
	}
	v := append(e.vals[:0], blob, r.Base().ID)
	for _, col := range columns[c] {
		v = append(v, gpkgValue(col.kind, col.get(r)))
	}
	e.vals = v
	res, err := e.ins[c].ExecContext(e.ctx, v...)
	if err != nil {
		return fmt.Errorf("geopackage: %w", err)
	}
	fid, _ := res.LastInsertId()
	// The R*Tree holds 32-bit floats; like GDAL, round outwards so the
	// box always covers the geometry.
	if _, err := e.rtree[c].ExecContext(e.ctx, fid,
		down(bound.Min[0]), up(bound.Max[0]), down(bound.Min[1]), up(bound.Max[1])); err != nil {
		return err
	}
	if x := e.ext[c]; x == nil {
		e.ext[c] = &bound
	} else {
		*x = x.Union(bound)
	}
	return nil
}

func down(f float64) float64 {
	g := float32(f)
	if float64(g) > f {
		g = math.Nextafter32(g, float32(math.Inf(-1)))
	}
	return float64(g)
}

func up(f float64) float64 {
	g := float32(f)
	if float64(g) < f {
		g = math.Nextafter32(g, float32(math.Inf(1)))
	}
	return float64(g)
}

// gpkgValue is the SQL value of one property.
func gpkgValue(k kind, v any) any {
	switch k {
	case text:
		if s := v.(string); s != "" {
			return s
		}
		return nil
	case integer:
		if n, ok := intValue(v); ok {
			return n
		}
		return nil
	case datetime:
		if s := formatTime(v.(time.Time)); s != "" {
			return s
		}
		return nil
	case list:
		l := v.([]string)
		if l == nil {
			l = []string{}
		}
		b, _ := json.Marshal(l)
		return string(b)
	case sources:
		s := v.([]geo.Source)
		if s == nil {
			s = []geo.Source{}
		}
		b, _ := json.Marshal(s)
		return string(b)
	}
	return nil
}

// gpkgBlob encodes a geometry as a GeoPackage binary: the "GP" header
// with the SRS and the envelope [minx, maxx, miny, maxy], then
// little-endian WKB. Points carry no envelope, as the standard allows.
func gpkgBlob(g orb.Geometry) ([]byte, orb.Bound, error) {
	bound := g.Bound()
	var b bytes.Buffer
	b.WriteString("GP")
	b.WriteByte(0) // version 1
	_, point := g.(orb.Point)
	flags := byte(1) // little endian
	if !point {
		flags |= 1 << 1 // envelope [minx, maxx, miny, maxy]
	}
	b.WriteByte(flags)
	binary.Write(&b, binary.LittleEndian, int32(srsWGS84))
	if !point {
		binary.Write(&b, binary.LittleEndian, [4]float64{bound.Min[0], bound.Max[0], bound.Min[1], bound.Max[1]})
	}
	w, err := wkb.Marshal(g, binary.LittleEndian)
	if err != nil {
		return nil, bound, err
	}
	b.Write(w)
	return b.Bytes(), bound, nil
}

// gpkgTriggers keep the R*Tree in step with the table when a user edits
// the GeoPackage (GeoPackage 1.2 rtree extension, as GDAL writes them).
// They are created after the rows are in.
const gpkgTriggers = `
CREATE TRIGGER "rtree_{t}_geom_insert" AFTER INSERT ON "{t}" WHEN (new."geom" NOT NULL AND NOT ST_IsEmpty(NEW."geom"))
BEGIN INSERT OR REPLACE INTO "rtree_{t}_geom" VALUES (NEW."fid", ST_MinX(NEW."geom"), ST_MaxX(NEW."geom"), ST_MinY(NEW."geom"), ST_MaxY(NEW."geom")); END;
CREATE TRIGGER "rtree_{t}_geom_update1" AFTER UPDATE OF "geom" ON "{t}" WHEN OLD."fid" = NEW."fid" AND (NEW."geom" NOTNULL AND NOT ST_IsEmpty(NEW."geom"))
BEGIN INSERT OR REPLACE INTO "rtree_{t}_geom" VALUES (NEW."fid", ST_MinX(NEW."geom"), ST_MaxX(NEW."geom"), ST_MinY(NEW."geom"), ST_MaxY(NEW."geom")); END;
CREATE TRIGGER "rtree_{t}_geom_update2" AFTER UPDATE OF "geom" ON "{t}" WHEN OLD."fid" = NEW."fid" AND (NEW."geom" ISNULL OR ST_IsEmpty(NEW."geom"))
BEGIN DELETE FROM "rtree_{t}_geom" WHERE id = OLD."fid"; END;
CREATE TRIGGER "rtree_{t}_geom_update3" AFTER UPDATE ON "{t}" WHEN OLD."fid" != NEW."fid" AND (NEW."geom" NOTNULL AND NOT ST_IsEmpty(NEW."geom"))
BEGIN DELETE FROM "rtree_{t}_geom" WHERE id = OLD."fid"; INSERT OR REPLACE INTO "rtree_{t}_geom" VALUES (NEW."fid", ST_MinX(NEW."geom"), ST_MaxX(NEW."geom"), ST_MinY(NEW."geom"), ST_MaxY(NEW."geom")); END;
CREATE TRIGGER "rtree_{t}_geom_update4" AFTER UPDATE ON "{t}" WHEN OLD."fid" != NEW."fid" AND (NEW."geom" ISNULL OR ST_IsEmpty(NEW."geom"))
BEGIN DELETE FROM "rtree_{t}_geom" WHERE id IN (OLD."fid", NEW."fid"); END;
CREATE TRIGGER "rtree_{t}_geom_delete" AFTER DELETE ON "{t}" WHEN old."geom" NOT NULL
BEGIN DELETE FROM "rtree_{t}_geom" WHERE id = OLD."fid"; END;
`

func (e *gpkgEncoder) end() error {
	ctx, tx := e.ctx, e.tx
	for _, c := range e.cols {
		e.ins[c].Close()
		if _, spatial := gpkgGeometry[c]; !spatial {
			continue
		}
		e.rtree[c].Close()
		if _, err := tx.ExecContext(ctx, strings.ReplaceAll(gpkgTriggers, "{t}", string(c))); err != nil {
			return fmt.Errorf("geopackage: %w", err)
		}
		if x := e.ext[c]; x != nil {
			if _, err := tx.ExecContext(ctx, "UPDATE gpkg_contents SET min_x = ?, min_y = ?, max_x = ?, max_y = ? WHERE table_name = ?",
				x.Min[0], x.Min[1], x.Max[0], x.Max[1], string(c)); err != nil {
				return err
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	e.tx = nil
	if err := e.db.Close(); err != nil {
		return err
	}
	f, err := os.Open(e.path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(e.out, f)
	return err
}

func sqlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func xmlEscape(b *bytes.Buffer, s string) {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	b.WriteString(r.Replace(s))
}
