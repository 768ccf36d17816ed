// Popups: every property of an incident or a route, built as DOM nodes
// (record text only ever as text), with sources as links when they are
// http(s) URLs, and Edit/Delete buttons for editors.

import { getJSON, withQuery } from './api.js';
import { drawMonthly, loadMonthly } from './chart.js';
import { el, isHttpUrl } from './dom.js';
import { showHistory } from './history.js';
import { describeDate, formatPartial, formatTimestamp } from './dates.js';
import {
  commodityColour, countryName, label, precisionText, typeColour,
} from './vocab.js';

/**
 * Auto-pan padding of popups at the top left, in pixels: below the zoom and
 * layers controls (about 60px tall), so that they never cover the popup's
 * close button, as they did on phones.
 */
export const POPUP_PAD_TOP_LEFT = [20, 64];

/**
 * Keyboard focus follows popups: an opened popup takes the focus (its
 * heading, so that Tab goes on to its links and its Edit and Delete
 * buttons), and a closed one gives it back to what had it, or to the map.
 */
export function installPopupFocus(map) {
  let opener = null;
  map.on('popupopen', (e) => {
    const active = document.activeElement;
    const box = e.popup.getElement();
    opener = active && active !== document.body && !box?.contains(active) ? active : null;
    const heading = box?.querySelector('.nx-popup h3');
    if (!heading) return;
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  });
  map.on('popupclose', (e) => {
    const box = e.popup.getElement();
    const active = document.activeElement;
    const inside = !active || active === document.body || box?.contains(active);
    if (inside) {
      const back = opener && document.contains(opener) ? opener : map.getContainer();
      back.focus({ preventScroll: true });
    }
    opener = null;
  });
}

function row(term, ...value) {
  return [el('dt', { text: term }), el('dd', {}, ...value)];
}

function text(value) {
  return value === null || value === undefined || value === '' ? null : String(value);
}

function list(values) {
  return Array.isArray(values) ? values.filter((v) => v !== null && v !== undefined && v !== '').map(String) : [];
}

function count(value) {
  return Number.isInteger(value) ? String(value) : 'unknown';
}

function chips(values) {
  return el('span', { class: 'nx-chips' }, list(values).map((v) => el('span', { class: 'nx-chip', text: v })));
}

/** The sources list: title (a link when the URL is http/https), publisher, date. */
function sourcesSection(sources) {
  const items = Array.isArray(sources) ? sources.filter((s) => s && typeof s === 'object') : [];
  if (!items.length) return el('p', { class: 'nx-muted', text: 'No sources recorded.' });
  return el('ol', { class: 'nx-sources' }, items.map((s) => {
    const name = text(s.title) || text(s.url) || 'Untitled source';
    const head = isHttpUrl(s.url)
      ? el('a', { href: s.url, target: '_blank', rel: 'noopener noreferrer', text: name })
      : el('span', { text: name });
    const extra = [text(s.publisher), s.published ? formatPartial(String(s.published)) : null].filter(Boolean);
    const parts = [head];
    if (extra.length) parts.push(el('span', { class: 'nx-muted', text: ` — ${extra.join(', ')}` }));
    if (s.url && !isHttpUrl(s.url)) parts.push(el('span', { class: 'nx-muted', text: ` (${s.url})` }));
    return el('li', {}, parts);
  }));
}

function versionLine(p) {
  const bits = [];
  if (p.version !== undefined) bits.push(`version ${p.version}`);
  if (p.created) bits.push(`created ${formatTimestamp(p.created)}`);
  if (p.updated && p.updated !== p.created) bits.push(`updated ${formatTimestamp(p.updated)}`);
  return bits.length ? el('p', { class: 'nx-meta', text: bits.join(' · ') }) : null;
}

function actionsOf(collection, feature, ctx) {
  if (!ctx?.canEdit?.()) return null;
  const history = el('section', { class: 'nx-history', 'aria-live': 'polite' });
  return el('div', {},
    el('div', { class: 'nx-actions' },
      el('button', {
        type: 'button', class: 'nx-edit', dataset: { id: feature.id },
        text: 'Edit', onclick: () => ctx.onEdit(collection, feature.id),
      }),
      el('button', {
        type: 'button', class: 'nx-history-button', 'aria-expanded': 'false', dataset: { id: feature.id },
        text: 'History',
        onclick: (e) => {
          const open = e.currentTarget.getAttribute('aria-expanded') !== 'true';
          e.currentTarget.setAttribute('aria-expanded', String(open));
          if (open) showHistory(collection, feature.id, history);
          else history.replaceChildren();
        },
      }),
      el('button', {
        type: 'button', class: 'nx-delete danger', dataset: { id: feature.id },
        text: 'Delete', onclick: () => ctx.onDelete(collection, feature),
      })),
    history);
}

function summaryOf(summary) {
  const s = text(summary);
  return s ? el('div', { class: 'nx-summary', text: s }) : null;
}

