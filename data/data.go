// Package data holds the sample data drawn from the seed articles, loaded
// into an empty database by `server -seed`.
package data

import "embed"

// Sample holds sample/incidents.geojson and sample/routes.geojson.
//
//go:embed sample/*.geojson
var Sample embed.FS
