// The filter form: incident type and route commodity (any-of checkboxes),
// actors and countries (comma-separated, any-of), free text, and a date
// range (partial dates) that becomes the API's datetime=a/b parameter.
// Also shows the counts by type for what is in view (/api/stats).
//
// Fires "change" (CustomEvent, detail.source) when the applied filters change.

import { getJSON, withQuery } from './api.js';
import { clear, el, splitList } from './dom.js';
import { isPartialDate, spanOf } from './dates.js';
import { formatCount } from './format.js';
import {
  COMMODITIES, INCIDENT_TYPES, commodityColour, countryCode, countryName, label, typeColour,
} from './vocab.js';

/** Filters that select everything. */
export const NO_FILTERS = Object.freeze({
  type: [], actor: [], country: [], commodity: [], q: '', from: '', to: '', near_route: '', km: '',
});

const LIST_KEYS = ['type', 'actor', 'country', 'commodity'];

function sameState(a, b) {
  return LIST_KEYS.every((k) => a[k].join('\u0000') === b[k].join('\u0000'))
    && a.q === b.q && a.from === b.from && a.to === b.to
    && a.near_route === b.near_route && a.km === b.km;
}

/** A copy of s with every key of NO_FILTERS present and normalised. */
export function normalise(s) {
  const out = { ...NO_FILTERS };
  for (const k of LIST_KEYS) {
    const v = s?.[k];
    out[k] = (Array.isArray(v) ? v : splitList(v)).map((x) => String(x).trim()).filter(Boolean);
  }
  // Countries by name become codes where the browser knows the name; the
  // server resolves the others, or names the closest countries.
  out.country = out.country.map((c) => countryCode(c) || c);
  // Values outside the vocabulary are dropped once it is known.
  if (INCIDENT_TYPES.length) out.type = out.type.filter((t) => INCIDENT_TYPES.includes(t));
  if (COMMODITIES.length) out.commodity = out.commodity.filter((c) => COMMODITIES.includes(c));
  out.q = String(s?.q ?? '').trim();
  out.from = String(s?.from ?? '').trim();
  out.to = String(s?.to ?? '').trim();
  // A corridor along a route: near_route=ID&km=K (both, or neither).
  out.near_route = String(s?.near_route ?? '').trim();
  const km = Number(s?.km);
  out.km = out.near_route && km > 0 && km <= 20000 ? String(km) : '';
  if (!out.km) out.near_route = '';
  return out;
}

/** The datetime parameter for a from/to window: "a/b", "a/..", "../b" or "". */
export function datetimeParam(from, to) {
  if (!from && !to) return '';
  return `${from || '..'}/${to || '..'}`;
}

