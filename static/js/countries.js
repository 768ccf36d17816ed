// Country shading: a choropleth overlay that colours each country of the
// offline basemap by its number of incidents under the current filters,
// counted over the whole world (not only the view) by
// /api/stats?by=country. It reuses the basemap's shapes (no second fetch),
// builds its features once and restyles them in place (setStyle) when the
// counts change: on a filter change, and at most once per REFRESH_MS on live
// changes. While it is on the map, a small legend shows its classes; a
// tooltip gives each country's name and count.
//
// Hooks for browser tests (window.nexus.countries): counts (Map code →
// count), breaks, loaded, styleOf(code).

import { describeError, getJSON, isAbort, withQuery } from './api.js';
import { createWorldLayer } from './basemap.js';
import { clear, el } from './dom.js';

const { L } = window;

/** Sequential colours of the classes, lightest first (ColorBrewer YlOrBr). */
export const PALETTE = Object.freeze(['#fed98e', '#fec44f', '#fe9929', '#d95f0e', '#993404']);

/** The shortest wait between two refreshes for live changes, in milliseconds. */
export const REFRESH_MS = 2000;

/** The property of a basemap feature that holds its ISO 3166-1 alpha-2 code. */
export const CODE_PROPERTY = 'iso_a2';

const SHADED = { stroke: true, color: '#7a4a1c', weight: 0.6, opacity: 0.7, fill: true, fillOpacity: 0.6 };
// A country with no incident is drawn with nothing visible, but still
// filled (at opacity 0) so that its tooltip answers the pointer too.
const UNSHADED = { stroke: false, weight: 0, opacity: 0, fill: true, fillColor: '#000', fillOpacity: 0 };

/** x rounded to one digit below 10, else to two significant digits. */
function roundNice(x) {
  if (x < 10) return Math.round(x);
  const p = 10 ** (Math.floor(Math.log10(x)) - 1);
  return Math.round(x / p) * p;
}

/**
 * The upper bounds of at most n classes of counts from 1 to max, ascending,
 * the last one max: one class per count while max ≤ n, else bounds spaced
 * geometrically (incident counts are skewed: a few countries hold most),
 * rounded to two significant digits. [] when max < 1.
 */
export function classBreaks(max, n = PALETTE.length) {
  const top = Math.floor(Number(max) || 0);
  if (top < 1) return [];
  if (top <= n) return Array.from({ length: top }, (_, i) => i + 1);
  const out = [];
  for (let i = 1; i < n; i++) {
    const b = Math.max(roundNice(top ** (i / n)), (out.at(-1) ?? 0) + 1);
    if (b >= top) break;
    out.push(b);
  }
  out.push(top);
  return out;
}

/** The class (index into breaks) of a count, or -1 for none (0 or less). */
export function classOf(count, breaks) {
  if (!(count > 0) || !breaks.length) return -1;
  const i = breaks.findIndex((b) => count <= b);
  return i < 0 ? breaks.length - 1 : i;
}

/**
 * The colour of class i of k: the classes spread over the palette, the
 * highest always its darkest colour.
 */
export function classColour(i, k, palette = PALETTE) {
  const last = palette.length - 1;
  if (k <= 1) return palette[last];
  return palette[Math.round((i * last) / (k - 1))];
}

/** The legend's labels of the classes: "1", "2–4", "5–16"… */
export function classLabels(breaks) {
  return breaks.map((b, i) => {
    const lo = i === 0 ? 1 : breaks[i - 1] + 1;
    return lo === b ? b.toLocaleString('en') : `${lo.toLocaleString('en')}–${b.toLocaleString('en')}`;
  });
}

/** The counts of a /api/stats?by=country answer as a Map (code → count). */
export function countsOf(data) {
  const counts = new Map();
  for (const c of Array.isArray(data?.counts) ? data.counts : []) {
    if (c && typeof c.key === 'string' && c.key) {
      const code = c.key.toUpperCase();
      counts.set(code, (counts.get(code) || 0) + (Number(c.count) || 0));
    }
  }
  return counts;
}

const codeOf = (feature) => String(feature?.properties?.[CODE_PROPERTY] || '').toUpperCase();

/** The country shading layer (this.layer, for the layers control) and its legend. */
export class CountryShading {
  /**
   * map: the Leaflet map; basemap: what createBasemap returned (its shapes
   * are shared); filters: the Filters whose incidentParams() apply.
   */
  constructor(map, basemap, filters) {
    this.map = map;
    this.basemap = basemap;
    this.filters = filters;
    this.counts = new Map();
    this.breaks = [];
    /** True once counts for the current filters are shown. */
    this.loaded = false;
    this.stale = true;
    this.error = '';
    this.ctl = null;
    this.timer = null;

    if (!map.getPane('countries')) {
      // Over the basemap (150), under routes and markers (400, 600).
      map.createPane('countries').style.zIndex = 200;
    }
    this.style = (feature) => this.featureStyle(feature);
    this.layer = createWorldLayer({
      pane: 'countries',
      renderer: L.canvas({ pane: 'countries', padding: 0.3 }),
      style: this.style,
      onEachFeature: (feature, layer) => {
        layer.bindTooltip(() => this.tooltip(feature), { sticky: true, direction: 'top', className: 'nx-country-tip' });
      },
    });
    this.legend = this.makeLegend();
    this.layer.on('add', () => {
      this.legend.addTo(map);
      this.showLegend();
      if (this.stale) this.load();
    });
    this.layer.on('remove', () => {
      clearTimeout(this.timer);
      this.timer = null;
      if (this.ctl) {
        this.ctl.abort();
        this.ctl = null;
        this.stale = true;
      }
      this.legend.remove();
    });
  }

