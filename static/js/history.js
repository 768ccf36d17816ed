// A record's version history in its popup (editors): each change with who
// made it, when, and which fields it changed, from
// /api/collections/{c}/items/{id}/history (newest first).

import { describeError, getJSON } from './api.js';
import { clear, el } from './dom.js';
import { formatTimestamp } from './dates.js';

/** Most versions listed in a popup; the API holds them all. */
const MAX_SHOWN = 20;

function parse(raw) {
  if (!raw) return null;
  if (typeof raw === 'object') return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return null;
  }
}

/**
 * The fields a change changed: property names whose JSON differs between
 * before and after, and "geometry" when the geometry moved. The fields the
 * server sets on every write (version, updated) are left out.
 */
export function changedFields(before, after) {
  const b = parse(before);
  const a = parse(after);
  if (!b || !a) return [];
  const skip = new Set(['version', 'updated', 'created']);
  const bp = b.properties || {};
  const ap = a.properties || {};
  const keys = [...new Set([...Object.keys(bp), ...Object.keys(ap)])].filter((k) => !skip.has(k)).sort();
  const out = keys.filter((k) => JSON.stringify(bp[k] ?? null) !== JSON.stringify(ap[k] ?? null));
  if (JSON.stringify(b.geometry ?? null) !== JSON.stringify(a.geometry ?? null)) out.unshift('geometry');
  return out;
}

/** One line of the history: "v3 · 2026-12-06 01:23 · by alice · changed title, summary". */
export function describeChange(c) {
  const what = c.op === 'delete' ? 'deleted'
    : !c.before ? 'created'
      : (() => {
        const f = changedFields(c.before, c.after);
        return f.length ? `changed ${f.join(', ')}` : 'saved unchanged';
      })();
  return [`v${c.version}`, c.time ? formatTimestamp(c.time) : null, c.actor ? `by ${c.actor}` : null, what]
    .filter(Boolean).join(' · ');
}

/** Loads the history of a record into box (an element in the popup). */
export async function showHistory(collection, id, box) {
  clear(box);
  box.append(el('p', { class: 'nx-muted', text: 'Loading the history…' }));
  try {
    const data = await getJSON(`/api/collections/${encodeURIComponent(collection)}/items/${encodeURIComponent(id)}/history`);
    const list = Array.isArray(data?.history) ? data.history : [];
    clear(box);
    box.append(el('h4', { text: `History (${list.length}${data?.links?.some((l) => l.rel === 'next') ? '+' : ''} versions)` }));
    box.append(el('ol', { class: 'nx-history-list' },
      list.slice(0, MAX_SHOWN).map((c) => el('li', { dataset: { version: c.version }, text: describeChange(c) }))));
    if (list.length > MAX_SHOWN) box.append(el('p', { class: 'nx-muted', text: `${list.length - MAX_SHOWN} older versions not shown.` }));
  } catch (err) {
    clear(box);
    box.append(el('p', { class: 'nx-muted', text: `Could not load the history: ${describeError(err)}` }));
  }
}
