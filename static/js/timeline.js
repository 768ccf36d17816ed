// The time slider: spans the months that hold data, shows how many
// incidents overlap each month (/api/stats?by=period: a record dated only
// to a year counts in each of its twelve months, the SPEC's overlap rule;
// that imprecise share is drawn lighter and counted apart), and sets the
// date filter to a window that ends at the slider's month. Play runs the
// whole span in the chosen time, whatever its length.

import { getJSON } from './api.js';
import { clear, debounce, el } from './dom.js';
import { monthIndex, monthKey, monthLabel } from './dates.js';

/** Most bars drawn under the slider; more months share a bar. */
const MAX_BARS = 240;

/** Shortest time between two steps of Play, in milliseconds. */
const MIN_TICK_MS = 100;

/**
 * Months by how many incidents overlap them, from by=period counts
 * ([{key: "year:2018"|"month:2018-02"|"day:2018-02", count}]): exact (dated
 * to a day) and approx (dated to a month, or to a year and so spread over
 * its twelve months), keyed by month index; with the range, the number of
 * records and how many of them are dated only to a year or month.
 */
export function monthCounts(periods) {
  const exact = new Map();
  const approx = new Map();
  let min = Infinity;
  let max = -Infinity;
  let records = 0;
  let imprecise = 0;
  const add = (m, i, n) => m.set(i, (m.get(i) || 0) + n);
  for (const p of Array.isArray(periods) ? periods : []) {
    const n = Number(p?.count) || 0;
    const [kind, when] = String(p?.key ?? '').split(':');
    let first;
    let last;
    if (kind === 'year' && /^\d{4}$/.test(when)) {
      first = monthIndex(`${when}-01`);
      last = first + 11;
      for (let i = first; i <= last; i++) add(approx, i, n);
    } else if ((kind === 'month' || kind === 'day') && monthIndex(when) !== null) {
      first = monthIndex(when);
      last = first;
      add(kind === 'day' ? exact : approx, first, n);
    } else {
      continue;
    }
    records += n;
    if (kind !== 'day') imprecise += n;
    min = Math.min(min, first);
    max = Math.max(max, last);
  }
  return {
    exact, approx, records, imprecise, min: records ? min : null, max: records ? max : null,
  };
}

/**
 * How Play runs a span of months in about seconds: a step every interval
 * milliseconds (never under MIN_TICK_MS), moving monthsPerTick months.
 */
export function playPlan(months, seconds) {
  const span = Math.max(1, months);
  let monthsPerTick = 1;
  let interval = (seconds * 1000) / span;
  if (interval < MIN_TICK_MS) {
    monthsPerTick = Math.ceil(MIN_TICK_MS / interval);
    interval = (seconds * 1000 * monthsPerTick) / span;
  }
  return { interval, monthsPerTick, ticks: Math.ceil(span / monthsPerTick) };
}

/** The timeline controls, bound to the filters they drive. */
export class Timeline {
  /**
   * els: {slider, play, speed, window, label, hist, all} elements;
   * filters: the Filters whose date range the timeline sets.
   */
  constructor(els, filters) {
    this.els = els;
    this.filters = filters;
    this.min = null;
    this.max = null;
    this.timer = null;
    this.bars = [];
    this.binSize = 1;
    const applySoon = debounce(() => this.applyWindow(), 120);
    els.slider.addEventListener('input', () => {
      this.showLabel();
      applySoon();
    });
    els.slider.addEventListener('change', () => {
      applySoon.cancel();
      this.applyWindow();
    });
    els.play.addEventListener('click', () => (this.timer ? this.pause() : this.play()));
    els.speed.addEventListener('change', () => {
      if (this.timer) {
        this.pause();
        this.play();
      }
    });
    els.window.addEventListener('change', () => {
      if (this.filters.value.to) this.applyWindow();
      else this.showLabel();
    });
    els.all.addEventListener('click', () => {
      this.pause();
      this.filters.set({ from: '', to: '' }, 'timeline');
    });
    filters.addEventListener('change', (e) => {
      if (e.detail.source !== 'timeline') this.sync();
    });
  }

  /** Loads the data's month range and draws the histogram. */
  async init() {
    let counts = monthCounts([]);
    try {
      const data = await getJSON('/api/stats?by=period');
      counts = monthCounts(data?.counts);
    } catch {
      // an empty histogram over the last ten years
    }
    const now = new Date();
    const thisMonth = now.getUTCFullYear() * 12 + now.getUTCMonth();
    this.min = counts.min ?? thisMonth - 119;
    this.max = counts.max ?? thisMonth;
    const { slider } = this.els;
    slider.min = String(this.min);
    slider.max = String(this.max);
    slider.value = String(this.max);
    slider.disabled = false;
    this.drawHistogram(counts);
    this.sync();
  }

