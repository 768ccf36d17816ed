// The live feed: the newest changes first, at most 50. Each item says what
// happened (added, updated, deleted), to which record, and when; activating
// it flies the map to the record.

import { el } from './dom.js';
import { commodityColour, typeColour } from './vocab.js';

/** Items kept in the feed. */
const MAX_ITEMS = 50;

function clock(date) {
  return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** The feed list. onSelect({collection, id, op, feature}) runs when an item is activated. */
export class Feed {
  constructor(list, { onSelect, empty }) {
    this.list = list;
    this.onSelect = onSelect;
    this.empty = empty;
  }

  /**
   * Adds a change frame. feature: the record (for a delete, its last known
   * state, when the map had it), used for the label and to fly to it.
   */
  add(frame, feature) {
    const p = feature?.properties || {};
    const isRoute = frame.collection === 'routes';
    const name = (isRoute ? p.name : p.title) || String(frame.id);
    const verb = frame.op === 'delete' ? 'deleted' : Number(p.version) === 1 ? 'added' : 'updated';
    const parsed = Date.parse(frame.op === 'delete' ? '' : p.updated);
    const when = Number.isFinite(parsed) ? new Date(parsed) : new Date();
    const swatch = el('span', {
      class: isRoute ? 'nx-swatch line' : 'nx-swatch',
      style: { background: isRoute ? commodityColour(p.commodity) : typeColour(p.type) },
      'aria-hidden': 'true',
    });
    const entry = { collection: frame.collection, id: String(frame.id), op: frame.op, feature };
    const item = el('li', {
      dataset: { id: frame.id, op: frame.op, collection: frame.collection, seq: frame.seq },
      class: `nx-feed-${verb}`,
    }, el('button', { type: 'button', class: 'nx-feed-item', onclick: () => this.onSelect(entry) },
      swatch,
      el('span', { class: 'nx-feed-op', text: verb }),
      ' ',
      el('span', { class: 'nx-feed-title', text: name }),
      ' ',
      el('time', { datetime: when.toISOString(), text: clock(when) })));
    this.list.prepend(item);
    while (this.list.children.length > MAX_ITEMS) this.list.lastElementChild.remove();
    if (this.empty) this.empty.hidden = true;
  }
}
