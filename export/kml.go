package export

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/paulmach/orb"

	"nexus/geo"
)

// kmlEncoder writes KML 2.2: one Folder per collection, a Placemark per
// record with its properties as typed ExtendedData (a Schema per
// collection), a style per incident type and per route commodity, and
// the record's date as a TimeStamp or TimeSpan so the time slider of
// Google Earth plays it. The provenance is the Document's description.
type kmlEncoder struct {
	w    *bufio.Writer
	cols []geo.Collection
	next int // index in cols of the next folder to open
	open bool
}

func newKML(w io.Writer) *kmlEncoder {
	return &kmlEncoder{w: bufio.NewWriterSize(w, 64<<10)}
}

// Colours of the map's legend (static/js/vocab.js), as #rrggbb.
var (
	typeColours = map[string]string{
		"attack": "d7191c", "assassination": "7a0019", "plot": "f28e2b", "kidnapping": "a6519e",
		"arrest": "2b83ba", "seizure": "1a9641", "trafficking": "8c564b", "financing": "d4a200",
		"recruitment": "17becf", "other": "7f7f7f",
	}
	commodityColours = map[string]string{
		"cocaine": "e7298a", "heroin": "6a51a3", "methamphetamine": "1b9e77", "fentanyl": "d95f02",
		"cannabis": "66a61e", "arms": "252525", "cash": "a6761d", "people": "1f78b4", "other": "888888",
	}
)

// kmlColour turns #rrggbb into KML's aabbggrr, opaque.
func kmlColour(rgb string) string {
	return "ff" + rgb[4:6] + rgb[2:4] + rgb[0:2]
}

// kmlTypes are the Schema types of the column kinds.
var kmlTypes = map[kind]string{text: "string", integer: "int", list: "string", sources: "string", datetime: "string"}

func (e *kmlEncoder) begin(cols []geo.Collection, p Provenance) error {
	w := e.w
	e.cols = cols
	w.WriteString(xml.Header)
	w.WriteString(`<kml xmlns="http://www.opengis.net/kml/2.2">` + "\n<Document>\n<name>Nexus export</name>\n<description>")
	xml.EscapeText(w, []byte(describe(p)))
	w.WriteString("</description>\n")
	for _, t := range geo.IncidentTypes {
		fmt.Fprintf(w, `<Style id="type-%s"><IconStyle><color>%s</color></IconStyle><LabelStyle><scale>0</scale></LabelStyle></Style>`+"\n", t, kmlColour(typeColours[t]))
	}
	for _, c := range geo.Commodities {
		fmt.Fprintf(w, `<Style id="commodity-%s"><LineStyle><color>%s</color><width>3</width></LineStyle></Style>`+"\n", c, kmlColour(commodityColours[c]))
	}
	for _, c := range cols {
		fmt.Fprintf(w, `<Schema name="%s" id="%s">`+"\n", c, c)
		w.WriteString(`<SimpleField name="id" type="string"/>` + "\n")
		for _, col := range columns[c] {
			if col.name == "name" {
				continue // the Placemark's name
			}
			fmt.Fprintf(w, `<SimpleField name="%s" type="%s"/>`+"\n", col.name, kmlTypes[col.kind])
		}
		w.WriteString("</Schema>\n")
	}
	return nil
}

