// The one form to add or edit a record of either collection. What differs
// between incidents and routes is data (COLLECTIONS below: the fields, the
// words) and the geometry editor (a point, or waypoints drawn on the map);
// opening, filling, saving (POST, or PUT with If-Match), showing a failure
// beside the fields it names, and deleting are written once.

import { describeError, getJSON, request } from './api.js';
import {
  SourcesEditor, checked, clearErrors, countValue, deleteItem, etagOf, listValue, setChecked, setValue, showErrors,
  value,
} from './forms.js';
import { notify } from './notice.js';
import { PointEditor } from './point-editor.js';
import { RouteDrawing } from './route-drawing.js';

/**
 * Per collection: the noun in messages, the geometry fieldset's legend, the
 * property that names a record, the text fields always sent (the API judges
 * them when empty), the ones sent only when filled, the count fields, the
 * ones the form has no field for but an edit keeps, and the geometry editor.
 */
const COLLECTIONS = {
  incidents: {
    noun: 'incident',
    legend: 'Location',
    label: 'title',
    required: ['title', 'type', 'date'],
    optional: ['subtype', 'place', 'precision', 'summary', 'external_id'],
    counts: ['killed', 'wounded'],
    upper: ['country'],
    kept: [],
    Geometry: PointEditor,
  },
  routes: {
    noun: 'route',
    legend: 'Waypoints, in the direction of travel',
    label: 'name',
    required: ['name', 'commodity'],
    optional: ['mode', 'confidence', 'active_from', 'active_to', 'summary', 'external_id'],
    counts: [],
    upper: [],
    kept: ['precision'],
    Geometry: RouteDrawing,
  },
};

/** The properties every collection's form edits as lists. */
const LISTS = ['actors', 'tags'];

const itemsURL = (collection) => `/api/collections/${collection}/items`;

/** The record form (#record-form) in the form panel, for incidents and routes. */
export class RecordForm {
  /**
   * opts: {form, panel (FormPanel), map, onSaved(collection, feature),
   * onDeleted(collection, id)}.
   */
  constructor({ form, panel, map, onSaved, onDeleted }) {
    this.form = form;
    this.panel = panel;
    this.map = map;
    this.onSaved = onSaved;
    this.onDeleted = onDeleted;
    this.collection = 'incidents';
    this.editing = null;
    this.etag = null;
    this.sources = new SourcesEditor(form.querySelector('#rec-sources'), form.querySelector('#rec-add-source'));
    this.editors = Object.fromEntries(Object.entries(COLLECTIONS).map(([c, spec]) => [c, new spec.Geometry(form, map)]));
    this.legend = form.querySelector('#rec-geometry-legend');
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    form.querySelector('.cancel').addEventListener('click', () => this.panel.close());
    form.addEventListener('nexus-close', () => this.geometry.teardown());
  }

  get spec() {
    return COLLECTIONS[this.collection];
  }

  get geometry() {
    return this.editors[this.collection];
  }

  /** Opens an empty form for a new record; latlng, when given, is an incident's point. */
  openNew(collection, latlng) {
    this.prepare(collection, null, null);
    this.open(`Add ${this.spec.noun}`, `Add ${this.spec.noun}`);
    this.geometry.start({ editing: false, latlng });
  }

  /** Loads the latest version of a record and opens it for editing. */
  async openEdit(collection, id) {
    let res;
    try {
      res = await request(`${itemsURL(collection)}/${encodeURIComponent(id)}`);
    } catch (err) {
      notify(`Cannot load the ${COLLECTIONS[collection].noun}: ${describeError(err)}`, 'error');
      return;
    }
    const feature = res.data;
    this.prepare(collection, feature, etagOf(res.headers, feature));
    this.fill(feature);
    this.open(`Edit ${this.spec.noun}`, 'Save changes');
    this.geometry.start({ editing: true });
  }

  /** Empties the form and shows the parts of collection's form only. */
  prepare(collection, editing, etag) {
    if (!COLLECTIONS[collection]) throw new Error(`no form for ${collection}`);
    // A form open for another record lets go of the map first.
    if (this.panel.current === this.form) this.geometry.teardown();
    this.collection = collection;
    this.editing = editing;
    this.etag = etag;
    this.form.dataset.collection = collection;
    for (const part of this.form.querySelectorAll('[data-only]')) part.hidden = part.dataset.only !== collection;
    this.legend.textContent = this.spec.legend;
    this.form.reset();
    clearErrors(this.form);
    this.sources.set([]);
    this.geometry.reset();
  }

