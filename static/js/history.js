// A record's version history in its popup (editors): each change with who
// made it, when, and which fields it changed, from
// /api/collections/{c}/items/{id}/history (newest first).

import { describeError, getJSON, request } from './api.js';
import { clear, el } from './dom.js';
import { formatTimestamp } from './dates.js';
import { notify } from './notice.js';

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
      : c.restored ? `restored v${c.restored}`
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
    // The newest entry is the record as it is: every older version but a
    // deletion can be restored, as a new version, if nobody changed the
    // record meanwhile (If-Match).
    const current = list[0]?.op === 'delete' ? null : list[0]?.version;
    box.append(el('ol', { class: 'nx-history-list' },
      list.slice(0, MAX_SHOWN).map((c) => el('li', { dataset: { version: c.version } },
        el('span', { class: 'nx-history-text', text: describeChange(c) }),
        current && c.version !== current && c.after ? el('button', {
          type: 'button', class: 'nx-restore', dataset: { version: c.version },
          'aria-label': `Restore version ${c.version}`, text: 'Restore',
          onclick: () => restore(collection, id, c.version, current, box),
        }) : null))));
    if (list.length > MAX_SHOWN) box.append(el('p', { class: 'nx-muted', text: `${list.length - MAX_SHOWN} older versions not shown.` }));
  } catch (err) {
    clear(box);
    box.append(el('p', { class: 'nx-muted', text: `Could not load the history: ${describeError(err)}` }));
  }
}

/** Restores version of a record (expected at version current), then shows the history again. */
async function restore(collection, id, version, current, box) {
  try {
    const { data } = await request(
      `/api/collections/${encodeURIComponent(collection)}/items/${encodeURIComponent(id)}/restore?version=${version}`,
      { method: 'POST', ifMatch: `"${current}"` },
    );
    notify(`Restored version ${version} as version ${data?.properties?.version ?? '?'}.`);
  } catch (err) {
    notify(`Restore failed: ${describeError(err)}`, 'error');
  }
  if (box.isConnected) showHistory(collection, id, box);
}
