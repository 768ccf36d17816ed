// Incidents on the map: one marker per incident, coloured by type, clustered
// in the browser by Leaflet.markercluster; or, when the server answers a
// dense view with cluster points ("clustered": true), one sized circle per
// cluster with its count. Keeps a registry id → marker for live updates and
// for tests (window.nexus.incidents).

import { el } from './dom.js';
import { formatCount } from './format.js';
import { newer, pointLatLng, versionOf } from './geo.js';
import { POPUP_PAD_TOP_LEFT, incidentPopup } from './popup.js';
import { TYPE_COLOURS, typeColour } from './vocab.js';

const { L } = window;

/** How long the ring that marks a live change stays, in milliseconds. */
const FLASH_MS = 2500;
/** Options of an incident's popup. */
const POPUP_OPTIONS = {
  maxWidth: 380, minWidth: 240, autoPanPadding: [20, 20], autoPanPaddingTopLeft: POPUP_PAD_TOP_LEFT, className: 'nx-leaflet-popup',
};
/** How long show() waits for a marker in the chunked drawing. */
const OPEN_WITHIN_MS = 5000;

/** The count at which a cluster the browser makes reaches full size. */
const LOCAL_LARGEST = 300;

/** Most slices a cluster's ring shows: the leading types, then the rest. */
const MAX_SLICES = 3;

/** The colour of the slice that gathers the remaining types. */
const REST_COLOUR = '#b8b8b8';

/**
 * The type most of counts ({type: n}) have, or 'other' for none.
 */
export function dominantType(counts) {
  let best = 'other';
  let top = 0;
  for (const [t, n] of Object.entries(counts || {})) {
    if ((Number(n) || 0) > top) {
      top = Number(n);
      best = Object.hasOwn(TYPE_COLOURS, t) ? t : 'other';
    }
  }
  return best;
}

/**
 * The slices of a cluster's ring, largest first: the leading types, and
 * the remaining ones gathered into one grey slice, MAX_SLICES at most.
 * Returns [[colour, share]], shares adding up to 1.
 */
export function clusterSlices(counts) {
  const entries = Object.entries(counts || {})
    .map(([t, n]) => [Object.hasOwn(TYPE_COLOURS, t) ? t : 'other', Number(n) || 0])
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
  const total = entries.reduce((s, [, n]) => s + n, 0);
  if (!total) return [[TYPE_COLOURS.other, 1]];
  const lead = entries.length > MAX_SLICES ? entries.slice(0, MAX_SLICES - 1) : entries;
  const slices = lead.map(([t, n]) => [TYPE_COLOURS[t] || TYPE_COLOURS.other, n / total]);
  const rest = entries.slice(lead.length).reduce((s, [, n]) => s + n, 0);
  if (rest > 0) slices.push([REST_COLOUR, rest / total]);
  return slices;
}

/** A CSS conic-gradient of the slices, built from colours and numbers only. */
function ringBackground(counts) {
  let at = 0;
  const stops = clusterSlices(counts).map(([colour, share]) => {
    const from = at * 360;
    at += share;
    return `${colour} ${from.toFixed(1)}deg ${(at * 360).toFixed(1)}deg`;
  });
  return `conic-gradient(${stops.join(', ')})`;
}

/**
 * The diameter of a cluster in pixels: its area grows with its share of
 * the largest cluster in view, so that the map reads as density.
 */
