package api

import (
	"net/http"

	"nexus/geo"
)

// openapi serves the API definition, OpenAPI 3.0: minimal (schemas are
// loose objects) but valid, with every path, parameter and status.
func (s *Server) openapi(w http.ResponseWriter, r *http.Request, _ geo.Principal) error {
	return writeJSON(w, http.StatusOK, typeOpenAPI, openAPIDoc(baseURL(r)+"/api"))
}

type obj = map[string]any

func openAPIDoc(server string) obj {
	str := obj{"type": "string"}
	param := func(name, in, desc string, schema obj, required bool) obj {
		return obj{"name": name, "in": in, "description": desc, "required": required, "schema": schema, "style": "form", "explode": false}
	}
	pathParam := func(name, desc string, schema obj) obj {
		return obj{"name": name, "in": "path", "description": desc, "required": true, "schema": schema}
	}
	collectionID := pathParam("collectionId", "incidents, routes or links", obj{"type": "string", "enum": []string{string(geo.Incidents), string(geo.Routes), string(geo.Links)}})
	featureID := pathParam("featureId", "the id of a record, chosen by the server", str)
	integer := obj{"type": "integer", "minimum": 0}
	tileParams := []obj{pathParam("z", "zoom", integer), pathParam("x", "column, from the west", integer), pathParam("y", "row, from the north", integer)}
	list := func(name, desc string) obj {
		return param(name, "query", desc+" (comma-separated, any of)", obj{"type": "array", "items": str}, false)
	}
	filters := []obj{
		param("bbox", "query", "w,s,e,n in degrees of WGS84; w > e crosses the antimeridian", obj{"type": "array", "minItems": 4, "maxItems": 6, "items": obj{"type": "number"}}, false),
		param("datetime", "query", "an instant or an interval a/b, ../b, a/.. (RFC 3339 or YYYY[-MM[-DD]])", str, false),
		list("type", "incident types"),
		list("commodity", "route commodities"),
		list("actor", "groups or people"),
		list("country", "ISO 3166-1 alpha-2 codes"),
		param("q", "query", "full text: every word must appear", str, false),
		param("filter", "query", "a filter expression (OGC API – Features Part 3) naming the collection's queryables, e.g. type = 'seizure' AND killed > 0", str, false),
		param("filter-lang", "query", "the language of filter: cql2-text (default) or cql-text, its earlier draft", obj{"type": "string", "enum": []string{geo.CQL2Text, geo.CQLText}, "default": geo.CQL2Text}, false),
		param("filter-crs", "query", "the coordinate reference system of geometries in filter", obj{"type": "string", "enum": []string{CRS84}, "default": CRS84}, false),
	}
	problem := func(desc string) obj {
		return obj{"description": desc, "content": obj{typeProblem: obj{"schema": obj{"$ref": "#/components/schemas/problem"}}}}
	}
	jsonResponse := func(desc, mediaType string) obj {
		return obj{"description": desc, "content": obj{mediaType: obj{"schema": obj{"type": "object"}}}}
	}
	errs := func(codes ...string) obj {
		out := obj{}
		for _, c := range codes {
			out[c] = problem(map[string]string{
				"400": "malformed request", "401": "no token, or a token that is not known", "403": "the token's role is too low",
				"404": "not found", "409": "another record has that external_id", "412": "the version moved on (If-Match)", "413": "body too large",
				"415": "unsupported media type", "422": "the record breaks a rule", "503": "not available on this server",
			}[c])
		}
		return out
	}
	merge := func(ms ...obj) obj {
		out := obj{}
		for _, m := range ms {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	op := func(id, summary string, params []obj, responses obj) obj {
		o := obj{"operationId": id, "summary": summary, "responses": responses}
		if len(params) > 0 {
			o["parameters"] = params
		}
		return o
	}
	withBody := func(o obj, types ...string) obj {
		content := obj{}
		for _, t := range types {
			content[t] = obj{"schema": obj{"type": "object"}}
		}
		o["requestBody"] = obj{"required": true, "content": content}
		return o
	}
	ifMatch := obj{"name": "If-Match", "in": "header", "description": `the ETag of the version the change is based on, e.g. "3"`, "required": false, "schema": str}
	featureOK := jsonResponse("a Feature; its ETag header is the version", typeGeoJSON)

	items := append([]obj{collectionID,
		param("limit", "query", "features per page (default 100; larger values are clamped to 10000)", obj{"type": "integer", "minimum": 1, "maximum": MaxLimit, "default": DefaultLimit}, false),
		param("cursor", "query", "where a page starts, as given by a next link", str, false),
	}, filters...)
	paths := obj{
		"/": obj{"get": op("getLandingPage", "Landing page", nil, merge(obj{"200": jsonResponse("links to the API definition, conformance and collections", typeJSON)}, errs("401")))},
		"/conformance": obj{"get": op("getConformanceDeclaration", "Conformance classes", nil,
			merge(obj{"200": jsonResponse("the conformance classes", typeJSON)}, errs("401")))},
		"/collections": obj{"get": op("getCollections", "The collections", nil,
			merge(obj{"200": jsonResponse("incidents and routes", typeJSON)}, errs("401")))},
		"/collections/{collectionId}": obj{"get": op("describeCollection", "One collection", []obj{collectionID},
			merge(obj{"200": jsonResponse("the collection, with its extent", typeJSON)}, errs("401", "404")))},
		"/collections/{collectionId}/items": obj{
			"get": op("getFeatures", "Features, paged by next links", items,
				merge(obj{"200": jsonResponse("a FeatureCollection with numberMatched and numberReturned", typeGeoJSON)}, errs("400", "401", "404"))),
			"post": withBody(op("createFeature", "Create a record", []obj{collectionID},
				merge(obj{"201": obj{"description": "created; Location names it", "headers": obj{"Location": obj{"schema": str}, "ETag": obj{"schema": str}},
					"content": obj{typeGeoJSON: obj{"schema": obj{"type": "object"}}}}}, errs("400", "401", "403", "404", "409", "413", "415", "422"))), typeGeoJSON, typeJSON),
		},
		"/collections/{collectionId}/items/{featureId}": obj{
			"get": op("getFeature", "One record", []obj{collectionID, featureID}, merge(obj{"200": featureOK}, errs("401", "404"))),
			"put": withBody(op("replaceFeature", "Replace a record", []obj{collectionID, featureID, ifMatch},
				merge(obj{"200": featureOK}, errs("400", "401", "403", "404", "409", "412", "413", "415", "422"))), typeGeoJSON, typeJSON),
			"patch": withBody(op("updateFeature", "Change a record by a JSON merge patch (RFC 7396)", []obj{collectionID, featureID, ifMatch},
				merge(obj{"200": featureOK}, errs("400", "401", "403", "404", "409", "412", "413", "415", "422"))), typePatch, typeJSON),
			"delete": op("deleteFeature", "Delete a record (its history is kept)", []obj{collectionID, featureID, ifMatch},
				merge(obj{"204": obj{"description": "deleted"}}, errs("400", "401", "403", "404", "412"))),
		},
		"/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}": obj{"get": op("getTile", "A Mapbox Vector Tile of incidents (clustered when dense) or routes, under the filters",
			append([]obj{collectionID,
				pathParam("tileMatrixSetId", "the tile matrix set", obj{"type": "string", "enum": []string{"WebMercatorQuad"}}),
				pathParam("tileMatrix", "zoom level", obj{"type": "integer", "minimum": 0, "maximum": MaxTileZoom}),
				pathParam("tileRow", "row, from the north", obj{"type": "integer", "minimum": 0}),
				pathParam("tileCol", "column, from the west", obj{"type": "integer", "minimum": 0}),
			}, filters...),
			merge(obj{"200": obj{"description": "the tile", "content": obj{typeMVT: obj{}}}}, errs("400", "401", "404")))},
		"/collections/{collectionId}/queryables": obj{"get": op("getQueryables", "What a filter can name: a JSON Schema, and the list of earlier drafts", []obj{collectionID},
			merge(obj{"200": jsonResponse("the queryables", typeSchema)}, errs("401", "404")))},
		"/collections/{collectionId}/items/{featureId}/history": obj{"get": op("getFeatureHistory", "Every version, newest first, with who and when", []obj{collectionID, featureID},
			merge(obj{"200": jsonResponse("the changes", typeJSON)}, errs("401", "404")))},
		"/collections/{collectionId}/items/{featureId}/restore": obj{"post": op("restoreFeature", "A new version whose content is an earlier version's (editor); its history entry names the version restored",
			[]obj{collectionID, featureID, ifMatch, param("version", "query", "the version to restore", obj{"type": "integer", "minimum": 1}, true)},
			merge(obj{"200": featureOK}, errs("400", "401", "403", "404", "409", "412", "422")))},
		"/export.geojson": obj{"get": op("export", "Everything that matches as one streamed FeatureCollection",
			append([]obj{list("collections", "incidents, routes (default both)")}, filters...),
			merge(obj{"200": jsonResponse("a FeatureCollection, as an attachment", typeGeoJSON)}, errs("400", "401")))},
		"/export.gpkg": obj{"get": op("exportGeoPackage", "Everything that matches as a GeoPackage: a table per collection",
			append([]obj{list("collections", "incidents, routes (default both)")}, filters...),
			merge(obj{"200": obj{"description": "a GeoPackage, as an attachment", "content": obj{"application/geopackage+sqlite3": obj{}}}}, errs("400", "401")))},
		"/export.csv": obj{"get": op("exportCSV", "The incidents (or routes) that match as CSV; the provenance is in the Nexus-Provenance header",
			append([]obj{list("collections", "incidents or routes (default incidents)")}, filters...),
			merge(obj{"200": obj{"description": "CSV in UTF-8 with BOM, as an attachment", "content": obj{"text/csv": obj{}}}}, errs("400", "401")))},
		"/export.kml": obj{"get": op("exportKML", "Everything that matches as KML: a folder per collection",
			append([]obj{list("collections", "incidents, routes (default both)")}, filters...),
			merge(obj{"200": obj{"description": "KML, as an attachment", "content": obj{"application/vnd.google-earth.kml+xml": obj{}}}}, errs("400", "401")))},
		"/import": obj{"post": withBody(op("import", "Import GeoJSON or CSV (GTD or ACLED columns)", nil,
			merge(obj{"200": jsonResponse("the import report", typeJSON)}, errs("400", "401", "403", "415"))),
			typeGeoJSON, typeJSON, "text/csv", typeGeoJSONs, "application/x-ndjson", "application/octet-stream")},
		"/geocode": obj{"get": op("geocode", "Places by name, best first", []obj{
			param("q", "query", "a place name, hints after commas", str, true),
			param("limit", "query", "at most this many", obj{"type": "integer", "minimum": 1, "maximum": MaxGeocodeLimit, "default": DefaultGeocodeLimit}, false),
		}, merge(obj{"200": jsonResponse("candidates", typeJSON)}, errs("400", "401", "503")))},
		"/reverse": obj{"get": op("reverse", "Country and nearest place of a point", []obj{
			param("lon", "query", "longitude", obj{"type": "number", "minimum": -180, "maximum": 180}, true),
			param("lat", "query", "latitude", obj{"type": "number", "minimum": -90, "maximum": 90}, true),
		}, merge(obj{"200": jsonResponse("the country and nearest place", typeJSON)}, errs("400", "401", "503")))},
		"/stats": obj{"get": op("stats", "Counts by country, type, actor or month", append([]obj{
			param("by", "query", "country, type, actor, month or period", obj{"type": "string", "enum": geo.StatsBy}, true),
			param("collection", "query", "incidents (default) or routes", obj{"type": "string", "enum": []string{"incidents", "routes"}}, false),
		}, filters...), merge(obj{"200": jsonResponse("the counts", typeJSON)}, errs("400", "401")))},
		"/view": obj{"get": op("view", "Incidents in a map view, clustered when dense", append([]obj{
			param("zoom", "query", "the map's zoom level", obj{"type": "number", "minimum": 0, "maximum": 30}, false),
		}, filters...), merge(obj{"200": jsonResponse("a FeatureCollection, clustered or not", typeGeoJSON)}, errs("400", "401")))},
		"/config":          obj{"get": op("config", "What the map needs to know", nil, merge(obj{"200": jsonResponse("tiles, private, role, attribution", typeJSON)}, errs("401")))},
		"/vocabulary":      obj{"get": op("vocabulary", "The values of the data model's enumerations, and the dimensions of stats", nil, obj{"200": jsonResponse("type, commodity, mode, confidence, precision, stats_by: lists of strings", typeJSON)})},
		"/basemap.geojson": obj{"get": op("basemap", "Natural Earth country shapes", nil, merge(obj{"200": jsonResponse("a FeatureCollection", typeGeoJSON)}, errs("401")))},
		"/basemap/tiles/{z}/{x}/{y}.bin": obj{"get": op("basemapTile", "Land, coasts and borders of the offline basemap, one binary vector tile (zooms 0, 2, 4, 6, 8)", tileParams,
			merge(obj{"200": jsonResponse("a tile (see basemap/README.md)", "application/octet-stream")}, errs("400", "404")))},
		"/basemap/labels/{z}/{x}/{y}.json": obj{"get": op("basemapLabels", "Place names labelled at zoom z in a tile, best ranked first", tileParams,
			merge(obj{"200": jsonResponse("name, kind, point, population, zoom of each", typeJSON)}, errs("400", "404")))},
	}
	return obj{
		"openapi": "3.0.3",
		"info": obj{
			"title":       "Nexus",
			"version":     "1.0.0",
			"description": "OGC API – Features (Part 1 Core, GeoJSON; Part 4 create, replace, update, delete) for incidents and routes of terrorism and organized crime.",
		},
		"servers":    []obj{{"url": server}},
		"paths":      paths,
		"security":   []obj{{}, {"bearer": []string{}}},
		"components": obj{"securitySchemes": obj{"bearer": obj{"type": "http", "scheme": "bearer"}}, "schemas": obj{"problem": obj{"type": "object", "properties": obj{"type": str, "title": str, "status": obj{"type": "integer"}, "detail": str, "errors": obj{"type": "array", "items": obj{"type": "object", "properties": obj{"field": str, "message": str}}}}}}},
	}
}
