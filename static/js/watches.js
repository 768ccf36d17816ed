// Watch areas and their alerts (SPEC "Watch area"): draw a circle or a
// polygon on the map, name it, keep the current filters as its filter;
// edit a watch's name, radius and filter;
// the list of one's watches (drawn on the map, each deletable); alerts
// arrive on the live connection whatever the view, counted in a badge and
// listed newest first. A watch belongs to the token's user: without a
// token the section stays hidden.

import { describeError, getJSON, getToken, request } from './api.js';
import { clear, el } from './dom.js';

const { L } = window;

/** Alerts kept in the list. */
const MAX_ALERTS = 100;

const EVENT_LABEL = { enter: 'entered', inside: 'changed inside', leave: 'left' };

/** The watch areas section. */
export class Watches {
  /**
   * parts: {section, form, name, radius, useFilters, circle, polygon,
   * save, finish, cancel, status, list, alerts, readAll, badge, badgeCount};
   * filter(): the current filters as a subscription filter;
   * onSelect({collection, id, feature}) shows a record of an alert.
   */
  constructor(map, parts, { filter, onSelect }) {
    this.map = map;
    this.p = parts;
    this.filter = filter;
    this.onSelect = onSelect;
    this.layer = L.layerGroup().addTo(map);
    this.sketch = L.layerGroup().addTo(map);
    this.mode = null; // 'circle' | 'polygon' while drawing
    this.vertices = [];
    this.watches = [];
    this.unread = {};
    parts.form.addEventListener('submit', (e) => e.preventDefault());
    parts.circle.addEventListener('click', () => this.start('circle'));
    parts.polygon.addEventListener('click', () => this.start('polygon'));
    parts.cancel.addEventListener('click', () => this.stop('Drawing cancelled.'));
    parts.finish.addEventListener('click', () => this.finishPolygon());
    parts.save.addEventListener('click', () => this.saveEdit());
    parts.readAll.addEventListener('click', () => this.markAllRead());
    parts.badge.addEventListener('click', () => {
      parts.section.scrollIntoView({ block: 'start' });
      parts.alerts.focus?.();
    });
    map.on('click', (e) => this.click(e.latlng));
  }

  /** Loads the user's watches and newest alerts; hides everything without a token. */
  async load() {
    const signedIn = Boolean(getToken());
    this.p.section.hidden = !signedIn;
    this.layer.clearLayers();
    this.watches = [];
    this.unread = {};
    clear(this.p.list);
    clear(this.p.alerts);
    if (!signedIn) {
      this.showBadge();
      return;
    }
    try {
      const fc = await getJSON('/api/watches');
      this.watches = fc.features || [];
      this.unread = fc.unread || {};
      const page = await getJSON('/api/alerts?limit=50');
      for (const a of (page.alerts || []).slice().reverse()) this.addAlertItem(a, this.nameOf(a.watch));
    } catch (err) {
      this.say(`Watch areas could not be loaded: ${describeError(err)}`);
    }
    this.drawWatches();
    this.showBadge();
  }

  nameOf(id) {
    return this.watches.find((w) => w.id === id)?.properties?.name || '';
  }

  say(text) {
    this.p.status.textContent = text;
  }

  start(mode) {
    this.stop('');
    this.editing = null;
    this.p.save.hidden = true;
    this.mode = mode;
    this.vertices = [];
    document.body.dataset.drawing = mode;
    this.p.finish.hidden = mode !== 'polygon';
    this.p.cancel.hidden = false;
    this.say(mode === 'circle'
      ? 'Click the centre of the circle on the map.'
      : 'Click the corners of the polygon on the map, then Finish.');
  }

  stop(message) {
    this.mode = null;
    this.vertices = [];
    this.sketch.clearLayers();
    delete document.body.dataset.drawing;
    this.p.finish.hidden = true;
    this.p.cancel.hidden = true;
    this.p.save.hidden = true;
    this.editing = null;
    if (message !== undefined) this.say(message);
  }

  /** Puts a watch's name and radius in the form, to change them. */
  edit(w) {
    this.stop('');
    this.editing = w;
    const p = w.properties || {};
    this.p.name.value = p.name || '';
    if (p.radius_km) this.p.radius.value = String(p.radius_km);
    this.p.save.hidden = false;
    this.p.cancel.hidden = false;
    this.say(`Editing “${p.name}”: change the name${p.radius_km ? ', the radius' : ''} or the filters, then Save changes.`);
    this.p.name.focus();
  }

  async saveEdit() {
    const w = this.editing;
    if (!w) return;
    const props = { name: this.p.name.value.trim() };
    if (w.geometry?.type === 'Point') props.radius_km = Number(this.p.radius.value);
    const f = this.p.useFilters.checked ? this.filter() : {};
    props.filter = Object.keys(f).length ? f : null;
    try {
      const { data } = await request(`/api/watches/${encodeURIComponent(w.id)}`, {
        method: 'PATCH',
        body: { properties: props },
        contentType: 'application/merge-patch+json',
        ifMatch: `"${w.properties.version}"`,
      });
      this.watches = this.watches.map((x) => (x.id === data.id ? data : x));
      this.stop(`Saved “${data.properties.name}”.`);
      this.drawWatches();
    } catch (err) {
      const fields = (err.errors || []).map((e) => `${e.field}: ${e.message}`).join('; ');
      this.say(`Not saved: ${fields || describeError(err)}`);
    }
  }