/** The filter form and the applied filter state. */
export class Filters extends EventTarget {
  constructor(form) {
    super();
    this.form = form;
    this.state = { ...NO_FILTERS };
    this.inputs = {
      type: form.querySelector('#f-type'),
      actor: form.querySelector('#f-actor'),
      country: form.querySelector('#f-country'),
      commodity: form.querySelector('#f-commodity'),
      q: form.querySelector('#f-q'),
      from: form.querySelector('#f-from'),
      to: form.querySelector('#f-to'),
    };
    this.dateError = form.querySelector('#f-date-error');
    this.counts = new Map();
    this.buildChecks(this.inputs.type, 'type', INCIDENT_TYPES, typeColour, true);
    this.buildChecks(this.inputs.commodity, 'commodity', COMMODITIES, commodityColour, false);

    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.apply('form');
    });
    form.addEventListener('change', (e) => {
      if (e.target.matches('input[type=checkbox]')) this.apply('form');
    });
    form.querySelector('#f-clear')?.addEventListener('click', () => this.set(NO_FILTERS, 'form'));
    form.querySelector('#f-corridor-clear')?.addEventListener('click', () => this.set({ near_route: '', km: '' }, 'form'));
  }

  buildChecks(fieldset, name, values, colour, withCount) {
    const box = el('div', { class: 'nx-checks' });
    for (const v of values) {
      const id = `f-${name}-${v}`;
      const count = withCount ? el('span', { class: 'nx-count', dataset: { type: v }, text: '' }) : null;
      if (count) this.counts.set(v, count);
      box.append(el('label', { for: id, class: 'nx-check' },
        el('input', { type: 'checkbox', id, name, value: v }),
        el('span', { class: name === 'commodity' ? 'nx-swatch line' : 'nx-swatch', style: { background: colour(v) }, 'aria-hidden': 'true' }),
        el('span', { text: label(v), title: label(v) }),
        count));
    }
    fieldset.append(box);
  }

  /** The state the inputs show, or null (with a message) when a date is malformed. */
  read() {
    const checked = (fs) => [...fs.querySelectorAll('input[type=checkbox]:checked')].map((i) => i.value);
    const s = normalise({
      type: checked(this.inputs.type),
      commodity: checked(this.inputs.commodity),
      actor: this.inputs.actor.value,
      country: this.inputs.country.value,
      q: this.inputs.q.value,
      from: this.inputs.from.value,
      to: this.inputs.to.value,
      near_route: this.state.near_route,
      km: this.state.km,
    });
    let problem = '';
    if (s.from && !isPartialDate(s.from)) problem = 'From: use YYYY, YYYY-MM or YYYY-MM-DD.';
    else if (s.to && !isPartialDate(s.to)) problem = 'To: use YYYY, YYYY-MM or YYYY-MM-DD.';
    else if (s.from && s.to && spanOf(s.from)[0] >= spanOf(s.to)[1]) problem = 'From must not be after To.';
    this.dateError.textContent = problem;
    this.inputs.from.setAttribute('aria-invalid', String(problem.startsWith('From')));
    this.inputs.to.setAttribute('aria-invalid', String(problem.startsWith('To')));
    return problem ? null : s;
  }

  /** Shows state in the inputs. */
  write(s) {
    for (const k of ['type', 'commodity']) {
      for (const box of this.inputs[k].querySelectorAll('input[type=checkbox]')) {
        box.checked = s[k].includes(box.value);
      }
    }
    this.inputs.actor.value = s.actor.join(', ');
    this.inputs.country.value = s.country.join(', ');
    this.inputs.q.value = s.q;
    this.inputs.from.value = s.from;
    this.inputs.to.value = s.to;
    this.dateError.textContent = '';
    const chip = this.form.querySelector('#f-corridor');
    if (chip) {
      chip.hidden = !s.near_route;
      const what = chip.querySelector('span');
      if (what) what.textContent = s.near_route ? `Within ${s.km} km of route ${this.routeName?.(s.near_route) || s.near_route}` : '';
    }
  }

  /** Applies what the inputs show; fires "change" when it differs. */
  apply(source = 'form') {
    const s = this.read();
    if (!s) return false;
    this.commit(s, source);
    return true;
  }

  /** Sets some or all filters (e.g. from the URL or the timeline) and applies them. */
  set(partial, source = 'code') {
    const s = normalise({ ...this.state, ...partial });
    this.write(s);
    this.commit(s, source);
  }

  commit(s, source) {
    if (sameState(s, this.state)) return;
    this.state = s;
    this.dispatchEvent(new CustomEvent('change', { detail: { source, state: this.value } }));
  }

  /** A copy of the applied filters. */
  get value() {
    return normalise(this.state);
  }

  /** The datetime parameter of the applied date range ("" when none). */
  datetime() {
    return datetimeParam(this.state.from, this.state.to);
  }

  /** The corridor parameters ({} when none). */
  corridor() {
    const s = this.state;
    return s.near_route ? { near_route: s.near_route, km: s.km } : {};
  }

  /** Query parameters for incidents (/api/view, stats); withType false leaves out the type. */
  incidentParams({ withType = true } = {}) {
    const s = this.state;
    return {
      type: withType ? s.type : [], actor: s.actor, country: s.country, q: s.q, datetime: this.datetime(), ...this.corridor(),
    };
  }

  /** Query parameters for routes (the ones that apply to them). */
  routeParams() {
    const s = this.state;
    return {
      commodity: s.commodity, actor: s.actor, country: s.country, q: s.q, datetime: this.datetime(), ...this.corridor(),
    };
  }

  /** Every filter, for the export of both collections. */
  allParams() {
    const s = this.state;
    return {
      type: s.type, actor: s.actor, country: s.country, commodity: s.commodity, q: s.q, datetime: this.datetime(), ...this.corridor(),
    };
  }

  /**
   * The live subscription's filter: every filter that is set, under the
   * names of the query parameters. The server decides what matches, by the
   * rules it applies to the other requests, and marks a change that takes a
   * record out of the filters ("matches": false).
   */
  subscription() {
    const out = {};
    for (const k of LIST_KEYS) if (this.state[k].length) out[k] = [...this.state[k]];
    if (this.state.q) out.q = this.state.q;
    const datetime = this.datetime();
    if (datetime) out.datetime = datetime;
    if (this.state.near_route) {
      out.near_route = this.state.near_route;
      out.km = Number(this.state.km);
    }
    return out;
  }

  /**
   * Loads and shows the number of incidents of each type in bbox under the
   * other filters (the type filter itself is left out, so each box tells how
   * many its choice would show). Returns the counts.
   */
  async loadCounts(bbox, signal) {
    const url = withQuery('/api/stats', { by: 'type', bbox: bbox.join(','), ...this.incidentParams({ withType: false }) });
    const data = await getJSON(url, { signal });
    const counts = new Map();
    for (const c of Array.isArray(data?.counts) ? data.counts : []) {
      if (c && typeof c.key === 'string') counts.set(c.key, Number(c.count) || 0);
    }
    for (const [type, node] of this.counts) {
      const n = counts.get(type) ?? 0;
      node.textContent = formatCount(n);
      node.title = `${n.toLocaleString('en')} in view`;
    }
    return counts;
  }

  /** Fills the suggestions of the actor and country inputs from /api/stats. */
  async loadSuggestions() {
    const fill = async (by, listId, show) => {
      const list = document.getElementById(listId);
      if (!list) return;
      const data = await getJSON(withQuery('/api/stats', { by }));
      const keys = (Array.isArray(data?.counts) ? data.counts : [])
        .filter((c) => c && typeof c.key === 'string' && c.key)
        .sort((a, b) => (Number(b.count) || 0) - (Number(a.count) || 0))
        .slice(0, 500);
      clear(list);
      for (const c of keys) list.append(el('option', { value: c.key, label: show(c.key, c.count) }));
    };
    await Promise.allSettled([
      fill('actor', 'actor-list', (k, n) => `${k} (${n})`),
      fill('country', 'country-list', (k, n) => `${countryName(k)} (${n})`),
    ]);
  }
}
