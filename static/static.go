// Package static holds the map: the page, its styles and scripts, and the
// front-end libraries that build.sh copies into vendor/ from the pinned npm
// packages. Everything is embedded in the binary so the map needs no network.
package static

import "embed"

// FS is the map's file tree (index.html, css/, js/, vendor/), index.html at
// the top; the api package serves it at "/".
// Run static/build.sh before building the binary, or vendor/ holds only its
// README and the page reports that the map libraries are missing.
//
//go:embed index.html css js vendor
var FS embed.FS