  open(title, saveLabel) {
    this.panel.open(this.form, title);
    this.form.querySelector('button[type=submit]').textContent = saveLabel;
  }

  fill(feature) {
    const p = feature.properties || {};
    const { required, optional, counts, upper } = this.spec;
    for (const key of [...required, ...optional, ...upper]) setValue(this.form, key, p[key] ?? '');
    for (const key of LISTS) setValue(this.form, key, (p[key] || []).join(', '));
    for (const key of counts) setValue(this.form, key, Number.isInteger(p[key]) ? p[key] : '');
    setChecked(this.form, 'sensitive', p.sensitive === true);
    this.sources.set(p.sources || []);
    this.geometry.fill(feature);
  }

  /** The Feature the form describes, its geometry from the geometry editor. */
  collect() {
    const f = this.form;
    const { required, optional, counts, upper, kept } = this.spec;
    const props = {};
    for (const key of required) props[key] = value(f, key);
    for (const key of LISTS) props[key] = listValue(f, key);
    for (const key of counts) props[key] = countValue(f, key);
    props.sources = this.sources.get();
    for (const key of optional) {
      const v = value(f, key);
      if (v) props[key] = v;
    }
    for (const key of upper) {
      const v = value(f, key).toUpperCase();
      if (v) props[key] = v;
    }
    if (checked(f, 'sensitive')) props.sensitive = true;
    for (const key of kept) {
      const v = this.editing?.properties?.[key];
      if (v) props[key] = v;
    }
    const geometry = this.geometry.collect(props, this.editing);
    const feature = { type: 'Feature', geometry, properties: props };
    if (this.editing) feature.id = this.editing.id;
    return feature;
  }

  async submit() {
    const missing = this.geometry.missing();
    if (missing) {
      showErrors(this.form, [{ field: 'geometry', message: missing }]);
      return;
    }
    const feature = this.collect();
    const { collection, editing } = this;
    const { noun } = this.spec;
    const items = itemsURL(collection);
    const button = this.form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const res = editing
        ? await request(`${items}/${encodeURIComponent(editing.id)}`, {
          method: 'PUT', body: feature, ifMatch: this.etag, contentType: 'application/geo+json',
        })
        : await request(items, { method: 'POST', body: feature, contentType: 'application/geo+json' });
      let saved = res.data && typeof res.data === 'object' ? res.data : null;
      if (!saved) {
        const location = res.headers.get('Location');
        saved = location ? await getJSON(location) : null;
      }
      this.panel.close();
      notify(`${noun[0].toUpperCase()}${noun.slice(1)} ${editing ? 'saved' : 'added'}.`);
      if (saved) this.onSaved(collection, saved);
    } catch (err) {
      this.showFailure(err);
    } finally {
      button.disabled = false;
    }
  }

  /** Shows why a save failed: field errors beside their fields, else one message. */
  showFailure(err) {
    const errors = err?.errors || [];
    if (err?.status === 412) {
      showErrors(this.form, [], `Someone else changed this ${this.spec.noun} since you opened it. Close the form and open it again to see their version, then re-apply your edits.`);
    } else if (err?.status === 401 || err?.status === 403) {
      showErrors(this.form, [], `${describeError(err)}. Adding and editing needs an editor token (use "Sign in").`);
    } else {
      const beside = errors.length && (err?.status === 422 || err?.status === 400);
      showErrors(this.form, errors, beside ? '' : describeError(err));
    }
  }

  /** Asks, then deletes a record (with If-Match of the version shown). */
  async remove(collection, feature) {
    const { noun, label } = COLLECTIONS[collection];
    const name = feature?.properties?.[label] || feature?.id;
    // eslint-disable-next-line no-alert
    if (!window.confirm(`Delete the ${noun} “${name}”? It is kept in the history but leaves the map.`)) return;
    try {
      await deleteItem(`${itemsURL(collection)}/${encodeURIComponent(feature.id)}`, feature);
      notify(`${noun[0].toUpperCase()}${noun.slice(1)} deleted.`);
      this.onDeleted(collection, String(feature.id));
    } catch (err) {
      notify(`Delete failed: ${describeError(err)}`, 'error');
    }
  }
}
