// The time slider: spans the months that hold data (/api/stats?by=month),
// shows how many incidents each month holds, and sets the date filter to a
// window that ends at the slider's month. Play moves the window forward one
// month per tick at the chosen speed.

import { getJSON } from './api.js';
import { clear, debounce, el } from './dom.js';
import { monthIndex, monthKey, monthLabel } from './dates.js';

/** Most bars drawn under the slider; more months share a bar. */
const MAX_BARS = 240;

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
    let months = [];
    try {
      const data = await getJSON('/api/stats?by=month');
      months = (Array.isArray(data?.counts) ? data.counts : [])
        .map((c) => ({ index: monthIndex(String(c?.key ?? '')), count: Number(c?.count) || 0 }))
        .filter((m) => m.index !== null);
    } catch {
      months = [];
    }
    const now = new Date();
    const thisMonth = now.getUTCFullYear() * 12 + now.getUTCMonth();
    this.min = months.length ? Math.min(...months.map((m) => m.index)) : thisMonth - 119;
    this.max = months.length ? Math.max(...months.map((m) => m.index)) : thisMonth;
    const { slider } = this.els;
    slider.min = String(this.min);
    slider.max = String(this.max);
    slider.value = String(this.max);
    slider.disabled = false;
    this.drawHistogram(months);
    this.sync();
  }

  drawHistogram(months) {
    const span = this.max - this.min + 1;
    this.binSize = Math.max(1, Math.ceil(span / MAX_BARS));
    const bins = new Array(Math.ceil(span / this.binSize)).fill(0);
    for (const m of months) bins[Math.floor((m.index - this.min) / this.binSize)] += m.count;
    const top = Math.max(1, ...bins);
    clear(this.els.hist);
    this.bars = bins.map((n) => el('span', {
      class: 'nx-bar',
      style: { height: `${n ? Math.max(8, Math.round((n / top) * 100)) : 0}%` },
    }));
    this.els.hist.append(...this.bars);
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
    const perSecond = Number(this.els.speed.value) || 1;
    this.timer = setInterval(() => this.step(), Math.max(125, 1000 / perSecond));
    this.els.play.setAttribute('aria-pressed', 'true');
    this.els.play.textContent = 'Pause';
    this.els.play.dataset.state = 'playing';
  }

  step() {
    const next = Number(this.els.slider.value) + 1;
    if (next > this.max) {
      this.pause();
      return;
    }
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
