// The form to add or edit an incident. The point comes from a click on the
// map or from a place search; the record goes to the API as a GeoJSON
// Feature (POST to add, PUT with If-Match to replace), and a 422 answer's
// field errors appear beside the fields they name.

import { describeError, getJSON, request } from './api.js';
import {
  SourcesEditor, clearErrors, countValue, deleteItem, etagOf, fitUncovered, listValue, setMapPicker, setValue, showErrors,
  value,
} from './forms.js';
import { reverse, setupPlaceSearch } from './geocode.js';
import { notify } from './notice.js';
import { PRECISIONS } from './vocab.js';

const { L } = window;

const ITEMS = '/api/collections/incidents/items';

/** The incident form (#incident-form) in the form panel. */
export class IncidentForm {
  /**
   * opts: {form, panel (FormPanel), map, onSaved(feature), onDeleted(id)}.
   */
  constructor({ form, panel, map, onSaved, onDeleted }) {
    this.form = form;
    this.panel = panel;
    this.map = map;
    this.onSaved = onSaved;
    this.onDeleted = onDeleted;
    this.editing = null;
    this.etag = null;
    this.marker = null;
    this.sources = new SourcesEditor(form.querySelector('#i-sources'), form.querySelector('#i-add-source'));
    this.pointHint = form.querySelector('#i-point-hint');

    setupPlaceSearch({
      input: form.querySelector('#i-geocode'),
      button: form.querySelector('#i-geocode-go'),
      results: form.querySelector('#i-geocode-results'),
      status: form.querySelector('#i-geocode-status'),
    }, (c) => {
      this.setPoint(L.latLng(c.point[1], c.point[0]), { fly: true, lookup: false });
      setValue(form, 'place', [c.name, c.admin1].filter(Boolean).join(', '));
      if (c.country) setValue(form, 'country', c.country);
      if (PRECISIONS.includes(c.precision)) setValue(form, 'precision', c.precision);
    });

    for (const id of ['i-lon', 'i-lat']) {
      form.querySelector(`#${id}`).addEventListener('change', () => {
        const lon = Number(value(form, 'lon'));
        const lat = Number(value(form, 'lat'));
        if (value(form, 'lon') && value(form, 'lat') && Number.isFinite(lon) && Number.isFinite(lat)) {
          this.setPoint(L.latLng(lat, lon), { fly: false, lookup: false, fromInputs: true });
        }
      });
    }

    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    form.querySelector('.cancel').addEventListener('click', () => this.panel.close());
    form.addEventListener('nexus-close', () => this.teardown());
  }

  /** Opens an empty form; latlng, when given, is the point. */
  openNew(latlng) {
    this.reset();
    this.editing = null;
    this.etag = null;
    this.panel.open(this.form, 'Add incident');
    this.form.querySelector('button[type=submit]').textContent = 'Add incident';
    setMapPicker(this.map, (ll) => this.setPoint(ll, { fly: false, lookup: true }));
    if (latlng) this.setPoint(latlng, { fly: false, lookup: true });
  }

  /** Loads the latest version of an incident and opens it for editing. */
  async openEdit(id) {
    let res;
    try {
      res = await request(`${ITEMS}/${encodeURIComponent(id)}`);
    } catch (err) {
      notify(`Cannot load the incident: ${describeError(err)}`, 'error');
      return;
    }
    const feature = res.data;
    this.reset();
    this.editing = feature;
    this.etag = etagOf(res.headers, feature);
    this.fill(feature);
    this.panel.open(this.form, 'Edit incident');
    this.form.querySelector('button[type=submit]').textContent = 'Save changes';
    setMapPicker(this.map, (ll) => this.setPoint(ll, { fly: false, lookup: false }));
    // The point being edited moves out from under the form, at this zoom.
    if (this.marker) fitUncovered(this.map, [this.marker.getLatLng()], this.map.getZoom());
  }

  reset() {
    this.form.reset();
    clearErrors(this.form);
    this.sources.set([]);
    this.form.querySelector('#i-geocode-results').replaceChildren();
    this.form.querySelector('#i-geocode-status').textContent = '';
    this.pointHint.textContent = 'Click the map or search a place to set the point.';
    this.removeMarker();
  }