  /**
   * One bar per month (or group of months): its height the incidents that
   * overlap it at most, its lighter top the share dated only to a year or
   * month. The note beside says how many records that is.
   */
  drawHistogram(counts) {
    const span = this.max - this.min + 1;
    this.binSize = Math.max(1, Math.ceil(span / MAX_BARS));
    const n = Math.ceil(span / this.binSize);
    const exact = new Array(n).fill(0);
    const approx = new Array(n).fill(0);
    // A bar of several months shows its busiest month, so that a record
    // dated to a year is not counted once per month it spans.
    for (let b = 0; b < n; b++) {
      for (let i = this.min + b * this.binSize; i < this.min + (b + 1) * this.binSize; i++) {
        const e = counts.exact.get(i) || 0;
        const a = counts.approx.get(i) || 0;
        if (e + a > exact[b] + approx[b]) {
          exact[b] = e;
          approx[b] = a;
        }
      }
    }
    const top = Math.max(1, ...exact.map((e, b) => e + approx[b]));
    clear(this.els.hist);
    this.bars = exact.map((e, b) => {
      const total = e + approx[b];
      const share = total ? Math.round((approx[b] / total) * 100) : 0;
      return el('span', {
        class: 'nx-bar',
        dataset: { exact: e, approx: approx[b] },
        style: {
          height: `${total ? Math.max(8, Math.round((total / top) * 100)) : 0}%`,
          '--approx': `${share}%`,
        },
      });
    });
    this.els.hist.append(...this.bars);
    if (this.els.note) {
      this.els.note.textContent = counts.imprecise
        ? `${counts.imprecise} of ${counts.records} dated only to a year or month (light): they count in each month they cover.`
        : '';
    }
  }

  /** Months in the window (0: everything up to the slider's month). */
  windowMonths() {
    return Number(this.els.window.value) || 0;
  }

  /** Sets the date filter to the window that ends at the slider's month. */
  applyWindow() {
    if (this.min === null) return;
    const end = Number(this.els.slider.value);
    const w = this.windowMonths();
    const from = w > 0 ? monthKey(Math.max(end - w + 1, this.min)) : '';
    this.filters.set({ from, to: monthKey(end) }, 'timeline');
    this.showLabel();
  }

  /** Moves the slider to the end of the applied date range (after URL or form changes). */
  sync() {
    if (this.min === null) return;
    const { to } = this.filters.value;
    const end = to ? monthIndex(to) : null;
    if (end !== null) this.els.slider.value = String(Math.min(this.max, Math.max(this.min, end)));
    else this.els.slider.value = String(this.max);
    this.showLabel();
  }

  showLabel() {
    const { from, to } = this.filters.value;
    const end = Number(this.els.slider.value);
    let text;
    if (!from && !to) text = 'All dates';
    else if (from && to) text = `${from} – ${to}`;
    else text = from ? `from ${from}` : `until ${to}`;
    this.els.label.value = text;
    this.els.label.textContent = text;
    this.els.slider.setAttribute('aria-valuetext', to ? monthLabel(end) : 'all dates');
    const w = this.windowMonths();
    const first = to ? (w > 0 ? end - w + 1 : this.min) : Infinity;
    const last = to ? end : -Infinity;
    this.bars.forEach((bar, i) => {
      const lo = this.min + i * this.binSize;
      const hi = lo + this.binSize - 1;
      bar.classList.toggle('in', hi >= first && lo <= last);
    });
  }

  /** Starts playing: one month forward per tick; from the start when at the end. */
  play() {
    if (this.min === null || this.timer) return;
    const { slider } = this.els;
    if (!this.filters.value.to || Number(slider.value) >= this.max) {
      slider.value = String(Math.min(this.max, this.min + Math.max(this.windowMonths(), 1) - 1));
    }
    this.applyWindow();
    const plan = this.playPlan();
    this.monthsPerTick = plan.monthsPerTick;
    this.timer = setInterval(() => this.step(), plan.interval);
    this.els.play.setAttribute('aria-pressed', 'true');
    this.els.play.textContent = 'Pause';
    this.els.play.dataset.state = 'playing';
  }

  /** How Play will run the whole span at the chosen speed (seconds). */
  playPlan() {
    return playPlan(this.max - this.min + 1, Number(this.els.speed.value) || 60);
  }

  step() {
    const at = Number(this.els.slider.value);
    if (at >= this.max) {
      this.pause();
      return;
    }
    const next = Math.min(this.max, at + (this.monthsPerTick || 1));
    this.els.slider.value = String(next);
    this.applyWindow();
  }

  /** Stops playing. */
  pause() {
    clearInterval(this.timer);
    this.timer = null;
    this.els.play.setAttribute('aria-pressed', 'false');
    this.els.play.textContent = 'Play';
    this.els.play.dataset.state = 'paused';
  }
}
