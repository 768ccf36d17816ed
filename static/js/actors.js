// The actor panel: find an actor (any spelling), see its profile from
// /api/actors/{name}: counts, first and last seen, its network (Cytoscape.js)
// of neighbours joined by sourced links (solid) and shared records (dashed),
// and its incidents per month by type. Choosing an actor, in the list or in
// the graph, filters the map by it; the map's selection highlights the graph.

import { describeError, getJSON, isAbort, withQuery } from './api.js';
import { drawMonthly, loadMonthly } from './chart.js';
import { byId, clear, debounce, el } from './dom.js';
import { countryName } from './vocab.js';

/** Neighbours drawn in the graph, the most connected first. */
const GRAPH_NEIGHBOURS = 16;

function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

export class ActorPanel {
  /** filters: the Filters; onShow(collection, id) opens a record on the map. */
  constructor(filters, onShow) {
    this.filters = filters;
    this.onShow = onShow;
    this.search = byId('actor-search');
    this.list = byId('actor-list-panel');
    this.profileBox = byId('actor-profile');
    this.name = null;
    this.cy = null;
    this.ctl = null;
    this.search.addEventListener('input', debounce(() => this.loadList(), 200));
    this.search.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        const first = this.list.querySelector('button');
        if (first) first.click();
      }
    });
  }

  /** Lists the actors matching the search, most records first. */
  async loadList() {
    try {
      const data = await getJSON(withQuery('/api/actors', { q: this.search.value.trim(), limit: 12 }));
      clear(this.list);
      for (const a of Array.isArray(data?.actors) ? data.actors : []) {
        const n = (Number(a.incidents) || 0) + (Number(a.routes) || 0) + (Number(a.links) || 0);
        this.list.append(el('li', {},
          el('button', {
            type: 'button', class: 'nx-actor', dataset: { actor: a.name }, onclick: () => this.choose(a.name),
          }, el('span', { text: a.name }), el('span', { class: 'nx-count', text: String(n) }))));
      }
      document.body.dataset.actorsListed = String(this.list.children.length);
    } catch (err) {
      if (!isAbort(err)) this.list.replaceChildren(el('li', { class: 'hint', text: `Could not list actors: ${describeError(err)}` }));
    }
  }

  /** Chooses an actor: filters the map by it and shows its profile. */
  async choose(name) {
    this.filters.set({ actor: [name] }, 'actors');
    await this.show(name);
    byId('actor-name').scrollIntoView({ block: 'start' });
  }

  /** Shows the profile of an actor without touching the filters. */
  async show(name) {
    this.ctl?.abort();
    const ctl = new AbortController();
    this.ctl = ctl;
    let prof;
    try {
      prof = await getJSON(`/api/actors/${encodeURIComponent(name)}`, { signal: ctl.signal });
    } catch (err) {
      if (isAbort(err)) return;
      this.profileBox.hidden = false;
      byId('actor-name').textContent = name;
      byId('actor-facts').textContent = err?.status === 404 ? 'No record names this actor.' : `Could not load the profile: ${describeError(err)}`;
      return;
    }
    this.name = prof.name;
    this.profileBox.hidden = false;
    byId('actor-name').textContent = prof.name;
    const c = prof.counts || {};
    const seen = prof.first_seen ? ` · seen ${prof.first_seen} to ${prof.last_seen || '…'}` : '';
    const where = (prof.countries || []).slice(0, 5).map((x) => countryName(x.key)).join(', ');
    const spellings = (prof.spellings || []).filter((s) => s !== prof.name);
    byId('actor-facts').textContent = `${plural(c.incidents || 0, 'incident')}, ${plural(c.routes || 0, 'route')}, ${plural(c.links || 0, 'link')}${seen}${where ? ` · ${where}` : ''}${spellings.length ? ` · also spelled ${spellings.join(', ')}` : ''}`;
    this.drawGraph(prof);
    this.listNeighbours(prof);
    document.body.dataset.actorProfile = prof.name;
    try {
      drawMonthly(byId('actor-chart'), await loadMonthly({ actor: [prof.name] }, ctl.signal));
    } catch (err) {
      if (!isAbort(err)) byId('actor-chart').textContent = `Could not load the chart: ${describeError(err)}`;
    }
  }

  drawGraph(prof) {
    const box = byId('actor-graph');
    const neighbours = (prof.neighbours || []).slice(0, GRAPH_NEIGHBOURS);
    const elements = [{ data: { id: `a:${prof.name}`, name: prof.name }, classes: 'centre' }];
    for (const n of neighbours) {
      elements.push({ data: { id: `a:${n.name}`, name: n.name } });
      const relations = [...new Set((n.through || []).filter((t) => t.collection === 'links').map((t) => t.kind))];
      const label = relations.length ? relations.join(', ') : plural(n.records, 'record');
      elements.push({
        data: { id: `e:${n.name}`, source: `a:${prof.name}`, target: `a:${n.name}`, label, weight: 2 * n.links + n.records },
        classes: n.links > 0 ? 'link' : 'shared',
      });
    }
    this.cy?.destroy();
    this.cy = window.cytoscape({
      container: box,
      elements,
      style: [
        { selector: 'node', style: { label: 'data(name)', 'font-size': 10, 'text-wrap': 'wrap', 'text-max-width': 80, 'background-color': '#5b6b7f', width: 12, height: 12, color: '#1d2733', 'text-valign': 'bottom', 'text-margin-y': 3, 'text-background-color': '#ffffff', 'text-background-opacity': 0.75, 'text-background-padding': 1 } },
        { selector: 'node.centre', style: { 'background-color': '#b5121b', width: 18, height: 18, 'font-weight': 'bold' } },
        { selector: 'node.hl', style: { 'border-width': 3, 'border-color': '#f0a400' } },
        { selector: 'edge', style: { width: 'mapData(weight, 1, 10, 1, 4)', 'line-color': '#8a97a8', 'curve-style': 'straight', label: 'data(label)', 'font-size': 8, color: '#4b5563', 'text-rotation': 'autorotate', 'text-background-color': '#ffffff', 'text-background-opacity': 0.85, 'text-background-padding': 1 } },
        { selector: 'edge.shared', style: { 'line-style': 'dashed' } },
        { selector: 'edge.link', style: { 'line-color': '#b5121b' } },
      ],
      layout: {
        name: 'concentric', concentric: (n) => (n.hasClass('centre') ? 2 : 1), levelWidth: () => 1, minNodeSpacing: 70, spacingFactor: 1.2, animate: false, padding: 24,
      },
      maxZoom: 1.1,
      minZoom: 0.3,
      wheelSensitivity: 0.3,
    });
    this.cy.on('tap', 'node', (e) => {
      const name = e.target.data('name');
      if (name) this.choose(name);
    });
    window.nexus.actorGraph = this.cy;
    this.highlight(this.filters.value.actor);
  }

  listNeighbours(prof) {
    const ul = byId('actor-neighbours');
    clear(ul);
    for (const n of (prof.neighbours || []).slice(0, 8)) {
      const records = (n.through || []).map((t) => el('button', {
        type: 'button', class: 'nx-through', title: `Open this ${t.collection === 'links' ? 'link' : t.collection.slice(0, -1)}`,
        text: t.collection === 'links' ? t.kind : `${t.kind} (${t.collection.slice(0, -1)})`,
        onclick: () => this.onShow(t.collection, t.id),
      }));
      ul.append(el('li', {},
        el('button', { type: 'button', class: 'nx-actor-link', text: n.name, onclick: () => this.choose(n.name) }),
        el('span', { class: 'hint', text: ` ${plural(n.links, 'link')}, ${plural(n.records, 'shared record')}: ` }),
        ...records.slice(0, 6)));
    }
  }

  /** Highlights the actors of names (the filter, or the record the map shows). */
  highlight(names) {
    if (!this.cy) return;
    const want = new Set((names || []).map((n) => String(n).toLowerCase()));
    this.cy.nodes().forEach((n) => {
      n.toggleClass('hl', want.has(String(n.data('name')).toLowerCase()));
    });
    document.body.dataset.graphHighlight = this.cy.nodes('.hl').map((n) => n.data('name')).join('|');
  }
}
