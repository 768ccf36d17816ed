// What the record form and its geometry editors use: the side panel,
// the map-click picker, field errors from a 422 problem shown beside the
// matching fields, and the editor of a record's sources.

import { request } from './api.js';
import { clear, el, splitList } from './dom.js';

const { L } = window;

/**
 * The form panel (#form-panel): shows one form at a time, remembers what had
 * focus to give it back on close. onClose runs after closing.
 */
export class FormPanel {
  constructor(panel, heading) {
    this.panel = panel;
    this.heading = heading;
    this.current = null;
    this.returnFocus = null;
    // On a phone the panel is a sheet over the map: "Show map" folds it
    // down to its heading (to draw on the map), "Show form" brings it back.
    this.foldButton = panel.querySelector('#form-fold');
    this.foldButton?.addEventListener('click', () => this.fold(!this.folded));
  }

  get folded() {
    return this.panel.classList.contains('folded');
  }

  /** Folds the sheet down to its heading (true) or opens it again. */
  fold(on) {
    this.panel.classList.toggle('folded', on);
    if (!this.foldButton) return;
    this.foldButton.textContent = on ? 'Show form' : 'Show map';
    this.foldButton.setAttribute('aria-expanded', String(!on));
  }

  /** Shows form with a heading; closes any other form first. */
  open(form, title) {
    if (this.current && this.current !== form) this.close();
    this.returnFocus = document.activeElement;
    this.current = form;
    for (const f of this.panel.querySelectorAll('form')) f.hidden = f !== form;
    this.heading.textContent = title;
    this.fold(false);
    this.panel.hidden = false;
    document.body.classList.add('form-open');
    const first = [...form.querySelectorAll('input:not([type=hidden]), select, textarea')].find((n) => !n.closest('[hidden]'));
    first?.focus({ preventScroll: false });
  }

  /** Hides the panel and tells the form (its "close" event) to tidy up. */
  close() {
    if (!this.current) return;
    const form = this.current;
    this.current = null;
    this.panel.hidden = true;
    document.body.classList.remove('form-open');
    form.dispatchEvent(new Event('nexus-close'));
    if (this.returnFocus && document.contains(this.returnFocus)) this.returnFocus.focus();
  }

  get isOpen() {
    return this.current !== null;
  }
}

/**
 * Fits the map to latlngs in the part of it the open form panel leaves
 * uncovered (its left on a wide screen, its top on a phone), so that what
 * is being edited is never under the form. One point is centred there.
 */
export function fitUncovered(map, latlngs, maxZoom = 8) {
  if (!latlngs.length) return;
  const box = map.getContainer().getBoundingClientRect();
  const panel = document.getElementById('form-panel');
  const pad = 40;
  let right = pad;
  let bottom = pad;
  if (panel && !panel.hidden) {
    const r = panel.getBoundingClientRect();
    if (r.left > box.left + box.width / 3) right += Math.max(0, box.right - r.left);
    else if (r.top > box.top + box.height / 4) bottom += Math.max(0, box.bottom - r.top);
  }
  const bounds = L.latLngBounds(latlngs);
  map.fitBounds(bounds.pad(0), {
    paddingTopLeft: [pad, pad], paddingBottomRight: [right, bottom], maxZoom,
  });
}

let mapClickHandler = null;

/** Routes map clicks to handler(latlng) (null: back to normal). Sets a crosshair cursor. */
export function setMapPicker(map, handler) {
  mapClickHandler = handler;
  map.getContainer().classList.toggle('picking', Boolean(handler));
}

/** Installs the one map click listener the pickers share. */
export function installMapPicker(map) {
  map.on('click', (e) => {
    if (mapClickHandler) mapClickHandler(e.latlng);
  });
}

/**
 * A field name from the API ("title", "properties.title",
 * "/properties/sources/0/url", "sources[0].url", "geometry.coordinates[3]")
 * in the form's own spelling ("title", "sources.0.url", "geometry").
 */
export function normaliseField(field) {
  let f = String(field ?? '').trim();
  f = f.replace(/^#?\//, '').replace(/\//g, '.');
  f = f.replace(/\[(\d+)\]/g, '.$1');
  f = f.replace(/^(feature\.)?properties\./, '');
  if (/^(geometry|coordinates)\b/.test(f)) return 'geometry';
  return f;
}

/** Clears the messages shown by showErrors. */
export function clearErrors(form) {
  for (const node of form.querySelectorAll('[data-error-for]')) node.textContent = '';
  for (const node of form.querySelectorAll('[aria-invalid="true"]')) node.removeAttribute('aria-invalid');
  const general = form.querySelector('.form-errors');
  if (general) {
    clear(general);
    general.hidden = true;
  }
}

/**
 * Shows each {field, message} beside the field it names (the nearest
 * enclosing field: "sources.0.url", else "sources.0", else "sources"), and
 * the ones that match no field, or a plain message, at the top of the form.
 * Focuses the first field in error.
 */
export function showErrors(form, errors, message = '') {
  clearErrors(form);
  const general = form.querySelector('.form-errors');
  const loose = [];
  let first = null;
  for (const { field, message: text } of errors || []) {
    const name = normaliseField(field);
    const parts = name.split('.');
    let target = null;
    for (let n = parts.length; n > 0 && !target; n--) {
      target = form.querySelector(`[data-error-for="${CSS.escape(parts.slice(0, n).join('.'))}"]`);
    }
    if (!target) {
      loose.push(field ? `${field}: ${text}` : text);
      continue;
    }
    target.textContent = target.textContent ? `${target.textContent} ${text}` : text;
    const input = form.querySelector(`[data-field="${CSS.escape(target.dataset.errorFor)}"]`);
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      first = first || input;
    }
  }
  if (message) loose.unshift(message);
  if (general && loose.length) {
    general.append(...loose.map((t) => el('p', { text: t })));
    general.hidden = false;
  }
  (first || (loose.length ? general : null))?.focus?.();
}

