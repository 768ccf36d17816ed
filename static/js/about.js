// The about panel (#about-dialog): what the map shows, what this database
// holds now (counted through /api/stats), what the sample data are and how
// they were coded (counted by the server from the sample files, reported in
// /api/config), and the licences of the reference data. Nothing in it is a
// number typed by hand.

import { describeError, getJSON } from './api.js';
import { clear, el, isHttpUrl } from './dom.js';

function plural(n, one, many = `${one}s`) {
  return `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
}

function sum(stats) {
  return (stats?.counts || []).reduce((s, c) => s + (Number(c.count) || 0), 0);
}

/** "1992 to 2018", "2018", or "" from the first and last keys "YYYY…". */
function span(from, to) {
  const a = String(from || '').slice(0, 4);
  const b = String(to || '').slice(0, 4);
  if (!a) return '';
  return a === b || !b ? a : `${a} to ${b}`;
}

/** What the database holds now: incidents, routes and the years they span. */
async function describeNow() {
  const [types, commodities, months] = await Promise.all([
    getJSON('/api/stats?by=type'),
    getJSON('/api/stats?by=type&collection=routes'),
    getJSON('/api/stats?by=month'),
  ]);
  const keys = (months?.counts || []).map((c) => c.key).filter(Boolean);
  const years = span(keys[0], keys[keys.length - 1]);
  return `${plural(sum(types), 'incident')} and ${plural(sum(commodities), 'route')}`
    + `${years ? `; incidents dated ${years}` : ''}.`;
}

/** The sample's description and its source list, from config.sample. */
function describeSample(sample, text, list) {
  clear(list);
  if (!sample || !Number.isFinite(sample.incidents)) {
    text.textContent = 'This server does not describe its sample data.';
    return;
  }
  const sources = Array.isArray(sample.sources) ? sample.sources : [];
  const years = span(sample.from, sample.to);
  text.textContent = `Loaded with -seed into an empty database: ${plural(sample.incidents, 'incident')} and `
    + `${plural(sample.routes, 'route')} (${plural(sample.incidents + sample.routes, 'record')}`
    + `${years ? `, dated ${years}` : ''}), coded by hand from ${plural(sources.length, 'article')}:`;
  list.append(...sources.map((s) => {
    const title = String(s.title || s.url || 'Untitled');
    const head = isHttpUrl(s.url)
      ? el('a', { href: s.url, target: '_blank', rel: 'noopener noreferrer', text: title })
      : el('span', { text: title });
    const extra = [s.publisher, `${plural(Number(s.records) || 0, 'record')}`].filter(Boolean).join(', ');
    return el('li', {}, head, el('span', { class: 'nx-muted', text: ` — ${extra}` }));
  }));
}

/**
 * Wires the About button to the dialog; getConfig() returns the latest
 * /api/config answer. The counts load each time the dialog opens.
 */
export function setupAbout({ button, dialog }, getConfig) {
  const now = dialog.querySelector('#about-now');
  const sampleText = dialog.querySelector('#about-sample');
  const sources = dialog.querySelector('#about-sources');
  button.addEventListener('click', async () => {
    describeSample(getConfig()?.sample, sampleText, sources);
    now.textContent = 'Counting…';
    if (typeof dialog.showModal === 'function') dialog.showModal();
    else dialog.setAttribute('open', '');
    dialog.querySelector('button')?.focus();
    try {
      now.textContent = await describeNow();
    } catch (err) {
      now.textContent = `Could not count the records: ${describeError(err)}`;
    }
    dialog.dataset.ready = '1';
  });
  dialog.addEventListener('close', () => {
    delete dialog.dataset.ready;
    button.focus();
  });
}
