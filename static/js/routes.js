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
 * Above this many routes, each is drawn as one line on a shared canvas:
 * no arrows, no waypoint markers, no wide hit line (the canvas's own
 * tolerance makes lines easy to hit). Thousands of SVG paths with their
 * decorations take the browser seconds to lay out.
 */
export const LIGHT_ROUTES = 1000;
/** Degrees between the points of a light route's great circles. */
const LIGHT_STEP_DEG = 10;

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
    /** id → L.FeatureGroup (line, arrows, vertices), with .feature. */
    this.routes = new Map();
    /** The overlay to add to the map and the layers control. */
    this.layer = L.featureGroup();
    /** Routes matching the filters, as the server counted them. */
    this.numberMatched = 0;
    /** Whether routes are drawn light (see LIGHT_ROUTES). */
    this.light = false;
    this.canvas = null;
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
      this.light = light;
      for (const id of [...this.routes.keys()]) this.remove(id);
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
      if (!seen.has(id)) this.remove(id);
    }
    return this.routes.size;
  }

  put(id, feature) {
    const old = this.routes.get(id);
    if (old) this.layer.removeLayer(old);
    const group = this.build(feature);
    if (group) {
      this.routes.set(id, group);
      this.layer.addLayer(group);
    } else {
      this.routes.delete(id);
    }
    return group;
  }

  /** The layers of one route, or null when its geometry cannot be drawn. */
  build(feature) {
    const p = feature.properties || {};
    const id = String(feature.id);
    const main = routeParts(feature.geometry, this.light ? LIGHT_STEP_DEG : undefined);
    if (!main.length) return null;
    // Copies 360° east and west, as the basemap has, so that a route across
    // the antimeridian reads as one line on a Pacific-centred view.
    const parts = [...main, ...shifted(main, -360), ...shifted(main, 360)];
    const colour = commodityColour(p.commodity);
    const dashArray = CONFIDENCE_DASH[p.confidence] ?? null;
    if (this.light) return this.lightGroup(feature, main, parts, colour, dashArray);

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

  /** One route as a single canvas line, with its popup. */
  lightGroup(feature, main, parts, colour, dashArray) {
    this.canvas ??= L.canvas({ padding: 0.5, tolerance: 6 });
    const line = L.polyline(parts, {
      renderer: this.canvas, color: colour, weight: 2, opacity: 0.75, dashArray, className: 'nx-route',
    });
    return this.finish(L.featureGroup([line]), feature, main);
  }

  /** Gives a route's group its feature, bounds, middle and popup. */
  finish(group, feature, main) {
    group.feature = feature;
    /** The bounds of the route itself, without its copies 360° away. */
    group.routeBounds = L.latLngBounds(routeBounds(feature.geometry));
    const longest = main.reduce((a, b) => (b.length > a.length ? b : a));
    /** Where the popup opens when the route is shown from the feed. */
    group.middle = longest[Math.floor(longest.length / 2)];
    group.bindPopup(() => routePopup(group.feature, this.ctx), {
      maxWidth: 380, minWidth: 240, autoPanPadding: [20, 20], autoPanPaddingTopLeft: POPUP_PAD_TOP_LEFT, className: 'nx-leaflet-popup',
    });
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
    if (group && flash) this.flash(group);
  }

  /** Removes one route; returns its last known Feature, or undefined. */
  remove(id) {
    const group = this.routes.get(String(id));
    if (!group) return undefined;
    this.layer.removeLayer(group);
    this.routes.delete(String(id));
    return group.feature;
  }

  /** Briefly thickens and highlights a route's line. */
  flash(group) {
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
