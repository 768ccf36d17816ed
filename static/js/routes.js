// Routes on the map: great-circle lines split at the antimeridian, arrows in
// the direction of travel, coloured by commodity, dashed by confidence, with
// the waypoint names as tooltips on the vertices. Keeps a registry id → layer
// for live updates and for tests (window.nexus.routes).

import { getJSON, withQuery } from './api.js';
import { el } from './dom.js';
import { linesOf, newer, routeBounds, routeParts, versionOf } from './geo.js';
import { POPUP_PAD_TOP_LEFT, routePopup } from './popup.js';
import { CONFIDENCE_DASH, commodityColour } from './vocab.js';

const { L } = window;

/** Items per page asked of the API (its maximum). */
const PAGE_LIMIT = 10000;
/** Pages followed at most through "next" links. */
const MAX_PAGES = 10;
/** How long a changed route stays highlighted, in milliseconds. */
const FLASH_MS = 2500;
/**
 * Above this many routes, they are drawn light on a shared canvas: the
 * routes of one colour and dash in a few paths, each stroked once, with no arrows,
 * no waypoint markers and no wide hit line (the canvas's own tolerance
 * makes lines easy to hit). Thousands of SVG paths with their decorations,
 * or thousands of canvas lines each stroked and tested on its own, take
 * the browser seconds.
 */
export const LIGHT_ROUTES = 1000;
/** Shares of each light style, drawn interleaved with the other styles'. */
const LIGHT_BUCKETS = 16;
/** Degrees between the points of a light route's great circles. */
const LIGHT_STEP_DEG = 10;

/** How route popups open. */
const POPUP_OPTIONS = {
  maxWidth: 380, minWidth: 240, autoPanPadding: [20, 20], autoPanPaddingTopLeft: POPUP_PAD_TOP_LEFT, className: 'nx-leaflet-popup',
};

/** The share (0 … LIGHT_BUCKETS-1) of an id: a hash of its characters. */
function bucketOf(id) {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return (h >>> 0) % LIGHT_BUCKETS;
}

/** Leaflet [lat, lng] parts moved by offset degrees of longitude. */
function shifted(parts, offset) {
  return parts.map((part) => part.map(([lat, lng]) => [lat, lng + offset]));
}

/** The route layers and their registry. */
export class RouteLayer {
  /** map: the Leaflet map; ctx: the popup context (canEdit, onEdit, onDelete). */
  constructor(map, ctx) {
    this.map = map;
    this.ctx = ctx;
    /**
     * id → L.FeatureGroup (line, arrows, vertices), or a LightRoute when
     * drawn light; each has .feature, .routeBounds, .middle, openPopup().
     */
    this.routes = new Map();
    /** The overlay to add to the map and the layers control. */
    this.layer = L.featureGroup();
    /** Routes matching the filters, as the server counted them. */
    this.numberMatched = 0;
    /** Whether routes are drawn light (see LIGHT_ROUTES). */
    this.light = false;
    this.canvas = null;
    /** Light styles: "colour|dash|share" → { lines: SharedLines, entries }. */
    this.styles = new Map();
    /** Light styles whose routes changed since they were drawn. */
    this.dirty = new Set();
  }

  /**
   * Loads every route matching params (commodity, actor, q, datetime),
   * following "next" links, and draws them. Resolves to the number drawn.
   */
  async load(params, signal) {
    let url = withQuery('/api/collections/routes/items', { limit: PAGE_LIMIT, ...params });
    const features = [];
    let matched = null;
    for (let page = 0; url && page < MAX_PAGES; page++) {
      const fc = await getJSON(url, { signal });
      if (Array.isArray(fc?.features)) features.push(...fc.features);
      if (matched === null && Number.isFinite(fc?.numberMatched)) matched = fc.numberMatched;
      const next = Array.isArray(fc?.links) ? fc.links.find((l) => l?.rel === 'next' && l.href) : null;
      url = next ? next.href : null;
    }
    this.numberMatched = matched ?? features.length;
    return this.setAll(features);
  }

