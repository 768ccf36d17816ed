// The offline basemap: Natural Earth country shapes served by the Nexus
// server at /api/basemap.geojson, drawn as land on a sea-coloured map
// background (see #map in app.css), plus an optional online tile layer when
// the server was started with -tiles (learnt from /api/config).

import { getJSON, request } from './api.js';
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

/** Deepest zoom of the offline tiles; deeper views draw them scaled. */
export const TILE_MAX_ZOOM = 8;
/** Offline tiles exist at every TILE_STEP-th zoom; each serves the next too. */
export const TILE_STEP = 2;
/** Positions across one offline tile, and across one of TILE_MAX_ZOOM. */
export const TILE_EXTENT = 4096;
export const TILE_MAX_EXTENT = 16384;
/** Deepest zoom of the place labels; deeper views show those of this zoom. */
export const LABEL_MAX_ZOOM = 14;

const LAND_FILL = '#f4f1e8';
const COAST = '#6f8fa6';
const BORDER = '#b59bb8';
const DIVISION = '#b3a894';

/** A small cache of promises by key, forgetting the oldest past max entries. */
function promiseCache(max) {
  const m = new Map();
  return (key, load) => {
    let p = m.get(key);
    if (p) {
      m.delete(key);
      m.set(key, p);
      return p;
    }
    p = load();
    p.catch(() => m.delete(key));
    m.set(key, p);
    if (m.size > max) m.delete(m.keys().next().value);
    return p;
  };
}

/**
 * The offline tile a map tile z/x/y is drawn from, and the part of it the
 * map tile shows: {z, x, y, extent, scale, dx, dy} with extent the
 * offline tile's positions across, (dx, dy) the map tile's corner in them
 * and scale the map tile's pixels per position at 256 px. x wraps round the world; null for y out of the world.
 */
export function sourceTile(z, x, y) {
  const n = 2 ** z;
  if (y < 0 || y >= n) return null;
  const sz = Math.min(TILE_MAX_ZOOM, z - (z % TILE_STEP));
  const dz = z - sz;
  const wx = ((x % n) + n) % n;
  const part = 2 ** dz;
  const sx = Math.floor(wx / part);
  const sy = Math.floor(y / part);
  const extent = sz === TILE_MAX_ZOOM ? TILE_MAX_EXTENT : TILE_EXTENT;
  const unit = extent / part;
  return {
    z: sz, x: sx, y: sy, extent, scale: 256 / unit, dx: (wx - sx * part) * unit, dy: (y - sy * part) * unit,
  };
}

/**
 * Decodes an offline tile (see package basemap): {fill: 'sea'|'land'} or
 * {p: polygons (arrays of rings), b: border lines, a: lines between
 * first-level divisions}, each ring or line an Int32Array of absolute
 * positions [x0, y0, x1, y1, …].
 */
export function decodeTile(bytes) {
  let i = 1;
  const uvarint = () => {
    let v = 0;
    let shift = 1;
    for (;;) {
      if (i >= bytes.length) throw new Error('truncated basemap tile');
      const b = bytes[i++];
      v += (b & 0x7f) * shift;
      if (b < 0x80) return v;
      shift *= 128;
    }
  };
  const zig = () => {
    const v = uvarint();
    return v % 2 ? -(v + 1) / 2 : v / 2;
  };
  const run = () => {
    const n = uvarint();
    const out = new Int32Array(2 * n);
    let x = 0;
    let y = 0;
    for (let k = 0; k < n; k++) {
      x += zig();
      y += zig();
      out[2 * k] = x;
      out[2 * k + 1] = y;
    }
    return out;
  };
  if (bytes[0] === 0) return { fill: 'sea' };
  if (bytes[0] === 1) return { fill: 'land' };
  const p = [];
  for (let np = uvarint(); np > 0; np--) {
    const rings = [];
    for (let nr = uvarint(); nr > 0; nr--) rings.push(run());
    p.push(rings);
  }
  const b = [];
  for (let nl = uvarint(); nl > 0; nl--) b.push(run());
  const a = [];
  for (let na = uvarint(); na > 0; na--) a.push(run());
  return { p, b, a };
}

/** Walks a ring or line of absolute positions into path. */
function trace(ctx, pts, closed) {
  ctx.moveTo(pts[0], pts[1]);
  for (let i = 2; i + 1 < pts.length; i += 2) ctx.lineTo(pts[i], pts[i + 1]);
  if (closed) ctx.closePath();
}

/**
 * True for an edge along the margin round a tile of extent positions
 * (a 64th of it), where a shape was cut.
 */
function cutEdge(x0, y0, x1, y1, extent) {
  const lo = -extent / 64;
  const hi = extent + extent / 64;
  return (x0 === x1 && (x0 === lo || x0 === hi)) || (y0 === y1 && (y0 === lo || y0 === hi));
}

/** Walks the coast of a ring into path: its edges but the cut ones. */
function traceCoast(ctx, pts, extent) {
  let pen = false;
  for (let i = 2; i + 1 < pts.length; i += 2) {
    const x0 = pts[i - 2];
    const y0 = pts[i - 1];
    const x1 = pts[i];
    const y1 = pts[i + 1];
    if (cutEdge(x0, y0, x1, y1, extent)) {
      pen = false;
    } else {
      if (!pen) ctx.moveTo(x0, y0);
      ctx.lineTo(x1, y1);
      pen = true;
    }
  }
}