export function clusterSize(count, largest) {
  const share = largest > 0 ? Math.min(1, count / largest) : 1;
  return Math.round(20 + 44 * Math.sqrt(share));
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

/**
 * A cluster icon: a disc of the dominant type's colour, ringed by the
 * shares of the leading types, the count in the middle; its size follows
 * its share of the largest cluster in view.
 */
export function clusterIcon(count, types, largest = count) {
  const size = clusterSize(count, largest);
  const dominant = dominantType(types);
  const ring = el('div', { class: 'nx-cluster-ring', style: { background: ringBackground(types) }, dataset: { dominant } },
    el('span', {
      class: 'nx-cluster-count',
      text: formatCount(count),
      'aria-hidden': 'true',
      style: { background: TYPE_COLOURS[dominant] || TYPE_COLOURS.other },
    }));
  return new NamedDivIcon({
    html: ring, className: 'nx-cluster', iconSize: [size, size], label: clusterName(count, types),
  });
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
      // The last chunk's markers reach the map after this call returns.
      chunkProgress: (done, total) => { if (done === total) setTimeout(() => this.openShown()); },
      showCoverageOnHover: false,
      maxClusterRadius: 45,
      spiderfyOnMaxZoom: true,
      iconCreateFunction: (c) => {
        const types = {};
        for (const m of c.getAllChildMarkers()) {
          const t = m.feature?.properties?.type || 'other';
          types[t] = (types[t] || 0) + 1;
        }
        return clusterIcon(c.getChildCount(), types, Math.max(c.getChildCount(), LOCAL_LARGEST));
      },
    });
    this.summaries = L.layerGroup();
    /** The overlay to add to the map and the layers control. */
    this.layer = L.layerGroup([this.cluster, this.summaries]);
    this.flashes = L.layerGroup().addTo(map);
    /** The incident show() is opening: { id, until }, or null. */
    this.opening = null;
    /** The popup show() opened over a group, or null. */
    this.placePopup = null;
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
      const largest = features.reduce((m, f) => Math.max(m, Number(f?.properties?.count) || 0), 0);
      for (const f of features) {
        const m = this.summaryMarker(f, largest);
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
    this.openShown();
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
    marker.bindPopup(() => incidentPopup(marker.feature, this.ctx), POPUP_OPTIONS);
    return marker;
  }

  /** A server cluster point: a sized circle with its count; click zooms in. */
  summaryMarker(feature, largest) {
    const latlng = pointLatLng(feature?.geometry);
    if (!latlng) return null;
    const p = feature.properties || {};
    const count = Number(p.count) || 0;
    const marker = L.marker(latlng, {
      icon: clusterIcon(count, p.types, largest),
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
   * Adds or replaces one incident (a live change or a saved form). Keeps the
   * marker drawn when its version is the same or newer, so a popup being
   * opened on it (the form's save and its own live echo race) stays open. Returns false when the view is
   * server-clustered and the caller should reload it instead.
   */
  upsert(feature, { flash = false } = {}) {
    if (this.clustered) return false;
    const id = String(feature.id);
    const old = this.markers.get(id);
    if (old && !newer(feature, old.feature)) {
      if (flash) this.flash(old.getLatLng());
      return true;
    }
    const popup = old && this.openPopupOf(old);
    // A popup with its history expanded shows the history again, as the
    // record now has it (a restore, or anyone's edit, makes a new version).
    const historyOpen = !!popup?.getElement()?.querySelector('.nx-history-button[aria-expanded="true"]');
    if (old) this.cluster.removeLayer(old);
    const marker = this.createMarker(feature);
    if (!marker) {
      this.markers.delete(id);
      return true;
    }
    this.markers.set(id, marker);
    this.cluster.addLayer(marker);
    if (popup) {
      this.show(id);
      if (historyOpen) this.openPopupOf(marker)?.getElement()?.querySelector('.nx-history-button')?.click();
    }
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

  /**
   * Opens the incident's popup: on its marker when the marker is drawn on
   * its own, else over the group that holds it, at the incident's place.
   * A marker still waiting in the chunked drawing gets it once drawn.
   */
  show(id) {
    const marker = this.markers.get(String(id));
    if (!marker) return false;
    if (!this.map.hasLayer(this.layer)) this.map.addLayer(this.layer);
    this.opening = { id: String(id), until: Date.now() + OPEN_WITHIN_MS };
    this.openShown();
    return true;
  }

  /** The open popup of an incident's marker, on it or over its group; or null. */
  openPopupOf(marker) {
    if (marker.isPopupOpen()) return marker.getPopup();
    return this.placePopup?.isOpen() && this.placePopup._source === marker ? this.placePopup : null;
  }

  /** Opens the popup show() asked for, once the cluster group holds its marker. */
  openShown() {
    if (!this.opening) return;
    const marker = this.markers.get(this.opening.id);
    if (!marker || Date.now() > this.opening.until) {
      this.opening = null;
      return;
    }
    if (!this.cluster.hasLayer(marker)) return;
    this.opening = null;
    if (this.map.hasLayer(marker) && marker.getElement()) {
      marker.openPopup();
      return;
    }
    this.placePopup = L.popup(POPUP_OPTIONS, marker).setLatLng(marker.getLatLng())
      .setContent(() => incidentPopup(marker.feature, this.ctx))
      .openOn(this.map);
  }
}
