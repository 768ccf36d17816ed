// Geometry for the map: the bbox of the view (wrapped to [-180, 180], w > e
// across the antimeridian, as the API takes it), great-circle densification
// of route segments and splitting at the antimeridian so Leaflet draws them.

const RAD = Math.PI / 180;

/** Longitude wrapped into [-180, 180]. */
export function wrapLon(lon) {
  if (lon >= -180 && lon <= 180) return lon;
  return ((((lon + 180) % 360) + 360) % 360) - 180;
}

function clamp(x, lo, hi) {
  return Math.min(hi, Math.max(lo, x));
}

function round6(x) {
  return Math.round(x * 1e6) / 1e6;
}

/**
 * [w, s, e, n] of what the map shows, in the API's convention: longitudes in
 * [-180, 180], w > e when the view crosses the antimeridian, the whole world
 * when the view is 360° wide or more.
 */
export function viewBbox(map) {
  const b = map.getBounds();
  const s = round6(clamp(b.getSouth(), -90, 90));
  const n = round6(clamp(b.getNorth(), -90, 90));
  const west = b.getWest();
  const east = b.getEast();
  if (east - west >= 360) return [-180, s, 180, n];
  let w = wrapLon(west);
  let e = wrapLon(east);
  if (e === -180 && east > west) e = 180;
  if (w === 180) w = -180;
  return [round6(w), s, round6(e), n];
}

function toVector([lon, lat]) {
  const l = lon * RAD;
  const p = lat * RAD;
  return [Math.cos(p) * Math.cos(l), Math.cos(p) * Math.sin(l), Math.sin(p)];
}

function toLonLat([x, y, z]) {
  return [Math.atan2(y, x) / RAD, Math.atan2(z, Math.hypot(x, y)) / RAD];
}

/**
 * Points along the great circle from a to b ([lon, lat]), about every
 * stepDeg degrees of arc, both ends included exactly. Antipodal or identical
 * points, whose great circle is undefined or empty, give [a, b].
 */
export function greatCircle(a, b, stepDeg = 2) {
  const va = toVector(a);
  const vb = toVector(b);
  const dot = va[0] * vb[0] + va[1] * vb[1] + va[2] * vb[2];
  const cross = [
    va[1] * vb[2] - va[2] * vb[1],
    va[2] * vb[0] - va[0] * vb[2],
    va[0] * vb[1] - va[1] * vb[0],
  ];
  const theta = Math.atan2(Math.hypot(...cross), dot);
  if (theta < 1e-9 || Math.PI - theta < 1e-6) return [a, b];
  const n = Math.max(1, Math.ceil(theta / RAD / stepDeg));
  const out = [a];
  const sinT = Math.sin(theta);
  for (let i = 1; i < n; i++) {
    const t = i / n;
    const ka = Math.sin((1 - t) * theta) / sinT;
    const kb = Math.sin(t * theta) / sinT;
    out.push(toLonLat([ka * va[0] + kb * vb[0], ka * va[1] + kb * vb[1], ka * va[2] + kb * vb[2]]));
  }
  out.push(b);
  return out;
}

/** A line of [lon, lat] densified along great circles, segment by segment. */
export function densify(line, stepDeg = 2) {
  if (line.length < 2) return line.slice();
  const out = [line[0]];
  for (let i = 1; i < line.length; i++) {
    const seg = greatCircle(line[i - 1], line[i], stepDeg);
    for (let j = 1; j < seg.length; j++) out.push(seg[j]);
  }
  return out;
}

/**
 * Splits a line of [lon, lat] where it crosses the antimeridian (a step of
 * more than 180° of longitude), adding the crossing point at ±180 to both
 * sides. Returns the parts as Leaflet [lat, lng] arrays.
 */
export function splitAntimeridian(line) {
  const parts = [];
  let part = [];
  for (let i = 0; i < line.length; i++) {
    const [lon, lat] = line[i];
    if (i > 0) {
      const [plon, plat] = line[i - 1];
      if (Math.abs(lon - plon) > 180) {
        const edge = plon > 0 ? 180 : -180;
        const unwrapped = plon > 0 ? lon + 360 : lon - 360;
        const t = unwrapped === plon ? 0 : (edge - plon) / (unwrapped - plon);
        const clat = plat + t * (lat - plat);
        part.push([clat, edge]);
        if (part.length >= 2) parts.push(part);
        part = [[clat, -edge]];
      }
    }
    part.push([lat, lon]);
  }
  if (part.length >= 2) parts.push(part);
  return parts;
}

/** The lines of a LineString or MultiLineString as arrays of [lon, lat]. */
export function linesOf(geometry) {
  if (!geometry) return [];
  if (geometry.type === 'LineString') return [geometry.coordinates || []];
  if (geometry.type === 'MultiLineString') return geometry.coordinates || [];
  return [];
}

/**
 * The parts Leaflet should draw for a route geometry: every line densified
 * along great circles and split at the antimeridian, as [lat, lng] arrays.
 */
export function routeParts(geometry, stepDeg = 2) {
  const parts = [];
  for (const line of linesOf(geometry)) {
    const valid = line.filter((p) => Array.isArray(p) && Number.isFinite(p[0]) && Number.isFinite(p[1]));
    if (valid.length < 2) continue;
    parts.push(...splitAntimeridian(densify(valid, stepDeg)));
  }
  return parts;
}

/**
 * The bounds of a route as [[south, west], [north, east]], following its
 * great circles and keeping it in one piece across the antimeridian (east
 * may pass 180); null without two valid positions. Fitting the map to
 * these never shows the world three times, as the bounds of the drawn
 * copies 360° east and west would.
 */
export function routeBounds(geometry, stepDeg = 2) {
  let s = Infinity; let w = Infinity; let n = -Infinity; let e = -Infinity;
  let first = null;
  for (const line of linesOf(geometry)) {
    const valid = line.filter((p) => Array.isArray(p) && Number.isFinite(p[0]) && Number.isFinite(p[1]));
    if (valid.length < 2) continue;
    let prev = null;
    for (const [lon0, lat] of densify(valid, stepDeg)) {
      let lon = lon0;
      // Continue from the previous position, or from the route's start.
      const ref = prev ?? first;
      if (ref !== null) lon += 360 * Math.round((ref - lon) / 360);
      if (first === null) first = lon;
      prev = lon;
      s = Math.min(s, lat); n = Math.max(n, lat);
      w = Math.min(w, lon); e = Math.max(e, lon);
    }
  }
  return first === null ? null : [[s, w], [n, e]];
}

/** [lat, lng] of a Point geometry, or null. */
export function pointLatLng(geometry) {
  const c = geometry?.type === 'Point' ? geometry.coordinates : null;
  if (!Array.isArray(c) || !Number.isFinite(c[0]) || !Number.isFinite(c[1])) return null;
  return [c[1], c[0]];
}

/** The version a Feature's properties carry, or 0 when it has none. */
export function versionOf(feature) {
  const v = Number(feature?.properties?.version);
  return Number.isFinite(v) ? v : 0;
}

/**
 * Whether incoming should replace drawn: a newer version does, the same or
 * an older one does not (a saved form and its own live echo carry the same
 * version). Features without a version always do.
 */
export function newer(incoming, drawn) {
  const v = versionOf(incoming);
  return v === 0 || v > versionOf(drawn);
}