/** The popup content of an incident Feature. */
export function incidentPopup(feature, ctx) {
  const p = feature.properties || {};
  const coords = feature.geometry?.coordinates;
  const where = Array.isArray(coords)
    ? `${Number(coords[1]).toFixed(4)}, ${Number(coords[0]).toFixed(4)}`
    : 'no point';
  const precision = text(p.precision);
  const details = el('dl', {},
    row('Date', describeDate(p.date)),
    text(p.place) ? row('Place', p.place) : null,
    row('Country', text(p.country) ? countryName(p.country) : 'unknown'),
    row('Location', precisionText(precision),
      el('br'), el('span', { class: 'nx-muted', text: where })),
    p.sensitive === true && precision !== '10km'
      ? row('Sensitive', 'yes: viewers see this point only to the nearest ~10 km') : null,
    row('Actors', list(p.actors).length ? list(p.actors).join(', ') : 'none recorded'),
    row('Killed', count(p.killed)),
    row('Wounded', count(p.wounded)),
    list(p.tags).length ? row('Tags', chips(p.tags)) : null,
    text(p.external_id) ? row('External ID', p.external_id) : null,
  );
  const kind = [label(p.type || 'other'), text(p.subtype)].filter(Boolean).join(' · ');
  return el('article', { class: 'nx-popup', dataset: { id: feature.id, collection: 'incidents' } },
    el('h3', { text: text(p.title) || 'Untitled incident' }),
    el('p', { class: 'nx-kind' },
      el('span', { class: 'nx-swatch', style: { background: typeColour(p.type) }, 'aria-hidden': 'true' }),
      el('span', { text: kind })),
    details,
    summaryOf(p.summary),
    el('h4', { text: 'Sources' }),
    sourcesSection(p.sources),
    versionLine(p),
    actionsOf('incidents', feature, ctx));
}

const COUNTABLE = new Set(['attack', 'plot', 'arrest', 'seizure', 'assassination', 'kidnapping']);

/** "9 seizures", "1 arrest", "2 financing incidents". */
export function typeCount(type, n) {
  const word = label(type).toLowerCase();
  if (COUNTABLE.has(type)) return `${n} ${word}${n === 1 ? '' : 's'}`;
  return `${n} ${word} incident${n === 1 ? '' : 's'}`;
}

/** Corridor width of the route popup's count, in kilometres. */
export const CORRIDOR_KM = 50;

/**
 * The route popup's corridor: "N incidents within 50 km: 9 seizures, 4
 * arrests …", a button that shows them on the map, and their months.
 */
function corridorSection(feature, ctx) {
  const line = el('p', { class: 'nx-corridor-count', text: `Counting the incidents within ${CORRIDOR_KM} km…` });
  const chart = el('div', { class: 'nx-chart-box nx-popup-chart' });
  const box = el('section', { class: 'nx-corridor-box', dataset: { corridor: feature.id } }, line, chart);
  if (!feature.id) return box;
  const params = { near_route: feature.id, km: CORRIDOR_KM };
  getJSON(withQuery('/api/stats', { ...params, by: 'type' })).then((data) => {
    const counts = (Array.isArray(data?.counts) ? data.counts : []).filter((c) => c && Number(c.count) > 0);
    const n = counts.reduce((s, c) => s + Number(c.count), 0);
    const parts = counts.map((c) => typeCount(c.key, Number(c.count)));
    line.textContent = `${n} incident${n === 1 ? '' : 's'} within ${CORRIDOR_KM} km${parts.length ? `: ${parts.join(', ')}` : ''}`;
    box.dataset.count = String(n);
    if (n > 0 && ctx.onCorridor) {
      line.append(' ', el('button', { type: 'button', class: 'nx-show-corridor', text: 'Show them', onclick: () => ctx.onCorridor(feature.id, CORRIDOR_KM) }));
      loadMonthly(params).then((d) => drawMonthly(chart, d, { width: 240, height: 80 })).catch(() => {});
    }
  }).catch((err) => {
    line.textContent = `Could not count the incidents near this route: ${err?.message || err}`;
  });
  return box;
}

/** The popup content of a route Feature. */
export function routePopup(feature, ctx) {
  const p = feature.properties || {};
  const active = p.active_from || p.active_to
    ? `${p.active_from ? formatPartial(p.active_from) : '…'} – ${p.active_to ? formatPartial(p.active_to) : '…'}`
    : 'not stated';
  const waypoints = list(p.waypoints);
  const kind = [label(p.commodity || 'other'), text(p.mode) ? `by ${p.mode}` : null].filter(Boolean).join(' · ');
  return el('article', { class: 'nx-popup', dataset: { id: feature.id, collection: 'routes' } },
    el('h3', { text: text(p.name) || 'Unnamed route' }),
    el('p', { class: 'nx-kind' },
      el('span', { class: 'nx-swatch line', style: { background: commodityColour(p.commodity) }, 'aria-hidden': 'true' }),
      el('span', { text: kind })),
    el('dl', {},
      row('Active', active),
      row('Confidence', text(p.confidence) || 'not stated'),
      text(p.precision) ? row('Location', precisionText(text(p.precision))) : null,
      p.sensitive === true && p.precision !== '10km'
        ? row('Sensitive', 'yes: viewers see its waypoints only to the nearest ~10 km') : null,
      row('Mode', text(p.mode) || 'not stated'),
      row('Actors', list(p.actors).length ? list(p.actors).join(', ') : 'none recorded'),
      waypoints.length ? row('Waypoints', el('ol', { class: 'nx-waypoints' }, waypoints.map((w) => el('li', { text: w })))) : null,
      list(p.tags).length ? row('Tags', chips(p.tags)) : null,
      text(p.external_id) ? row('External ID', p.external_id) : null),
    summaryOf(p.summary),
    corridorSection(feature, ctx),
    el('h4', { text: 'Sources' }),
    sourcesSection(p.sources),
    versionLine(p),
    actionsOf('routes', feature, ctx));
}
