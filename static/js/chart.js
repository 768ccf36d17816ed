// Monthly charts: incidents per month, stacked by type, drawn as SVG from
// /api/stats (by=type for the types present, then by=month for each).
// Labels are text nodes; nothing from the server is parsed as markup.

import { getJSON, withQuery } from './api.js';
import { clear } from './dom.js';
import { label, typeColour } from './vocab.js';

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function countsOf(data) {
  return (Array.isArray(data?.counts) ? data.counts : [])
    .filter((c) => c && typeof c.key === 'string' && c.key)
    .map((c) => ({ key: c.key, count: Number(c.count) || 0 }));
}

/**
 * Loads the incidents per month and type under the query parameters
 * params (the filters of /api/stats). Returns {months: [YYYY-MM…],
 * types: [type…], counts: Map(type → Map(month → n)), total}.
 */
export async function loadMonthly(params, signal) {
  const types = countsOf(await getJSON(withQuery('/api/stats', { ...params, by: 'type' }), { signal }))
    .filter((c) => c.count > 0).map((c) => c.key);
  const counts = new Map();
  const months = new Set();
  let total = 0;
  await Promise.all(types.map(async (t) => {
    const m = new Map();
    for (const c of countsOf(await getJSON(withQuery('/api/stats', { ...params, type: [t], by: 'month' }), { signal }))) {
      m.set(c.key, c.count);
      months.add(c.key);
      total += c.count;
    }
    counts.set(t, m);
  }));
  return { months: fillMonths([...months].sort()), types, counts, total };
}

/** Every month from the first to the last of a sorted list (gaps filled). */
export function fillMonths(sorted) {
  if (!sorted.length) return [];
  const out = [];
  let [y, m] = sorted[0].split('-').map(Number);
  const [ly, lm] = sorted[sorted.length - 1].split('-').map(Number);
  while ((y < ly || (y === ly && m <= lm)) && out.length < 1200) {
    out.push(`${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}`);
    m += 1;
    if (m > 12) { m = 1; y += 1; }
  }
  return out;
}

/**
 * Draws data (from loadMonthly) into container as a stacked bar chart:
 * one bar a month, a colour a type, a legend, the first and last month
 * under the axis and a title on each bar segment.
 */
export function drawMonthly(container, data, { width = 288, height = 120 } = {}) {
  clear(container);
  if (!data.total) {
    container.append(Object.assign(document.createElement('p'), { className: 'hint', textContent: 'No dated incidents under these filters.' }));
    return;
  }
  const pad = { l: 26, r: 4, t: 6, b: 16 };
  const w = width - pad.l - pad.r;
  const h = height - pad.t - pad.b;
  const n = data.months.length;
  const stack = data.months.map((mo) => data.types.reduce((s, t) => s + (data.counts.get(t)?.get(mo) || 0), 0));
  const max = Math.max(1, ...stack);
  const bw = Math.min(w / n, 16); // a few months make narrow bars, not blocks
  const root = svg('svg', {
    viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', class: 'nx-chart',
    'aria-label': `Incidents per month by type, ${data.months[0]} to ${data.months[n - 1]}: ${data.total} in all`,
  });
  root.append(svg('line', { x1: pad.l, y1: pad.t + h, x2: pad.l + w, y2: pad.t + h, class: 'nx-axis' }));
  root.append(svg('text', { x: pad.l - 3, y: pad.t + 8, 'text-anchor': 'end', class: 'nx-tick' }, String(max)));
  root.append(svg('text', { x: pad.l - 3, y: pad.t + h, 'text-anchor': 'end', class: 'nx-tick' }, '0'));
  data.months.forEach((mo, i) => {
    let y = pad.t + h;
    for (const t of data.types) {
      const c = data.counts.get(t)?.get(mo) || 0;
      if (!c) continue;
      const bh = (c / max) * h;
      y -= bh;
      const r = svg('rect', {
        x: pad.l + i * bw + (bw > 3 ? 0.5 : 0), y, width: Math.max(bw - (bw > 3 ? 1 : 0), 0.5), height: bh, fill: typeColour(t), 'data-type': t, 'data-month': mo,
      });
      r.append(svg('title', {}, `${mo}: ${c} ${label(t).toLowerCase()}`));
      root.append(r);
    }
  });
  root.append(svg('text', { x: pad.l, y: height - 3, class: 'nx-tick' }, data.months[0]));
  if (n > 1) root.append(svg('text', { x: pad.l + w, y: height - 3, 'text-anchor': 'end', class: 'nx-tick' }, data.months[n - 1]));
  container.append(root);
  const legend = document.createElement('ul');
  legend.className = 'nx-chart-legend';
  for (const t of data.types) {
    const li = document.createElement('li');
    const sw = document.createElement('span');
    sw.className = 'nx-swatch';
    sw.style.background = typeColour(t);
    sw.setAttribute('aria-hidden', 'true');
    let sum = 0;
    for (const v of data.counts.get(t)?.values() || []) sum += v;
    li.append(sw, document.createTextNode(`${label(t)} ${sum}`));
    legend.append(li);
  }
  container.append(legend);
}