/** The trimmed value of a form field, or "" . */
export function value(form, name) {
  const node = form.querySelector(`[data-field="${name}"]`);
  return node ? String(node.value ?? '').trim() : '';
}

/** Sets a form field's value. */
export function setValue(form, name, v) {
  const node = form.querySelector(`[data-field="${name}"]`);
  if (node) node.value = v === null || v === undefined ? '' : String(v);
}

/** A checkbox field: whether it is checked. */
export function checked(form, name) {
  return Boolean(form.querySelector(`[data-field="${name}"]`)?.checked);
}

/** Checks or clears a checkbox field. */
export function setChecked(form, name, on) {
  const node = form.querySelector(`[data-field="${name}"]`);
  if (node) node.checked = Boolean(on);
}

/** A list field ("a, b") as an array. */
export function listValue(form, name) {
  return splitList(value(form, name));
}

/** A count field: "" → null (unknown), else the number as typed (the API judges it). */
export function countValue(form, name) {
  const v = value(form, name);
  if (v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : v;
}

/**
 * The editor of a record's sources: rows of title, URL, publisher and
 * published date in container, with add and remove buttons.
 */
export class SourcesEditor {
  constructor(container, addButton) {
    this.container = container;
    addButton.addEventListener('click', () => {
      this.addRow({});
      this.container.querySelector('li:last-child input')?.focus();
    });
  }

  addRow(s) {
    const i = this.container.children.length;
    const field = (key, text, type = 'text') => {
      const id = `${this.container.id}-${i}-${key}`;
      const name = `sources.${i}.${key}`;
      return el('div', { class: 'field' },
        el('label', { for: id, text }),
        el('input', {
          id, type, 'data-field': name, value: s[key] ?? '', 'aria-describedby': `${id}-error`,
          inputmode: type === 'url' ? 'url' : null,
        }),
        el('span', { class: 'field-error', id: `${id}-error`, 'data-error-for': name }));
    };
    const row = el('li', { class: 'source-row' },
      field('title', 'Title'),
      field('url', 'URL', 'url'),
      field('publisher', 'Publisher'),
      field('published', 'Published (YYYY[-MM[-DD]])'),
      el('span', { class: 'field-error', 'data-error-for': `sources.${i}` }),
      el('button', {
        type: 'button', class: 'link danger', text: 'Remove source',
        onclick: () => {
          const kept = this.get({ keepEmpty: true }).filter((_, k) => k !== i);
          this.set(kept);
        },
      }));
    this.container.append(row);
  }

  /** The sources in the rows; empty rows dropped unless keepEmpty. */
  get({ keepEmpty = false } = {}) {
    const out = [];
    for (const row of this.container.children) {
      const s = {};
      for (const input of row.querySelectorAll('input[data-field]')) {
        const key = input.dataset.field.split('.').pop();
        const v = input.value.trim();
        if (v) s[key] = v;
      }
      if (keepEmpty || Object.keys(s).length) out.push(s);
    }
    return out;
  }

  /** Replaces the rows with sources. */
  set(sources) {
    clear(this.container);
    for (const s of Array.isArray(sources) ? sources : []) {
      if (s && typeof s === 'object') this.addRow(s);
    }
  }
}

/** The ETag of a response, or a strong ETag made from the record's version. */
export function etagOf(headers, feature) {
  const tag = headers?.get?.('ETag');
  if (tag) return tag;
  const v = feature?.properties?.version;
  return v === undefined || v === null ? null : `"${v}"`;
}

/**
 * Deletes the record at url with If-Match set to its current ETag, so that
 * a record changed since it was shown is not deleted blindly (412). The
 * ETag is read from the record itself; feature (as shown) is the fallback.
 */
export async function deleteItem(url, feature) {
  let tag = etagOf(null, feature);
  try {
    const res = await request(url);
    if (Number(res.data?.properties?.version) === Number(feature?.properties?.version)) {
      tag = etagOf(res.headers, res.data);
    }
  } catch (err) {
    if (err?.status === 404) return;
    throw err;
  }
  await request(url, { method: 'DELETE', ifMatch: tag });
}
