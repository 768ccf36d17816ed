// Incidents on the map: one marker per incident, coloured by type, clustered
// in the browser by Leaflet.markercluster; or, when the server answers a
// dense view with cluster points ("clustered": true), one sized circle per
// cluster with its count. Keeps a registry id → marker for live updates and
// for tests (window.nexus.incidents).

import { el } from './dom.js';
import { pointLatLng } from './geo.js';
import { POPUP_PAD_TOP_LEFT, incidentPopup } from './popup.js';
import { INCIDENT_TYPES, TYPE_COLOURS, typeColour } from './vocab.js';

const { L } = window;

/** How long the ring that marks a live change stays, in milliseconds. */
const FLASH_MS = 2500;

/** 1234 → "1.2k", 2500000 → "2.5M". */
export function formatCount(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)}M`;
  if (n >= 1e4) return `${Math.round(n / 1e3)}k`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

/**
 * A CSS conic-gradient showing the share of each type in counts
 * ({type: n}); built from the fixed colour table and numbers only.
 */
function pieBackground(counts) {
  const entries = INCIDENT_TYPES
    .map((t) => [t, Number(counts?.[t]) || 0])
    .filter(([, n]) => n > 0);
  const known = entries.reduce((s, [, n]) => s + n, 0);
  const unknown = Object.entries(counts || {})
    .filter(([t]) => !INCIDENT_TYPES.includes(t))
    .reduce((s, [, n]) => s + (Number(n) || 0), 0);
  if (unknown > 0) entries.push(['other', unknown]);
  const total = known + unknown;
  if (!total) return '#6b7280';
  let at = 0;
  const stops = entries.map(([t, n]) => {
    const from = (at / total) * 360;
    at += n;
    const to = (at / total) * 360;
    return `${TYPE_COLOURS[t] || TYPE_COLOURS.other} ${from.toFixed(2)}deg ${to.toFixed(2)}deg`;
  });
  return `conic-gradient(${stops.join(', ')})`;
}

/** "attack 12, plot 3" for a cluster's accessible name. */
function breakdown(types) {
  return Object.entries(types || {})
    .filter(([, n]) => Number(n) > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
}

/** The accessible name of a cluster of count incidents. */
export function clusterName(count, types) {
  const detail = breakdown(types);
  return `${count} incident${count === 1 ? '' : 's'}${detail ? `: ${detail}` : ''}. Zoom in to see them.`;
}

/**
 * A divIcon whose element carries an accessible name (options.label):
 * Leaflet makes keyboard markers role=button, and a button needs a name.
 */
const NamedDivIcon = L.DivIcon.extend({
  createIcon(oldIcon) {
    const div = L.DivIcon.prototype.createIcon.call(this, oldIcon);
    if (this.options.label) div.setAttribute('aria-label', this.options.label);
    return div;
  },
});

/** A cluster icon: a ring split by type shares, the count in the middle. */
export function clusterIcon(count, types) {
  const size = count < 10 ? 30 : count < 100 ? 36 : count < 1000 ? 44 : 54;
  const ring = el('div', { class: 'nx-cluster-ring', style: { background: pieBackground(types) } },
    el('span', { class: 'nx-cluster-count', text: formatCount(count), 'aria-hidden': 'true' }));
  return new NamedDivIcon({
    html: ring, className: 'nx-cluster', iconSize: [size, size], label: clusterName(count, types),
  });
}

function versionOf(feature) {
  const v = Number(feature?.properties?.version);
  return Number.isFinite(v) ? v : 0;
}

/** The incident layers and their registry. */
export class IncidentLayer {
  /**
   * map: the Leaflet map; ctx: the popup context (canEdit, onEdit, onDelete).
   */
  constructor(map, ctx) {
    this.map = map;
    this.ctx = ctx;
    /** id → L.Marker, for the incidents drawn individually. */
    this.markers = new Map();
    /** True while the view shows the server's cluster points. */
    this.clustered = false;
    /** Incidents matching the filters in view, as the server counted them. */
    this.numberMatched = 0;
    /** Number of server cluster points drawn. */
    this.clusterCount = 0;
    this.cluster = L.markerClusterGroup({
      chunkedLoading: true,
      showCoverageOnHover: false,
      maxClusterRadius: 45,
      spiderfyOnMaxZoom: true,
      iconCreateFunction: (c) => {
        const types = {};
        for (const m of c.getAllChildMarkers()) {
          const t = m.feature?.properties?.type || 'other';
          types[t] = (types[t] || 0) + 1;
        }
        return clusterIcon(c.getChildCount(), types);
      },
    });
    this.summaries = L.layerGroup();
    /** The overlay to add to the map and the layers control. */
    this.layer = L.layerGroup([this.cluster, this.summaries]);
    this.flashes = L.layerGroup().addTo(map);
  }

  /**
   * Draws the answer of /api/view: the incidents themselves, or cluster
   * points when the server clustered them. Unchanged incidents (same id and
   * version) keep their marker, so an open popup survives a pan.
   * Returns the number of features drawn.
   */
  render(fc) {
    const features = Array.isArray(fc?.features) ? fc.features : [];
    this.numberMatched = Number.isFinite(fc?.numberMatched) ? fc.numberMatched : features.length;
    if (fc?.clustered) {
      this.clustered = true;
      this.cluster.clearLayers();
      this.markers.clear();
      this.summaries.clearLayers();
      for (const f of features) {
        const m = this.summaryMarker(f);
        if (m) this.summaries.addLayer(m);
      }
      this.clusterCount = this.summaries.getLayers().length;
      return this.clusterCount;
    }
    this.clustered = false;
    this.clusterCount = 0;
    this.summaries.clearLayers();
    const seen = new Set();
    const add = [];
    const remove = [];
    for (const f of features) {
      if (!f || f.id === undefined || f.id === null) continue;
      const id = String(f.id);
      seen.add(id);
      const old = this.markers.get(id);
      if (old && versionOf(old.feature) === versionOf(f) && versionOf(f) !== 0) continue;
      if (old) remove.push(old);
      const m = this.createMarker(f);
      if (m) {
        add.push(m);
        this.markers.set(id, m);
      } else {
        this.markers.delete(id);
      }
    }
    for (const [id, m] of this.markers) {
      if (!seen.has(id)) {
        remove.push(m);
        this.markers.delete(id);
      }
    }
    if (remove.length) this.cluster.removeLayers(remove);
    if (add.length) this.cluster.addLayers(add);
    return this.markers.size;
  }

  /** A marker for one incident, with its popup; null without a valid point. */
  createMarker(feature) {
    const latlng = pointLatLng(feature.geometry);
    if (!latlng) return null;
    const p = feature.properties || {};
    const id = String(feature.id);
    const dot = el('div', {
      class: `nx-dot prec-${p.precision || 'unknown'}`,
      style: { background: typeColour(p.type) },
      dataset: { id, type: p.type || 'other' },
    });
    const icon = L.divIcon({ html: dot, className: 'nx-marker', iconSize: [16, 16] });
    const title = typeof p.title === 'string' ? p.title : '';
    const marker = L.marker(latlng, { icon, title, alt: title, keyboard: true, riseOnHover: true });
    marker.feature = feature;
    marker.on('add', () => {
      const node = marker.getElement();
      if (node) node.dataset.id = id;
    });
    marker.bindPopup(() => incidentPopup(marker.feature, this.ctx), {
      maxWidth: 380, minWidth: 240, autoPanPadding: [20, 20], autoPanPaddingTopLeft: POPUP_PAD_TOP_LEFT, className: 'nx-leaflet-popup',
    });
    return marker;
  }

  /** A server cluster point: a sized circle with its count; click zooms in. */
  summaryMarker(feature) {
    const latlng = pointLatLng(feature?.geometry);
    if (!latlng) return null;
    const p = feature.properties || {};
    const count = Number(p.count) || 0;
    const marker = L.marker(latlng, {
      icon: clusterIcon(count, p.types),
      title: clusterName(count, p.types),
      keyboard: true,
    });
    marker.on('add', () => {
      const node = marker.getElement();
      if (node) node.dataset.count = String(count);
    });
    marker.on('click', () => {
      this.map.flyTo(latlng, Math.min(this.map.getZoom() + 2, this.map.getMaxZoom()));
    });
    return marker;
  }

  /** The marker of an incident, or undefined. */
  get(id) {
    return this.markers.get(String(id));
  }

  /**
   * Adds or replaces one incident (a live change or a saved form). Ignores a
   * version older than the one drawn. Returns false when the view is
   * server-clustered and the caller should reload it instead.
   */
  upsert(feature, { flash = false } = {}) {
    if (this.clustered) return false;
    const id = String(feature.id);
    const old = this.markers.get(id);
    if (old && versionOf(old.feature) > versionOf(feature)) return true;
    const wasOpen = old?.isPopupOpen?.();
    if (old) this.cluster.removeLayer(old);
    const marker = this.createMarker(feature);
    if (!marker) {
      this.markers.delete(id);
      return true;
    }
    this.markers.set(id, marker);
    this.cluster.addLayer(marker);
    if (wasOpen && this.map.hasLayer(marker)) marker.openPopup();
    if (flash) this.flash(marker.getLatLng());
    return true;
  }

  /** Removes one incident; returns its last known Feature, or undefined. */
  remove(id) {
    const marker = this.markers.get(String(id));
    if (!marker) return undefined;
    this.cluster.removeLayer(marker);
    this.markers.delete(String(id));
    return marker.feature;
  }

  /** Draws a short-lived ring at latlng to show where something changed. */
  flash(latlng) {
    const ring = L.circleMarker(latlng, {
      pane: 'flash', radius: 16, className: 'nx-flash', color: '#ffb000', weight: 4, fill: false, interactive: false,
    });
    this.flashes.addLayer(ring);
    setTimeout(() => this.flashes.removeLayer(ring), FLASH_MS);
  }

  /** Zooms until the incident is visible (out of its cluster) and opens its popup. */
  show(id) {
    const marker = this.markers.get(String(id));
    if (!marker) return false;
    if (!this.map.hasLayer(this.layer)) this.map.addLayer(this.layer);
    this.cluster.zoomToShowLayer(marker, () => marker.openPopup());
    return true;
  }
}
