// The geometry part of the record form for an incident: one point, set by a
// click on the map, a place search or typed coordinates, shown as a
// draggable marker. A new point asks the server for its country and nearest
// place to fill the fields left empty.

import { fitUncovered, setMapPicker, setValue, value } from './forms.js';
import { reverse, setupPlaceSearch } from './geocode.js';
import { PRECISIONS } from './vocab.js';

const { L } = window;

const HINT = 'Click the map or search a place to set the point.';

/** The point of an incident in the record form (#record-form). */
export class PointEditor {
  constructor(form, map) {
    this.form = form;
    this.map = map;
    this.marker = null;
    this.hint = form.querySelector('#rec-point-hint');
    this.results = form.querySelector('#rec-geocode-results');
    this.status = form.querySelector('#rec-geocode-status');

    setupPlaceSearch({
      input: form.querySelector('#rec-geocode'),
      button: form.querySelector('#rec-geocode-go'),
      results: this.results,
      status: this.status,
    }, (c) => {
      this.setPoint(L.latLng(c.point[1], c.point[0]), { fly: true, lookup: false });
      setValue(form, 'place', [c.name, c.admin1].filter(Boolean).join(', '));
      if (c.country) setValue(form, 'country', c.country);
      if (PRECISIONS.includes(c.precision)) setValue(form, 'precision', c.precision);
    });

    for (const id of ['rec-lon', 'rec-lat']) {
      form.querySelector(`#${id}`).addEventListener('change', () => {
        const lon = Number(value(form, 'lon'));
        const lat = Number(value(form, 'lat'));
        if (value(form, 'lon') && value(form, 'lat') && Number.isFinite(lon) && Number.isFinite(lat)) {
          this.setPoint(L.latLng(lat, lon), { fly: false, lookup: false, fromInputs: true });
        }
      });
    }
  }

  /** Takes the map's clicks; latlng, when given, is a new record's point. */
  start({ editing, latlng }) {
    setMapPicker(this.map, (ll) => this.setPoint(ll, { fly: false, lookup: !editing }));
    if (latlng) this.setPoint(latlng, { fly: false, lookup: true });
    // The point being edited moves out from under the form, at this zoom.
    if (editing && this.marker) fitUncovered(this.map, [this.marker.getLatLng()], this.map.getZoom());
  }

  reset() {
    this.results.replaceChildren();
    this.status.textContent = '';
    this.hint.textContent = HINT;
    this.removeMarker();
  }

  fill(feature) {
    const c = feature.geometry?.coordinates;
    if (Array.isArray(c)) this.setPoint(L.latLng(c[1], c[0]), { fly: false, lookup: false, exact: c });
  }

  /** Why the record cannot be saved yet, or "". */
  missing() {
    return value(this.form, 'lon') !== '' && value(this.form, 'lat') !== '' ? '' : HINT;
  }

  /** The Point the inputs hold. */
  collect() {
    return { type: 'Point', coordinates: [Number(value(this.form, 'lon')), Number(value(this.form, 'lat'))] };
  }

  /**
   * Sets the point: inputs, a draggable marker, optionally flies there and
   * asks the server for the country and nearest place to fill empty fields.
   * exact: the original [lon, lat], written to the inputs as they are.
   */
  setPoint(latlng, { fly = false, lookup = false, exact = null, fromInputs = false } = {}) {
    const ll = exact ? L.latLng(exact[1], exact[0]) : latlng.wrap();
    if (!fromInputs) {
      setValue(this.form, 'lon', exact ? exact[0] : Number(ll.lng.toFixed(6)));
      setValue(this.form, 'lat', exact ? exact[1] : Number(ll.lat.toFixed(6)));
    }
    if (!this.marker) {
      this.marker = L.marker(ll, { draggable: true, keyboard: false, title: 'New point: drag to move', zIndexOffset: 1000 }).addTo(this.map);
      this.marker.on('dragend', () => this.setPoint(this.marker.getLatLng(), { lookup: false }));
    } else {
      this.marker.setLatLng(ll);
    }
    this.hint.textContent = 'Point set. Click the map or drag the marker to move it.';
    // Beside the form, never under it (on a phone, above the sheet).
    if (fly) fitUncovered(this.map, [ll], Math.max(this.map.getZoom(), 10));
    if (lookup) {
      reverse(ll.lng, ll.lat).then(({ country, place }) => {
        if (country && !value(this.form, 'country')) setValue(this.form, 'country', country);
        if (place) this.hint.textContent = `Point set, near ${place}. Click the map or drag the marker to move it.`;
      }).catch(() => {});
    }
  }

  removeMarker() {
    if (this.marker) this.map.removeLayer(this.marker);
    this.marker = null;
  }

  teardown() {
    setMapPicker(this.map, null);
    this.removeMarker();
  }
}