  click(latlng) {
    if (!this.mode) return;
    const lng = L.Util.wrapNum(latlng.lng, [-180, 180], true);
    if (this.mode === 'circle') {
      const radius = Number(this.p.radius.value);
      this.save({ type: 'Point', coordinates: [lng, latlng.lat] }, { radius_km: radius });
      return;
    }
    this.vertices.push([lng, latlng.lat]);
    this.sketch.clearLayers();
    L.polyline(this.vertices.map(([x, y]) => [y, x]), { color: '#7a3cff', dashArray: '4 4' }).addTo(this.sketch);
    this.say(`${this.vertices.length} corner${this.vertices.length === 1 ? '' : 's'}; Finish when done.`);
  }

  finishPolygon() {
    if (this.vertices.length < 3) {
      this.say('A polygon needs at least three corners.');
      return;
    }
    const ring = [...this.vertices, this.vertices[0]];
    this.save({ type: 'Polygon', coordinates: [ring] }, {});
  }

  async save(geometry, extra) {
    const properties = { name: this.p.name.value.trim(), ...extra };
    if (this.p.useFilters.checked) {
      const f = this.filter();
      if (Object.keys(f).length) properties.filter = f;
    }
    try {
      const { data } = await request('/api/watches', {
        method: 'POST', body: { type: 'Feature', geometry, properties }, contentType: 'application/geo+json',
      });
      this.stop(`Watching “${data.properties.name}”.`);
      this.watches.push(data);
      this.drawWatches();
    } catch (err) {
      const fields = (err.errors || []).map((e) => `${e.field}: ${e.message}`).join('; ');
      this.say(`Not saved: ${fields || describeError(err)}`);
    }
  }

  async remove(id) {
    try {
      await request(`/api/watches/${encodeURIComponent(id)}`, { method: 'DELETE' });
      this.watches = this.watches.filter((w) => w.id !== id);
      delete this.unread[id];
      for (const item of [...this.p.alerts.children]) if (item.dataset.watch === id) item.remove();
      this.drawWatches();
      this.showBadge();
    } catch (err) {
      this.say(`Not deleted: ${describeError(err)}`);
    }
  }

  drawWatches() {
    this.layer.clearLayers();
    clear(this.p.list);
    for (const w of this.watches) {
      const g = w.geometry || {};
      const p = w.properties || {};
      const style = { color: '#7a3cff', weight: 2, fillOpacity: 0.06, interactive: false };
      if (g.type === 'Point') {
        L.circle([g.coordinates[1], g.coordinates[0]], { ...style, radius: p.radius_km * 1000 }).addTo(this.layer);
      } else if (g.type === 'Polygon' || g.type === 'MultiPolygon') {
        L.geoJSON(g, { style: () => style, interactive: false }).addTo(this.layer);
      }
      const n = this.unread[w.id] || 0;
      this.p.list.append(el('li', { dataset: { id: w.id } },
        el('span', { class: 'nx-watch-name', text: p.name }),
        n ? el('span', { class: 'nx-badge', text: String(n), title: `${n} unread` }) : null,
        el('button', {
          type: 'button', class: 'link', text: 'Edit', 'aria-label': `Edit the watch ${p.name}`,
          onclick: () => this.edit(w),
        }),
        el('button', {
          type: 'button', class: 'link', text: 'Delete', 'aria-label': `Delete the watch ${p.name}`,
          onclick: () => this.remove(w.id),
        })));
    }
    document.body.dataset.watches = String(this.watches.length);
  }

  /** An alert frame from the live connection. */
  alert(frame) {
    this.unread[frame.watch] = (this.unread[frame.watch] || 0) + 1;
    this.addAlertItem({ ...frame, read: false }, frame.name || this.nameOf(frame.watch));
    this.drawWatches();
    this.showBadge();
  }

  addAlertItem(a, watchName) {
    const p = a.feature?.properties || {};
    const title = p.title || p.name || String(a.id);
    const item = el('li', {
      class: a.read ? 'read' : 'unread',
      dataset: { watch: a.watch, seq: a.seq, event: a.event, id: a.id },
    }, el('button', {
      type: 'button',
      class: 'link',
      onclick: () => this.onSelect({ collection: a.collection, id: String(a.id), feature: a.feature }),
    }, el('strong', { text: watchName || 'watch' }), ' · ', title, ' ', EVENT_LABEL[a.event] || a.event));
    this.p.alerts.prepend(item);
    while (this.p.alerts.children.length > MAX_ALERTS) this.p.alerts.lastElementChild.remove();
  }

  total() {
    return Object.values(this.unread).reduce((s, n) => s + n, 0);
  }

  showBadge() {
    const n = this.total();
    this.p.badge.hidden = n === 0;
    this.p.badgeCount.textContent = String(n);
    this.p.badge.title = `${n} unread alert${n === 1 ? '' : 's'}`;
    document.body.dataset.unreadAlerts = String(n);
  }

  async markAllRead() {
    const ids = Object.keys(this.unread).filter((id) => this.unread[id] > 0);
    try {
      await Promise.all(ids.map((id) => request(`/api/watches/${encodeURIComponent(id)}/alerts/read`, { method: 'POST' })));
      this.unread = {};
      for (const item of this.p.alerts.children) item.className = 'read';
      this.drawWatches();
      this.showBadge();
    } catch (err) {
      this.say(`Not marked: ${describeError(err)}`);
    }
  }
}