/**
 * Draws a decoded offline tile on a 2D context whose size is px pixels,
 * showing the part src (from sourceTile) at zoom z: land, its coasts, the
 * lines between first-level divisions (dashed), then the borders.
 */
export function drawTile(ctx, data, src, px, z) {
  const s = (src.scale * px) / 256;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, px, px);
  if (data.fill === 'land') {
    ctx.fillStyle = LAND_FILL;
    ctx.fillRect(0, 0, px, px);
    return;
  }
  if (!data.p) return;
  ctx.setTransform(s, 0, 0, s, -src.dx * s, -src.dy * s);
  ctx.fillStyle = LAND_FILL;
  for (const poly of data.p) {
    ctx.beginPath();
    for (const ring of poly) trace(ctx, ring, true);
    ctx.fill('evenodd');
  }
  const ratio = px / 256;
  ctx.lineJoin = 'round';
  ctx.lineCap = 'round';
  ctx.strokeStyle = COAST;
  ctx.lineWidth = ((z >= 9 ? 1.1 : 0.8) * ratio) / s;
  ctx.beginPath();
  for (const poly of data.p) for (const ring of poly) traceCoast(ctx, ring, src.extent);
  ctx.stroke();
  if (data.a.length) {
    ctx.strokeStyle = DIVISION;
    ctx.lineWidth = ((z >= 8 ? 1.1 : 0.8) * ratio) / s;
    ctx.setLineDash([(4 * ratio) / s, (3 * ratio) / s]);
    ctx.beginPath();
    for (const line of data.a) trace(ctx, line, false);
    ctx.stroke();
    ctx.setLineDash([]);
  }
  ctx.strokeStyle = BORDER;
  ctx.lineWidth = ((z >= 6 ? 2 : 1.2) * ratio) / s;
  ctx.beginPath();
  for (const line of data.b) trace(ctx, line, false);
  ctx.stroke();
}

/**
 * The offline land, coasts and borders: a Leaflet grid of canvas tiles
 * drawn from /api/basemap/tiles/{z}/{x}/{y}.bin (see sourceTile), with
 * layer.stats = {tiles, bytes, ms}: the offline tiles fetched, their bytes
 * as sent, and the time spent decoding and drawing.
 */
export function createLandLayer() {
  const cache = promiseCache(256);
  const stats = { tiles: 0, bytes: 0, ms: 0 };
  const fetchTile = (z, x, y) => cache(`${z}/${x}/${y}`, async () => {
    const res = await request(`/api/basemap/tiles/${z}/${x}/${y}.bin`, { raw: true, headers: { Accept: 'application/octet-stream' } });
    const bytes = new Uint8Array(await res.arrayBuffer());
    stats.tiles += 1;
    stats.bytes += Number(res.headers.get('Content-Length')) || bytes.length;
    const t0 = performance.now();
    const data = decodeTile(bytes);
    stats.ms += performance.now() - t0;
    return data;
  });
  const Land = L.GridLayer.extend({
    createTile(coords, done) {
      const tile = document.createElement('canvas');
      const px = Math.round(256 * Math.min(2, window.devicePixelRatio || 1));
      tile.width = px;
      tile.height = px;
      const src = sourceTile(coords.z, coords.x, coords.y);
      if (!src) {
        setTimeout(() => done(null, tile));
        return tile;
      }
      fetchTile(src.z, src.x, src.y).then((data) => {
        const t0 = performance.now();
        drawTile(tile.getContext('2d'), data, src, px, coords.z);
        stats.ms += performance.now() - t0;
        done(null, tile);
      }, (err) => done(err, tile));
      return tile;
    },
  });
  const layer = new Land({ pane: 'basemap', maxZoom: 19, keepBuffer: 1 });
  layer.stats = stats;
  return layer;
}

