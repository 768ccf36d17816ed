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
 * The offsets in degrees (…, -360, 0, 360, …) of the copies of the world
 * that a view from west to east (unwrapped longitudes) shows: copy k spans
 * [-180 + 360k, 180 + 360k]. At most two copies either side.
 */
export function worldOffsets(west, east) {
  const first = Math.max(-2, Math.floor((west - 180) / 360) + 1);
  const last = Math.min(2, Math.ceil((east + 180) / 360) - 1);
  const out = [];
  for (let k = first; k <= last; k++) out.push(k * 360);
  return out;
}

/**
 * The class of a layer of world shapes (the basemap, the country shading):
 * the shapes, and their copies 360° to either side only while the view
 * reaches past the antimeridian, so that land continues there as tiles do.
 * Every shape drawn is projected again at every zoom (about 100 000
 * vertices for the world): drawing three copies all the time tripled that
 * and held up the first render by seconds. Options: geojson, the options of
 * L.geoJSON for each copy (pane, renderer, style, onEachFeature…).
 * Made on first use, as Leaflet is not loaded where this module is tested.
 */
let WorldLayer = null;
const worldLayerClass = () => {
  WorldLayer ??= L.LayerGroup.extend({
    initialize(options) {
      L.LayerGroup.prototype.initialize.call(this, [], options);
      this.data = null;
      this.copies = new Map();
    },

    onAdd(map) {
      L.LayerGroup.prototype.onAdd.call(this, map);
      map.on('moveend', this.fit, this);
      this.fit();
    },

    onRemove(map) {
      map.off('moveend', this.fit, this);
      L.LayerGroup.prototype.onRemove.call(this, map);
    },

    /** Sets the shapes (a GeoJSON object) and draws them. */
    setData(data) {
      this.clearLayers();
      this.copies.clear();
      this.data = data;
      this.fit();
    },

    /** The shapes moved by offset degrees of longitude, built once. */
    copy(offset) {
      let layer = this.copies.get(offset);
      if (!layer) {
        layer = L.geoJSON(this.data, {
          ...this.options.geojson,
          coordsToLatLng: (c) => L.latLng(c[1], c[0] + offset),
        });
        this.copies.set(offset, layer);
      }
      return layer;
    },

    /** Draws the copies the view shows and only those. */
    fit() {
      if (!this._map || !this.data) return;
      const bounds = this._map.getBounds();
      const want = worldOffsets(bounds.getWest(), bounds.getEast());
      for (const [offset, layer] of this.copies) {
        if (!want.includes(offset) && this.hasLayer(layer)) this.removeLayer(layer);
      }
      for (const offset of want) {
        const layer = this.copy(offset);
        if (!this.hasLayer(layer)) this.addLayer(layer);
      }
    },
  });
  return WorldLayer;
};

/**
 * A layer of world shapes drawn with the L.geoJSON options geojson, empty
 * until setData(GeoJSON); its copies (L.GeoJSON layers, built as the view
 * needs them) are in layer.copies, by offset in degrees.
 */
export function createWorldLayer(geojson) {
  const World = worldLayerClass();
  return new World({ geojson });
}

/**
 * Returns {layer, loaded, reload}: a layer that fills with the country
 * shapes once they load (the promise `loaded` settles then, with the layer),
 * and reload() to try again (after signing in to a private server) when it
 * is still empty. layer.data is then the GeoJSON as drawn (features with
 * the properties iso_a2 and name), for other layers to share rather than
 * fetch it again.
 */
export function createBasemap() {
  const layer = createWorldLayer({
    pane: 'basemap',
    renderer: L.canvas({ pane: 'basemap', padding: 0.3 }),
    interactive: false,
    style: () => LAND_STYLE,
  });
  const load = () => getJSON('/api/basemap.geojson').then((raw) => {
    layer.setData(unwrapData(raw));
    return layer;
  });
  const basemap = { layer, loaded: load() };
  basemap.reload = () => {
    if (!layer.data) basemap.loaded = load();
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
