#!/usr/bin/env bash
# build.sh copies the browser files of the pinned front-end packages into
# static/vendor/, where index.html loads them by relative path. There is no
# bundler: the files are the packages' own UMD builds and stylesheets.
# Idempotent: it installs from the lockfile only when node_modules is missing
# and rewrites vendor/ from scratch every time.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

# Files that must exist after installing; a partial node_modules is reinstalled.
# axe-core is a development dependency: the browser tests inject it from
# node_modules; it is never copied into vendor/ nor embedded.
required=(
  node_modules/leaflet/dist/leaflet.js
  node_modules/leaflet.markercluster/dist/leaflet.markercluster.js
  node_modules/leaflet-polylinedecorator/dist/leaflet.polylineDecorator.js
  node_modules/axe-core/axe.min.js
  node_modules/cytoscape/dist/cytoscape.min.js
)
need_install=0
[ -d node_modules ] || need_install=1
for f in "${required[@]}"; do
  [ -f "$f" ] || need_install=1
done
if [ "$need_install" = 1 ]; then
  npm ci --no-fund --no-audit
fi

out=vendor
rm -rf "$out/leaflet" "$out/leaflet.markercluster" "$out/leaflet-polylinedecorator" "$out/cytoscape"
mkdir -p "$out/leaflet/images" "$out/leaflet.markercluster" "$out/leaflet-polylinedecorator" "$out/cytoscape"

# Leaflet: script, stylesheet, the images the stylesheet refers to, licence.
cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css "$out/leaflet/"
cp node_modules/leaflet/dist/images/*.png "$out/leaflet/images/"
cp node_modules/leaflet/LICENSE "$out/leaflet/"

# Leaflet.markercluster: script and both stylesheets.
cp node_modules/leaflet.markercluster/dist/leaflet.markercluster.js \
   node_modules/leaflet.markercluster/dist/MarkerCluster.css \
   node_modules/leaflet.markercluster/dist/MarkerCluster.Default.css \
   "$out/leaflet.markercluster/"
cp node_modules/leaflet.markercluster/MIT-LICENCE.txt "$out/leaflet.markercluster/LICENSE"

# Leaflet.PolylineDecorator: arrowheads along routes (its UMD build bundles
# leaflet-rotatedmarker, so that package needs no copy).
cp node_modules/leaflet-polylinedecorator/dist/leaflet.polylineDecorator.js "$out/leaflet-polylinedecorator/"
cp node_modules/leaflet-polylinedecorator/LICENSE "$out/leaflet-polylinedecorator/"

# Cytoscape.js: the actor network graph (its UMD build, no dependencies).
cp node_modules/cytoscape/dist/cytoscape.min.js "$out/cytoscape/"
cp node_modules/cytoscape/LICENSE "$out/cytoscape/"

echo "vendor: $(find "$out" -type f ! -name README.md | wc -l) files in static/$out"