  fill(feature) {
    const p = feature.properties || {};
    const f = this.form;
    for (const key of ['title', 'type', 'subtype', 'date', 'place', 'country', 'precision', 'summary', 'external_id']) {
      setValue(f, key, p[key] ?? '');
    }
    setValue(f, 'actors', (p.actors || []).join(', '));
    setValue(f, 'tags', (p.tags || []).join(', '));
    setValue(f, 'killed', Number.isInteger(p.killed) ? p.killed : '');
    setValue(f, 'wounded', Number.isInteger(p.wounded) ? p.wounded : '');
    this.sources.set(p.sources || []);
    const c = feature.geometry?.coordinates;
    if (Array.isArray(c)) this.setPoint(L.latLng(c[1], c[0]), { fly: false, lookup: false, exact: c });
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
    this.pointHint.textContent = 'Point set. Click the map or drag the marker to move it.';
    // Beside the form, never under it (on a phone, above the sheet).
    if (fly) fitUncovered(this.map, [ll], Math.max(this.map.getZoom(), 10));
    if (lookup) {
      reverse(ll.lng, ll.lat).then(({ country, place }) => {
        if (country && !value(this.form, 'country')) setValue(this.form, 'country', country);
        if (place) this.pointHint.textContent = `Point set, near ${place}. Click the map or drag the marker to move it.`;
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

  /** The Feature the form describes. */
  collect() {
    const f = this.form;
    const props = {
      title: value(f, 'title'),
      type: value(f, 'type'),
      date: value(f, 'date'),
      actors: listValue(f, 'actors'),
      tags: listValue(f, 'tags'),
      killed: countValue(f, 'killed'),
      wounded: countValue(f, 'wounded'),
      sources: this.sources.get(),
    };
    for (const key of ['subtype', 'place', 'precision', 'summary', 'external_id']) {
      const v = value(f, key);
      if (v) props[key] = v;
    }
    const country = value(f, 'country').toUpperCase();
    if (country) props.country = country;
    const lon = value(f, 'lon');
    const lat = value(f, 'lat');
    const geometry = lon !== '' && lat !== ''
      ? { type: 'Point', coordinates: [Number(lon), Number(lat)] }
      : null;
    const feature = { type: 'Feature', geometry, properties: props };
    if (this.editing) feature.id = this.editing.id;
    return feature;
  }

  async submit() {
    const feature = this.collect();
    if (!feature.geometry) {
      showErrors(this.form, [{ field: 'geometry', message: 'Click the map or search a place to set the point.' }]);
      return;
    }
    const button = this.form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const editing = this.editing;
      const res = editing
        ? await request(`${ITEMS}/${encodeURIComponent(editing.id)}`, {
          method: 'PUT', body: feature, ifMatch: this.etag, contentType: 'application/geo+json',
        })
        : await request(ITEMS, { method: 'POST', body: feature, contentType: 'application/geo+json' });
      let saved = res.data && typeof res.data === 'object' ? res.data : null;
      if (!saved) {
        const location = res.headers.get('Location');
        saved = location ? await getJSON(location) : null;
      }
      this.panel.close();
      notify(editing ? 'Incident saved.' : 'Incident added.');
      if (saved) this.onSaved(saved);
    } catch (err) {
      this.showFailure(err);
    } finally {
      button.disabled = false;
    }
  }

  showFailure(err) {
    if (err?.status === 422 || (err?.status === 400 && err.errors?.length)) {
      showErrors(this.form, err.errors, err.errors?.length ? '' : describeError(err));
    } else if (err?.status === 412) {
      showErrors(this.form, [], 'Someone else changed this incident since you opened it. Close the form and open it again to see their version, then re-apply your edits.');
    } else if (err?.status === 401 || err?.status === 403) {
      showErrors(this.form, [], `${describeError(err)}. Adding and editing needs an editor token (use "Sign in").`);
    } else {
      showErrors(this.form, err?.errors || [], describeError(err));
    }
  }

  /** Asks, then deletes an incident (with If-Match of the version shown). */
  async remove(feature) {
    const title = feature?.properties?.title || feature?.id;
    // eslint-disable-next-line no-alert
    if (!window.confirm(`Delete the incident “${title}”? It is kept in the history but leaves the map.`)) return;
    try {
      await deleteItem(`${ITEMS}/${encodeURIComponent(feature.id)}`, feature);
      notify('Incident deleted.');
      this.onDeleted(String(feature.id));
    } catch (err) {
      notify(`Delete failed: ${describeError(err)}`, 'error');
    }
  }
}