/** Tiles of zoom z (x unwrapped, y clamped) covering bounds {west, south, east, north}. */
export function tilesCovering(bounds, z) {
  const n = 2 ** z;
  const tx = (lng) => Math.floor(((lng + 180) / 360) * n);
  const ty = (lat) => {
    const s = Math.sin((Math.max(-85.0511, Math.min(85.0511, lat)) * Math.PI) / 180);
    return Math.floor((0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * n);
  };
  const out = [];
  const x0 = tx(bounds.west);
  const x1 = Math.min(tx(bounds.east), x0 + n - 1);
  const y0 = Math.max(0, ty(bounds.north));
  const y1 = Math.min(n - 1, ty(bounds.south));
  for (let x = x0; x <= x1; x++) {
    for (let y = y0; y <= y1; y++) out.push({ z, x, y, wrap: Math.floor(x / n) });
  }
  return out;
}

const LABEL_FONTS = {
  capital: '700 13px system-ui, sans-serif',
  city: '600 12.5px system-ui, sans-serif',
  town: '500 12px system-ui, sans-serif',
  village: '400 11px system-ui, sans-serif',
  neighbourhood: 'italic 400 11px system-ui, sans-serif',
};

/**
 * Place names over the land: the labels of the view's tiles from
 * /api/basemap/labels/{z}/{x}/{y}.json drawn on one canvas, best ranked
 * first, skipping any that would overlap one already drawn.
 * layer.drawn is the list of names drawn last; layer.ready is false while
 * the labels of a new view load.
 */
export function createLabelLayer() {
  const cache = promiseCache(512);
  const Labels = L.Layer.extend({
    initialize(options) { L.setOptions(this, options); },
    onAdd(map) {
      this.canvas = L.DomUtil.create('canvas', 'nx-labels');
      this.canvas.setAttribute('aria-hidden', 'true');
      this.getPane().appendChild(this.canvas);
      this.drawn = [];
      map.on('moveend', this.update, this);
      map.on('zoomstart', this.hide, this);
      this.update();
    },
    onRemove(map) {
      map.off('moveend', this.update, this);
      map.off('zoomstart', this.hide, this);
      this.canvas.remove();
    },
    hide() { this.canvas.style.visibility = 'hidden'; },
    async update() {
      const map = this._map;
      if (!map) return;
      const z = Math.max(1, Math.min(LABEL_MAX_ZOOM, Math.round(map.getZoom())));
      const b = map.getBounds();
      const tiles = tilesCovering({ west: b.getWest(), east: b.getEast(), south: b.getSouth(), north: b.getNorth() }, z);
      const seq = (this.seq || 0) + 1;
      this.seq = seq;
      this.ready = false;
      const n = 2 ** z;
      const lists = await Promise.all(tiles.map((t) => {
        const x = ((t.x % n) + n) % n;
        return cache(`${z}/${x}/${t.y}`, () => getJSON(`/api/basemap/labels/${z}/${x}/${t.y}.json`))
          .then((labels) => labels.map((l) => ({ ...l, wrap: t.wrap })), () => []);
      }));
      if (seq !== this.seq || !this._map) return;
      this.draw(lists.flat().sort((a, c) => a.zoom - c.zoom || c.population - a.population));
    },
    draw(labels) {
      const map = this._map;
      const size = map.getSize();
      const ratio = Math.min(2, window.devicePixelRatio || 1);
      const { canvas } = this;
      canvas.width = size.x * ratio;
      canvas.height = size.y * ratio;
      canvas.style.width = `${size.x}px`;
      canvas.style.height = `${size.y}px`;
      L.DomUtil.setPosition(canvas, map.containerPointToLayerPoint([0, 0]));
      const ctx = canvas.getContext('2d');
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.lineJoin = 'round';
      const boxes = [];
      const drawn = [];
      const overlaps = (b) => boxes.some((o) => b.x0 < o.x1 && b.x1 > o.x0 && b.y0 < o.y1 && b.y1 > o.y0);
      for (const l of labels) {
        const p = map.latLngToContainerPoint([l.point[1], l.point[0] + 360 * l.wrap]);
        if (p.x < -50 || p.y < -20 || p.x > size.x + 50 || p.y > size.y + 20) continue;
        const lines = [l.name];
        ctx.font = LABEL_FONTS[l.kind] || LABEL_FONTS.village;
        const w = Math.max(...lines.map((t) => ctx.measureText(t).width));
        const h = 15 * lines.length;
        const box = { x0: p.x - w / 2 - 3, x1: p.x + w / 2 + 3, y0: p.y - 4 - h, y1: p.y + 4 };
        if (overlaps(box)) continue;
        boxes.push(box);
        drawn.push(l.name);
        ctx.fillStyle = '#333';
        ctx.beginPath();
        ctx.arc(p.x, p.y, l.kind === 'capital' ? 3.5 : 2.5, 0, 2 * Math.PI);
        ctx.fill();
        if (l.kind === 'capital') {
          ctx.strokeStyle = '#fff';
          ctx.lineWidth = 1.2;
          ctx.stroke();
        }
        lines.forEach((text, i) => {
          const y = p.y - 4 - h + 7.5 + 15 * i;
          ctx.font = i === 0 ? (LABEL_FONTS[l.kind] || LABEL_FONTS.village) : LABEL_FONTS.village;
          ctx.strokeStyle = 'rgba(255,255,255,0.92)';
          ctx.lineWidth = 3.5;
          ctx.strokeText(text, p.x, y);
          ctx.fillStyle = l.kind === 'neighbourhood' ? '#5a4a3a' : '#1f1f1f';
          ctx.fillText(text, p.x, y);
        });
      }
      this.drawn = drawn;
      this.ready = true;
      canvas.style.visibility = '';
    },
  });
  return new Labels({ pane: 'labels' });
}

/**
 * The offline basemap: land, coasts and borders (createLandLayer) with
 * place names over them (createLabelLayer), as one layer group for the
 * layers control; group.land and group.labels are the two.
 */
export function createOfflineBasemap() {
  const land = createLandLayer();
  const labels = createLabelLayer();
  const group = L.layerGroup([land, labels]);
  group.land = land;
  group.labels = labels;
  return group;
}