  /** Draws exactly these routes, keeping the layers of unchanged ones. */
  setAll(features) {
    const light = features.length > LIGHT_ROUTES;
    if (light !== this.light) {
      for (const id of [...this.routes.keys()]) this.unlink(id);
      this.flush();
      this.light = light;
    }
    const seen = new Set();
    for (const f of features) {
      if (!f || f.id === undefined || f.id === null) continue;
      const id = String(f.id);
      seen.add(id);
      const old = this.routes.get(id);
      if (old && versionOf(old.feature) === versionOf(f) && versionOf(f) !== 0) continue;
      this.put(id, f);
    }
    for (const id of [...this.routes.keys()]) {
      if (!seen.has(id)) this.unlink(id);
    }
    this.flush();
    return this.routes.size;
  }

  /** Draws one route in place of what was drawn for its id (after flush). */
  put(id, feature) {
    this.unlink(id);
    const group = this.build(feature);
    if (group) {
      this.routes.set(id, group);
      if (!(group instanceof LightRoute)) this.layer.addLayer(group);
    }
    return group;
  }

  /** Takes a route off the map and the registry (after flush); returns it. */
  unlink(id) {
    const old = this.routes.get(id);
    if (!old) return undefined;
    this.routes.delete(id);
    if (old instanceof LightRoute) {
      this.styles.get(old.style)?.entries.delete(old);
      this.dirty.add(old.style);
    } else {
      this.layer.removeLayer(old);
    }
    return old;
  }

  /** The layers of one route, or null when its geometry cannot be drawn. */
  build(feature) {
    const p = feature.properties || {};
    const id = String(feature.id);
    const main = routeParts(feature.geometry, this.light ? LIGHT_STEP_DEG : undefined);
    if (!main.length) return null;
    const colour = commodityColour(p.commodity);
    const dashArray = CONFIDENCE_DASH[p.confidence] ?? null;
    if (this.light) return this.lightEntry(feature, main, colour, dashArray);
    // Copies 360° east and west, as the basemap has, so that a route across
    // the antimeridian reads as one line on a Pacific-centred view.
    const parts = [...main, ...shifted(main, -360), ...shifted(main, 360)];

    // A wide transparent line under the visible one makes routes easy to hit.
    const hit = L.polyline(parts, { weight: 14, opacity: 0, className: 'nx-route-hit' });
    const line = L.polyline(parts, {
      color: colour, weight: 3, opacity: 0.9, dashArray, lineCap: 'round', className: 'nx-route',
    });
    // The visible line is the route's one stop in the tab order: a named
    // button that opens the popup. The hit line, the arrows and the vertices
    // (whose tooltips would make Chromium focus each of them) stay out.
    const name = typeof p.name === 'string' && p.name.trim() ? p.name : 'unnamed';
    line.on('add', () => {
      const node = line.getElement();
      if (!node) return;
      node.dataset.id = id;
      node.setAttribute('tabindex', '0');
      node.setAttribute('role', 'button');
      node.setAttribute('aria-label', `Route: ${name}`);
      node.addEventListener('keydown', (e) => {
        if (e.key !== 'Enter' && e.key !== ' ') return;
        e.preventDefault();
        group.openPopup(group.middle);
      });
    });
    const arrows = L.polylineDecorator(parts, {
      patterns: [{
        offset: 28,
        repeat: 150,
        symbol: L.Symbol.arrowHead({
          pixelSize: 10,
          polygon: true,
          pathOptions: { color: colour, fillColor: colour, fillOpacity: 1, opacity: 1, weight: 1, interactive: false },
        }),
      }],
    });

    const names = Array.isArray(p.waypoints) ? p.waypoints : [];
    const vertices = [];
    let k = 0;
    for (const lineCoords of linesOf(feature.geometry)) {
      for (const c of lineCoords) {
        const vname = names[k];
        k += 1;
        if (!Array.isArray(c) || !Number.isFinite(c[0]) || !Number.isFinite(c[1])) continue;
        for (const offset of [0, -360, 360]) {
          const v = L.circleMarker([c[1], c[0] + offset], {
            radius: 4, color: colour, weight: 2, fillColor: '#ffffff', fillOpacity: 1, className: 'nx-waypoint',
          });
          if (typeof vname === 'string' && vname.trim()) {
            v.bindTooltip(el('span', { text: vname }), { direction: 'top', offset: [0, -4] });
          }
          v.on('add', () => v.getElement()?.setAttribute('tabindex', '-1'));
          vertices.push(v);
        }
      }
    }

    const group = L.featureGroup([hit, line, arrows, ...vertices]);
    return this.finish(group, feature, main);
  }