func (e *kmlEncoder) record(r geo.Record) error {
	w := e.w
	c := r.Collection()
	e.folderOf(c)
	w.WriteString("<Placemark><name>")
	switch r := r.(type) {
	case *geo.Incident:
		xml.EscapeText(w, []byte(r.Title))
		fmt.Fprintf(w, "</name><styleUrl>#type-%s</styleUrl>", r.Type)
		fmt.Fprintf(w, "<TimeStamp><when>%s</when></TimeStamp>", r.Date)
	case *geo.Route:
		xml.EscapeText(w, []byte(r.Name))
		fmt.Fprintf(w, "</name><styleUrl>#commodity-%s</styleUrl>", r.Commodity)
		if r.ActiveFrom != "" || r.ActiveTo != "" {
			w.WriteString("<TimeSpan>")
			if r.ActiveFrom != "" {
				fmt.Fprintf(w, "<begin>%s</begin>", r.ActiveFrom)
			}
			if r.ActiveTo != "" {
				fmt.Fprintf(w, "<end>%s</end>", r.ActiveTo)
			}
			w.WriteString("</TimeSpan>")
		}
	}
	fmt.Fprintf(w, "\n<ExtendedData><SchemaData schemaUrl=\"#%s\">", c)
	kmlData(w, "id", r.Base().ID)
	for _, col := range columns[c] {
		if col.name == "name" {
			continue
		}
		v := col.get(r)
		switch col.kind {
		case integer:
			if n, ok := intValue(v); ok {
				kmlData(w, col.name, fmt.Sprint(n))
			}
		default:
			kmlData(w, col.name, plainValue(col.kind, v))
		}
	}
	w.WriteString("</SchemaData></ExtendedData>\n")
	kmlGeometry(w, r.Geometry())
	_, err := w.WriteString("</Placemark>\n")
	return err
}

// plainValue is a property as plain text: lists joined with ";", sources
// as JSON, times in RFC 3339. Unlike a CSV cell it is not made inert: KML
// is not opened by spreadsheets.
func plainValue(k kind, v any) string {
	switch k {
	case list:
		return strings.Join(v.([]string), ListSeparator)
	case text:
		return v.(string)
	}
	return csvValue(k, v)
}

func kmlData(w *bufio.Writer, name, value string) {
	if value == "" {
		return
	}
	fmt.Fprintf(w, `<SimpleData name="%s">`, name)
	xml.EscapeText(w, []byte(value))
	w.WriteString("</SimpleData>")
}

// kmlGeometry writes a point or line; a route across the antimeridian is
// kept as it is: KML draws the shorter way with tessellate.
func kmlGeometry(w *bufio.Writer, g orb.Geometry) {
	coords := func(ps []orb.Point) {
		w.WriteString("<coordinates>")
		for i, p := range ps {
			if i > 0 {
				w.WriteByte(' ')
			}
			w.WriteString(formatFloat(p[0]))
			w.WriteByte(',')
			w.WriteString(formatFloat(p[1]))
		}
		w.WriteString("</coordinates>")
	}
	switch g := g.(type) {
	case orb.Point:
		w.WriteString("<Point>")
		coords([]orb.Point{g})
		w.WriteString("</Point>\n")
	case orb.LineString:
		w.WriteString("<LineString><tessellate>1</tessellate>")
		coords(g)
		w.WriteString("</LineString>\n")
	case orb.MultiLineString:
		w.WriteString("<MultiGeometry>")
		for _, l := range g {
			w.WriteString("<LineString><tessellate>1</tessellate>")
			coords(l)
			w.WriteString("</LineString>")
		}
		w.WriteString("</MultiGeometry>\n")
	}
}

// folderOf makes the folder of c the open one; the folders of the
// collections before it are written too, empty when they had no records,
// so that every collection asked for is a layer.
func (e *kmlEncoder) folderOf(c geo.Collection) {
	for e.open && e.cols[e.next-1] != c || !e.open {
		if e.next >= len(e.cols) {
			return
		}
		if e.open {
			e.w.WriteString("</Folder>\n")
		}
		fmt.Fprintf(e.w, "<Folder><name>%s</name>\n", e.cols[e.next])
		e.next++
		e.open = true
	}
}

func (e *kmlEncoder) end() error {
	if len(e.cols) > 0 {
		e.folderOf(e.cols[len(e.cols)-1])
	}
	if e.open {
		e.w.WriteString("</Folder>\n")
	}
	e.w.WriteString("</Document>\n</kml>\n")
	return e.w.Flush()
}
