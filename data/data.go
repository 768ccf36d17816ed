// Package data holds the sample data drawn from the seed articles, loaded
// into an empty database by `server -seed`.
package data

import (
	"embed"
	"encoding/json"
	"fmt"

	"nexus/geo"
)

// Sample holds sample/incidents.geojson, sample/routes.geojson,
// sample/links.geojson and the actor aliases, sample/aliases.json.
//
//go:embed sample/*.geojson sample/aliases.json
var Sample embed.FS

// SampleAliases returns the actor aliases of sample/aliases.json.
func SampleAliases() ([]geo.Alias, error) {
	b, err := Sample.ReadFile("sample/aliases.json")
	if err != nil {
		return nil, err
	}
	var file struct {
		Aliases []geo.Alias `json:"aliases"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		return nil, fmt.Errorf("sample/aliases.json: %w", err)
	}
	return file.Aliases, nil
}