  /**
   * One route drawn light: its entry in the registry, drawn by the shared
   * lines of its style (colour and dash).
   */
  lightEntry(feature, main, colour, dashArray) {
    // Each style is drawn in LIGHT_BUCKETS shares, by id, in the order
    // they came: drawn whole one after another, the last colour drawn
    // would hide the others where routes crowd.
    const style = `${colour}|${dashArray ?? ''}|${bucketOf(String(feature.id))}`;
    const entry = new LightRoute(this, feature, main, style, colour);
    this.styleOf(style, colour, dashArray).entries.add(entry);
    this.dirty.add(style);
    return entry;
  }

  /** The shared lines of a style, made on first use. */
  styleOf(key, colour, dashArray) {
    let style = this.styles.get(key);
    if (!style) {
      this.canvas ??= L.canvas({ padding: 0.5, tolerance: 6 });
      const lines = new SharedLines({
        renderer: this.canvas, color: colour, weight: 2, opacity: 0.75, dashArray, className: 'nx-route',
      });
      // A click on the lines opens the popup of the route drawn on top
      // there, as a popup bound to it would.
      lines.on('click', (e) => {
        const entry = lines.entryAt(e.layerPoint);
        if (!entry) return;
        L.DomEvent.stop(e);
        entry.openPopup(e.latlng);
      });
      style = { lines, entries: new Set() };
      this.styles.set(key, style);
    }
    return style;
  }

  /** Redraws the lines of every style whose routes changed. */
  flush() {
    for (const key of this.dirty) {
      const style = this.styles.get(key);
      if (!style) continue;
      if (style.entries.size === 0) {
        this.layer.removeLayer(style.lines);
        this.styles.delete(key);
        continue;
      }
      style.lines.setEntries([...style.entries]);
      if (!this.layer.hasLayer(style.lines)) this.layer.addLayer(style.lines);
    }
    this.dirty.clear();
  }

  /** Opens the popup of a route at a point. */
  openPopup(feature, latlng) {
    // The popup's source carries the feature, as a bound popup's layer
    // does, for whoever listens to popupopen.
    const source = new L.Evented();
    source.feature = feature;
    L.popup(POPUP_OPTIONS, source)
      .setLatLng(latlng)
      .setContent(() => routePopup(feature, this.ctx))
      .openOn(this.map);
  }

  /** Gives a route's group its feature, bounds, middle and popup. */
  finish(group, feature, main) {
    group.feature = feature;
    /** The bounds of the route itself, without its copies 360° away. */
    group.routeBounds = L.latLngBounds(routeBounds(feature.geometry));
    const longest = main.reduce((a, b) => (b.length > a.length ? b : a));
    /** Where the popup opens when the route is shown from the feed. */
    group.middle = longest[Math.floor(longest.length / 2)];
    group.bindPopup(() => routePopup(group.feature, this.ctx), POPUP_OPTIONS);
    return group;
  }

