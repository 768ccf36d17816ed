// The geometry part of the record form for a route: waypoints in the
// direction of travel, added by clicking the map (markers and routes let the
// clicks through while drawing), by place name or by typed coordinates;
// dragged, inserted between, removed. A MultiLineString being edited is
// kept as it is unless it is drawn again.

import { describeError } from './api.js';
import { clear, el } from './dom.js';
import { fitUncovered, setMapPicker, value } from './forms.js';
import { candidateLabel, geocode, parseLatLon } from './geocode.js';
import { routeParts } from './geo.js';
import { commodityColour } from './vocab.js';

const { L } = window;

/** The waypoints of a route in the record form (#record-form). */
export class RouteDrawing {
  constructor(form, map) {
    this.form = form;
    this.map = map;
    /** Waypoints: [{lon, lat, name}], in the direction of travel. */
    this.vertices = [];
    /** A MultiLineString being edited is kept as it is unless redrawn. */
    this.keptGeometry = null;
    this.drawing = false;
    this.preview = L.layerGroup();
    this.list = form.querySelector('#rec-waypoints');
    this.finishButton = form.querySelector('#rec-finish');
    this.status = form.querySelector('#rec-draw-status');
    if (!map.getPane('drawing')) map.createPane('drawing').style.zIndex = 660;

    this.search = {
      input: form.querySelector('#rec-wp-search'),
      status: form.querySelector('#rec-wp-status'),
      results: form.querySelector('#rec-wp-results'),
    };
    form.querySelector('#rec-wp-add').addEventListener('click', () => this.findWaypoint());
    this.search.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        this.findWaypoint();
      }
    });

    this.finishButton.addEventListener('click', () => this.setDrawing(!this.drawing));
    form.querySelector('#rec-undo').addEventListener('click', () => {
      this.vertices.pop();
      this.redraw();
    });
    form.querySelector('#rec-clear').addEventListener('click', () => {
      this.vertices = [];
      this.keptGeometry = null;
      this.setDrawing(true);
      this.redraw();
    });
    form.querySelector('#rec-commodity').addEventListener('change', () => this.redraw());
  }

  /** Shows the waypoints on the map; a new route starts in drawing mode. */
  start({ editing }) {
    this.preview.addTo(this.map);
    this.setDrawing(!editing);
    this.redraw();
  }

  reset() {
    this.vertices = [];
    this.keptGeometry = null;
  }

  fill(feature) {
    const p = feature.properties || {};
    const names = Array.isArray(p.waypoints) ? p.waypoints : [];
    const g = feature.geometry;
    if (g?.type === 'LineString') {
      this.vertices = g.coordinates.map((c, i) => ({ lon: c[0], lat: c[1], name: names[i] ?? '' }));
    } else if (g?.type === 'MultiLineString') {
      this.keptGeometry = g;
    }
  }

  setDrawing(on) {
    this.drawing = on;
    setMapPicker(this.map, on ? (ll) => this.addVertex(ll) : null);
    this.map.getContainer().classList.toggle('drawing-route', on);
    this.finishButton.textContent = on ? 'Finish drawing' : 'Add more waypoints';
    this.finishButton.setAttribute('aria-pressed', String(on));
    this.updateStatus();
  }

  addVertex(latlng, name = '') {
    const ll = L.latLng(latlng).wrap();
    this.keptGeometry = null;
    this.vertices.push({ lon: Number(ll.lng.toFixed(6)), lat: Number(ll.lat.toFixed(6)), name });
    this.redraw();
  }

  /**
   * Adds the waypoint typed in the search box: coordinates at once, a
   * place name through the geocoder (one candidate at once, several as a
   * list to choose from).
   */
  async findWaypoint() {
    const { input, status, results } = this.search;
    const text = input.value.trim();
    clear(results);
    if (!text) return;
    const typed = parseLatLon(text);
    if (typed) {
      this.addVertex([typed.lat, typed.lon]);
      this.showWaypoints();
      status.textContent = `Added waypoint ${this.vertices.length} at ${typed.lat}, ${typed.lon}.`;
      input.value = '';
      return;
    }
    status.textContent = 'Searching…';
    let found;
    try {
      found = await geocode(text, 5);
    } catch (err) {
      status.textContent = `Place search failed: ${describeError(err)}`;
      return;
    }
    if (!found.length) {
      status.textContent = `No place called “${text}”; try another spelling, or type "lat, lon".`;
      return;
    }
    const pick = (c) => {
      clear(results);
      this.addVertex([c.point[1], c.point[0]], c.name);
      this.showWaypoints();
      status.textContent = `Added waypoint ${this.vertices.length}: ${candidateLabel(c)}.`;
      input.value = '';
      input.focus();
    };
    status.textContent = `${found.length} places called “${text}”: choose one.`;
    for (const c of found) {
      results.append(el('li', {}, el('button', {
        type: 'button', class: 'candidate', text: candidateLabel(c), onclick: () => pick(c),
      })));
    }
    results.querySelector('button')?.focus();
  }

  /** Fits the map to the waypoints, beside the form. */
  showWaypoints() {
    fitUncovered(this.map, this.vertices.map((v) => [v.lat, v.lon]));
  }

  /** Puts a waypoint halfway between waypoints i and i + 1 (then drag it). */
  insertAfter(i) {
    const a = this.vertices[i];
    const b = this.vertices[i + 1];
    if (!a || !b) return;
    let dlon = b.lon - a.lon;
    if (dlon > 180) dlon -= 360;
    if (dlon < -180) dlon += 360;
    const mid = L.latLng((a.lat + b.lat) / 2, a.lon + dlon / 2).wrap();
    this.vertices.splice(i + 1, 0, { lon: Number(mid.lng.toFixed(6)), lat: Number(mid.lat.toFixed(6)), name: '' });
    this.redraw();
  }

  updateStatus() {
    const n = this.vertices.length;
    if (this.keptGeometry) {
      this.status.textContent = 'This route has several lines; they are kept as they are. Use "Clear waypoints" to draw it again as one line.';
    } else if (this.drawing) {
      this.status.textContent = n < 2
        ? `Click the map to add waypoints in the direction of travel (${n} so far, at least 2).`
        : `${n} waypoints. Click the map to add more, or finish drawing.`;
    } else {
      this.status.textContent = `${n} waypoints.`;
    }
  }

  /** Redraws the preview line and the waypoint list. */
  redraw() {
    this.preview.clearLayers();
    const colour = commodityColour(value(this.form, 'commodity'));
    const coords = this.vertices.map((v) => [v.lon, v.lat]);
    const geometry = this.keptGeometry || (coords.length >= 2 ? { type: 'LineString', coordinates: coords } : null);
    if (geometry) {
      L.polyline(routeParts(geometry), { color: colour, weight: 4, dashArray: '6 6', interactive: false }).addTo(this.preview);
    }
    // Waypoints are markers in a pane over everything, dragged to move.
    this.vertices.forEach((v, i) => {
      const dot = el('div', { class: 'nx-wp-handle', style: { borderColor: colour }, text: String(i + 1) });
      const m = L.marker([v.lat, v.lon], {
        pane: 'drawing',
        draggable: !this.keptGeometry,
        keyboard: false,
        title: `Waypoint ${i + 1}${v.name ? `: ${v.name}` : ''} (drag to move)`,
        icon: L.divIcon({ html: dot, className: 'nx-wp', iconSize: [22, 22] }),
      });
      m.on('dragend', () => {
        const ll = m.getLatLng().wrap();
        this.vertices[i].lon = Number(ll.lng.toFixed(6));
        this.vertices[i].lat = Number(ll.lat.toFixed(6));
        this.redraw();
      });
      m.on('click', (e) => L.DomEvent.stopPropagation(e));
      m.addTo(this.preview);
    });

    clear(this.list);
    this.vertices.forEach((v, i) => {
      const id = `rec-wp-${i}`;
      this.list.append(el('li', {},
        el('label', { for: id, text: `${i + 1}. ${v.lat.toFixed(4)}, ${v.lon.toFixed(4)}` }),
        el('input', {
          id,
          type: 'text',
          value: v.name,
          placeholder: 'name (optional)',
          'data-field': `waypoints.${i}`,
          oninput: (e) => { this.vertices[i].name = e.target.value; },
        }),
        el('button', {
          type: 'button',
          class: 'link danger',
          'aria-label': `Remove waypoint ${i + 1}`,
          text: 'Remove',
          onclick: () => {
            this.vertices.splice(i, 1);
            this.redraw();
          },
        }),
        i < this.vertices.length - 1 ? el('button', {
          type: 'button',
          class: 'link',
          'aria-label': `Insert after waypoint ${i + 1} (before ${i + 2})`,
          text: 'Insert after',
          onclick: () => this.insertAfter(i),
        }) : null,
        el('span', { class: 'field-error', 'data-error-for': `waypoints.${i}` })));
    });
    this.updateStatus();
  }

  teardown() {
    setMapPicker(this.map, null);
    this.map.getContainer().classList.remove('drawing-route');
    clear(this.search.results);
    this.search.status.textContent = '';
    this.drawing = false;
    this.preview.clearLayers();
    this.map.removeLayer(this.preview);
  }

  /** Why the record cannot be saved yet, or "" (then drawing stops). */
  missing() {
    if (!this.keptGeometry && this.vertices.length < 2) {
      this.setDrawing(true);
      return 'A route needs at least 2 waypoints: click the map to add them.';
    }
    this.setDrawing(false);
    return '';
  }

  /** The geometry drawn; sets props.waypoints to the waypoint names. */
  collect(props, editing) {
    if (this.keptGeometry) {
      const old = editing?.properties?.waypoints;
      if (Array.isArray(old)) props.waypoints = old;
      return this.keptGeometry;
    }
    const names = this.vertices.map((v) => v.name.trim());
    if (names.some(Boolean)) props.waypoints = names;
    return { type: 'LineString', coordinates: this.vertices.map((v) => [v.lon, v.lat]) };
  }
}