  /** Whether the layer is on the map. */
  get shown() {
    return this.map.hasLayer(this.layer);
  }

  /**
   * The counts are out of date (the filters changed): loads them now when
   * shown (the promise settles once they are), else when next shown.
   */
  refresh() {
    this.stale = true;
    clearTimeout(this.timer);
    this.timer = null;
    return this.shown ? this.load() : Promise.resolve();
  }

  /** An incident changed: refresh, at most once per REFRESH_MS. */
  changed() {
    this.stale = true;
    if (!this.shown || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.shown && this.stale) this.load();
    }, REFRESH_MS);
  }

  /** Loads the counts (and, the first time, takes the basemap's shapes), then restyles. */
  async load() {
    this.ctl?.abort();
    const ctl = new AbortController();
    this.ctl = ctl;
    this.stale = false;
    this.loaded = false;
    const url = withQuery('/api/stats', { by: 'country', ...this.filters.incidentParams() });
    try {
      const [data, base] = await Promise.all([getJSON(url, { signal: ctl.signal }), this.basemap.loaded]);
      if (ctl.signal.aborted) return;
      this.error = '';
      this.apply(countsOf(data));
      if (base?.data && this.layer.data !== base.data) this.layer.setData(base.data);
      this.loaded = true;
    } catch (err) {
      if (isAbort(err) || ctl.signal.aborted) return;
      this.stale = true;
      this.error = `Could not load the counts: ${describeError(err)}`;
      console.warn('stats by country:', describeError(err));
    } finally {
      if (this.ctl === ctl) this.ctl = null;
    }
    this.showLegend();
  }

  /** Shows counts (Map code → count): new classes, the features restyled in place. */
  apply(counts) {
    this.counts = counts;
    this.breaks = classBreaks(Math.max(0, ...counts.values()));
    for (const copy of this.layer.copies.values()) copy.setStyle(this.style);
  }

  /** The number of incidents of a country code (0 when none). */
  countOf(code) {
    return code ? this.counts.get(code) || 0 : 0;
  }

  /** The class of a country code under the current counts, -1 for none. */
  classOfCode(code) {
    return classOf(this.countOf(code), this.breaks);
  }

  featureStyle(feature) {
    const i = this.classOfCode(codeOf(feature));
    if (i < 0) return UNSHADED;
    return { ...SHADED, fillColor: classColour(i, this.breaks.length) };
  }

  /** The tooltip of a feature, built as text. */
  tooltip(feature) {
    const name = String(feature?.properties?.name || '');
    const code = codeOf(feature);
    const head = el('strong', { text: code ? `${name} (${code})` : name || 'Unknown' });
    if (!code) return el('div', {}, head, el('br'), 'not counted (no country code)');
    const n = this.countOf(code);
    const text = this.loaded || this.counts.size ? `${n.toLocaleString('en')} incident${n === 1 ? '' : 's'}` : 'loading…';
    return el('div', {}, head, el('br'), text);
  }

  /**
   * The style drawn for a country code (read from its first feature of the
   * main copy of the world), or null when no such feature is drawn: {fillColor,
   * fillOpacity, class (index into breaks, -1 for none), classes, count}.
   */
  styleOf(code) {
    const want = String(code || '').toUpperCase();
    const main = this.layer.copies.get(0);
    if (!want || !main) return null;
    const layer = main.getLayers().find((l) => codeOf(l.feature) === want);
    if (!layer) return null;
    const { fillColor, fillOpacity } = layer.options;
    return {
      fillColor, fillOpacity, class: this.classOfCode(want), classes: this.breaks.length, count: this.countOf(want),
    };
  }

  makeLegend() {
    const Legend = L.Control.extend({
      options: { position: 'bottomright' },
      onAdd: () => {
        const box = el('div', { class: 'nx-legend leaflet-bar', id: 'countries-legend' });
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        this.legendBox = box;
        return box;
      },
    });
    return new Legend();
  }

  /** Rewrites the legend of the classes. */
  showLegend() {
    const box = this.legendBox;
    if (!box || !this.shown) return;
    const head = [
      el('h3', { text: 'Incidents per country' }),
      el('p', { class: 'nx-legend-note', text: 'whole world, current filters' }),
    ];
    let body;
    if (this.error) body = el('p', { class: 'nx-legend-note', text: this.error });
    else if (!this.loaded) body = el('p', { class: 'nx-legend-note', text: 'Loading…' });
    else if (!this.breaks.length) body = el('p', { class: 'nx-legend-note', text: 'No incidents under these filters.' });
    else {
      const labels = classLabels(this.breaks);
      body = [
        el('ul', {}, labels.map((text, i) => el('li', { dataset: { class: i } },
          el('span', { class: 'nx-swatch nx-swatch-area', style: { background: classColour(i, labels.length) }, 'aria-hidden': 'true' }),
          text))),
        el('p', { class: 'nx-legend-note' },
          el('span', { class: 'nx-swatch nx-swatch-area nx-swatch-none', 'aria-hidden': 'true' }),
          'none: unshaded'),
      ];
    }
    clear(box).append(...head, ...[body].flat());
  }
}