  /**
   * How many drawn routes cross the view (L.LatLngBounds), counting a
   * route once however many of its copies 360° apart are in sight.
   */
  countIn(view) {
    const s = view.getSouth();
    const n = view.getNorth();
    const w = view.getWest();
    const e = view.getEast();
    let count = 0;
    for (const group of this.routes.values()) {
      const b = group.routeBounds;
      if (!b?.isValid() || b.getNorth() < s || b.getSouth() > n) continue;
      const bw = b.getWest();
      const be = b.getEast();
      for (const d of [-360, 0, 360]) {
        if (be + d >= w && bw + d <= e) {
          count += 1;
          break;
        }
      }
    }
    return count;
  }

  /** The layers of a route, or undefined. */
  get(id) {
    return this.routes.get(String(id));
  }

  /** Adds or replaces one route; ignores a version older than the one drawn. */
  upsert(feature, { flash = false } = {}) {
    const id = String(feature.id);
    const old = this.routes.get(id);
    if (old && !newer(feature, old.feature)) {
      if (flash) this.flash(old);
      return;
    }
    const group = this.put(id, feature);
    this.flush();
    if (group && flash) this.flash(group);
  }

  /** Removes one route; returns its last known Feature, or undefined. */
  remove(id) {
    const old = this.unlink(String(id));
    this.flush();
    return old?.feature;
  }

  /** Briefly thickens and highlights a route's line. */
  flash(group) {
    if (group instanceof LightRoute) {
      // Drawn over the shared lines, for a moment.
      const line = L.polyline([...group.main, ...shifted(group.main, -360), ...shifted(group.main, 360)], {
        renderer: this.canvas, color: group.colour, weight: 7, opacity: 0.9, interactive: false,
      });
      this.layer.addLayer(line);
      setTimeout(() => this.layer.removeLayer(line), FLASH_MS);
      return;
    }
    group.eachLayer((l) => {
      if (l instanceof L.Polyline && l.options.className === 'nx-route') {
        l.setStyle({ weight: 7 });
        const node = l.getElement();
        if (node) node.classList.add('nx-flash-line');
        setTimeout(() => {
          l.setStyle({ weight: 3 });
          if (l.getElement()) l.getElement().classList.remove('nx-flash-line');
        }, FLASH_MS);
      }
    });
  }

  /** Fits the map to a route and opens its popup. */
  show(id) {
    const group = this.routes.get(String(id));
    if (!group) return false;
    if (!this.map.hasLayer(this.layer)) this.map.addLayer(this.layer);
    // The popup opens once the map has settled: opened during the zoom, its
    // auto-pan would fight the fit.
    this.map.once('moveend', () => {
      if (this.routes.get(String(id)) === group) group.openPopup(group.middle);
    });
    this.map.fitBounds(group.routeBounds, { padding: [40, 40], maxZoom: 8 });
    return true;
  }
}

// Web Mercator at zoom 0 (256 pixels round the world), as Leaflet projects it: see LightRoute.
const RAD = Math.PI / 180;
const MAX_LAT = 85.0511287798;

/** Squared distance from (px, py) to the segment (ax, ay)–(bx, by). */
function segmentDist2(px, py, ax, ay, bx, by) {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  let t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
  t = Math.max(0, Math.min(1, t));
  const x = ax + t * dx - px;
  const y = ay + t * dy - py;
  return x * x + y * y;
}

/**
 * Whether the points from..to (exclusive) of xy (x, y pairs at zoom 0)
 * pass within tol (zoom-0 units) of (x, y).
 */
function near(xy, from, to, x, y, tol) {
  const tol2 = tol * tol;
  for (let j = from + 1; j < to; j++) {
    if (segmentDist2(x, y, xy[2 * j - 2], xy[2 * j - 1], xy[2 * j], xy[2 * j + 1]) <= tol2) return true;
  }
  return false;
}

/**
 * The routes of one style drawn light, as one path on the canvas renderer:
 * their lines projected once at zoom 0, scaled to the map's zoom, drawn
 * once for every copy of the world in view, and stroked once. A click
 * finds the route under it by the same geometry.
 */
