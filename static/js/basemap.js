// The offline basemap: Natural Earth country shapes served by the Nexus
// server at /api/basemap.geojson, drawn as land on a sea-coloured map
// background (see #map in app.css), plus an optional online tile layer when
// the server was started with -tiles (learnt from /api/config).

import { getJSON } from './api.js';
import { escapeHTML } from './dom.js';

const { L } = window;

const LAND_STYLE = {
  color: '#a79f8f',
  weight: 0.7,
  opacity: 1,
  fillColor: '#f4f1e8',
  fillOpacity: 1,
};

/**
 * A ring whose longitudes jump by more than 180° between neighbours (a
 * shape stitched across the antimeridian, as some Natural Earth derivatives
 * are) made continuous, so that it is drawn as one shape rather than with a
 * line across the world; a ring around a pole is closed along the pole.
 * Rings already cut at ±180 come back unchanged.
 */
export function unwrapRing(ring) {
  if (!Array.isArray(ring) || ring.length < 2) return ring;
  let shift = 0;
  let jumped = false;
  const out = [[ring[0][0], ring[0][1]]];
  for (let i = 1; i < ring.length; i++) {
    const d = ring[i][0] - ring[i - 1][0];
    if (d > 180) { shift -= 360; jumped = true; } else if (d < -180) { shift += 360; jumped = true; }
    out.push([ring[i][0] + shift, ring[i][1]]);
  }
  if (!jumped) return ring;
  const first = out[0];
  const last = out[out.length - 1];
  if (Math.abs(last[0] - first[0]) > 180) {
    const pole = out.reduce((s, p) => s + p[1], 0) < 0 ? -90 : 90;
    out.push([last[0], pole], [first[0], pole], [first[0], first[1]]);
  }
  return out;
}

function unwrapGeometry(g) {
  if (!g) return g;
  if (g.type === 'Polygon') return { ...g, coordinates: g.coordinates.map(unwrapRing) };
  if (g.type === 'MultiPolygon') return { ...g, coordinates: g.coordinates.map((p) => p.map(unwrapRing)) };
  if (g.type === 'GeometryCollection') return { ...g, geometries: g.geometries.map(unwrapGeometry) };
  return g;
}

function unwrapData(data) {
  if (data?.type === 'FeatureCollection') {
    return { ...data, features: (data.features || []).map((f) => ({ ...f, geometry: unwrapGeometry(f.geometry) })) };
  }
  if (data?.type === 'Feature') return { ...data, geometry: unwrapGeometry(data.geometry) };
  return unwrapGeometry(data);
}

/**
 * Returns {layer, loaded, reload}: a layer group that fills with the country
 * shapes once they load (the promise `loaded` settles then), and reload() to
 * try again (after signing in to a private server) when it is still empty.
 * The shapes are drawn three times, 360° apart, so that land continues when
 * the map is panned past the antimeridian, as tiles do.
 */
export function createBasemap() {
  const group = L.layerGroup();
  const renderer = L.canvas({ pane: 'basemap', padding: 0.3 });
  const load = () => getJSON('/api/basemap.geojson').then((raw) => {
    const data = unwrapData(raw);
    group.clearLayers();
    for (const offset of [0, -360, 360]) {
      L.geoJSON(data, {
        pane: 'basemap',
        renderer,
        interactive: false,
        style: () => LAND_STYLE,
        coordsToLatLng: (c) => L.latLng(c[1], c[0] + offset),
      }).addTo(group);
    }
    return group;
  });
  const basemap = { layer: group, loaded: load() };
  basemap.reload = () => {
    if (group.getLayers().length === 0) basemap.loaded = load();
    return basemap.loaded;
  };
  return basemap;
}

/**
 * An online tile layer for the configured URL template, or null when the
 * server has none. The attribution text comes from the server's
 * configuration and is shown as text.
 */
export function createTileLayer(config) {
  const url = typeof config?.tiles === 'string' ? config.tiles.trim() : '';
  if (!url) return null;
  return L.tileLayer(url, {
    maxZoom: 19,
    attribution: escapeHTML(config.attribution || ''),
    crossOrigin: false,
  });
}