const SharedLines = L.Path.extend({
  initialize(options) {
    L.setOptions(this, options);
    this.setEntries([]);
  },

  /** Draws these routes (LightRoute) and no others. */
  setEntries(entries) {
    let points = 0;
    let parts = 0;
    for (const e of entries) {
      points += e.xy.length / 2;
      parts += e.starts.length - 1;
    }
    const xy = new Float64Array(points * 2);
    const starts = new Int32Array(parts + 1);
    const boxes = new Float64Array(parts * 4);
    const owners = new Array(parts);
    let at = 0;
    let k = 0;
    for (const e of entries) {
      xy.set(e.xy, at * 2);
      for (let i = 0; i + 1 < e.starts.length; i++) {
        starts[k] = at + e.starts[i];
        boxes.set(e.boxes.subarray(i * 4, i * 4 + 4), k * 4);
        owners[k] = e;
        k += 1;
      }
      at += e.xy.length / 2;
    }
    starts[parts] = at;
    Object.assign(this, { _xy: xy, _starts: starts, _boxes: boxes, _owners: owners });
    return this.redraw();
  },

  /** The bounds of the routes drawn (for the feature group's). */
  getBounds() {
    const b = L.latLngBounds([]);
    for (const e of new Set(this._owners)) b.extend(e.routeBounds);
    return b;
  },

  _project() {
    this._update();
  },

  _update() {
    // Drawn whole wherever the renderer redraws.
    if (this._renderer?._bounds) this._pxBounds = L.bounds(this._renderer._bounds.min, this._renderer._bounds.max);
  },

  /** The zoom-0 scale and the layer-point offset of world copy 0. */
  _frame() {
    const map = this._map;
    return { scale: map.getZoomScale(map.getZoom(), 0), origin: map.getPixelOrigin() };
  },

  _updatePath() {
    const r = this._renderer;
    if (!r._drawing || !r._bounds || this._starts.length < 2) return;
    const ctx = r._ctx;
    const { scale, origin } = this._frame();
    const world = 256 * scale;
    const b = r._bounds;
    const pad = (this.options.weight + 1) / scale;
    const xy = this._xy;
    const starts = this._starts;
    const boxes = this._boxes;
    ctx.beginPath();
    const first = Math.floor((b.min.x + origin.x) / world);
    const last = Math.floor((b.max.x + origin.x) / world);
    for (let copy = first; copy <= last; copy++) {
      const ox = copy * world - origin.x;
      const oy = -origin.y;
      const x0 = (b.min.x - ox) / scale - pad;
      const x1 = (b.max.x - ox) / scale + pad;
      const y0 = (b.min.y - oy) / scale - pad;
      const y1 = (b.max.y - oy) / scale + pad;
      for (let i = 0; i + 1 < starts.length; i++) {
        if (boxes[4 * i] > x1 || boxes[4 * i + 2] < x0 || boxes[4 * i + 1] > y1 || boxes[4 * i + 3] < y0) continue;
        const s = starts[i];
        const e = starts[i + 1];
        let lx = xy[2 * s] * scale + ox;
        let ly = xy[2 * s + 1] * scale + oy;
        ctx.moveTo(lx, ly);
        for (let j = s + 1; j < e; j++) {
          const x = xy[2 * j] * scale + ox;
          const y = xy[2 * j + 1] * scale + oy;
          // Points less than a pixel apart add nothing to the line.
          if (j < e - 1 && Math.abs(x - lx) < 1 && Math.abs(y - ly) < 1) continue;
          ctx.lineTo(x, y);
          lx = x;
          ly = y;
        }
      }
    }
    r._fillStroke(ctx, this);
  },

  /** The route drawn last whose line passes near a layer point, or null. */
  entryAt(point) {
    if (!this._map) return null;
    const { scale, origin } = this._frame();
    const tol = this._clickTolerance() / scale;
    const wx = (point.x + origin.x) / scale;
    const y = (point.y + origin.y) / scale;
    const x = wx - 256 * Math.floor(wx / 256);
    const xs = [x];
    if (x < tol) xs.push(x + 256);
    if (x > 256 - tol) xs.push(x - 256);
    const boxes = this._boxes;
    for (let i = this._owners.length - 1; i >= 0; i--) {
      if (boxes[4 * i + 1] - tol > y || boxes[4 * i + 3] + tol < y) continue;
      for (const cx of xs) {
        if (boxes[4 * i] - tol > cx || boxes[4 * i + 2] + tol < cx) continue;
        if (near(this._xy, this._starts[i], this._starts[i + 1], cx, y, tol)) return this._owners[i];
      }
    }
    return null;
  },

  _containsPoint(point) {
    return this.entryAt(point) !== null;
  },
});

/**
 * A route drawn light: what the registry keeps of it (feature, bounds,
 * middle, popup); its parts are drawn in its style's shared line.
 */
class LightRoute {
  constructor(owner, feature, main, style, colour) {
    this.owner = owner;
    this.feature = feature;
    /** Leaflet [lat, lng] parts, densified and split at the antimeridian. */
    this.main = main;
    this.style = style;
    this.colour = colour;
    // The parts at zoom 0: x, y pairs, where each part starts, its box.
    let count = 0;
    for (const part of main) count += part.length;
    this.xy = new Float64Array(count * 2);
    this.starts = new Int32Array(main.length + 1);
    this.boxes = new Float64Array(main.length * 4);
    let at = 0;
    let [s, w, n, e] = [Infinity, Infinity, -Infinity, -Infinity];
    main.forEach((part, i) => {
      this.starts[i] = at;
      let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
      for (const [lat, lng] of part) {
        const sin = Math.sin(Math.max(-MAX_LAT, Math.min(MAX_LAT, lat)) * RAD);
        const x = ((lng + 180) / 360) * 256;
        const y = 128 - (Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI)) * 256;
        this.xy[2 * at] = x;
        this.xy[2 * at + 1] = y;
        at += 1;
        x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
        s = Math.min(s, lat); n = Math.max(n, lat); w = Math.min(w, lng); e = Math.max(e, lng);
      }
      this.boxes[i * 4] = x0;
      this.boxes[i * 4 + 1] = y0;
      this.boxes[i * 4 + 2] = x1;
      this.boxes[i * 4 + 3] = y1;
    });
    this.starts[main.length] = at;
    /**
     * The bounds of the route itself, without its copies 360° away: those
     * of its points when it is one part, else the route's own across the
     * antimeridian.
     */
    this.routeBounds = main.length === 1
      ? L.latLngBounds([s, w], [n, e])
      : L.latLngBounds(routeBounds(feature.geometry, LIGHT_STEP_DEG));
    const longest = main.reduce((a, b) => (b.length > a.length ? b : a));
    /** Where the popup opens when the route is shown from the feed. */
    this.middle = longest[Math.floor(longest.length / 2)];
  }

  /** Opens the route's popup at a point (its middle by default). */
  openPopup(latlng = this.middle) {
    this.owner.openPopup(this.feature, latlng);
  }

  /**
   * Whether the route's line passes within the canvas's tolerance of a
   * point of the map's container, as a click there would find it.
   */
  contains(point) {
    const { map } = this.owner;
    const scale = map.getZoomScale(map.getZoom(), 0);
    const world = map.getPixelOrigin().add(map.containerPointToLayerPoint(point)).divideBy(scale);
    const tol = (this.owner.canvas.options.tolerance + 1) / scale;
    const x = world.x - 256 * Math.floor(world.x / 256);
    for (let i = 0; i + 1 < this.starts.length; i++) {
      for (const cx of [x, x - 256, x + 256]) {
        if (near(this.xy, this.starts[i], this.starts[i + 1], cx, world.y, tol)) return true;
      }
    }
    return false;
  }
}
