// The vocabulary of the data model (SPEC "Data model") as the server defines
// it (GET /api/vocabulary), and the colours the map gives it. One place, so
// markers, routes, legend, forms and filters agree with the server.

import { getJSON } from './api.js';
import { el } from './dom.js';

/**
 * Incident types, in the order the legend and the type filter show them
 * (the order of TYPE_COLOURS, then any the map has no colour for). Filled
 * by loadVocabulary, like the other lists below.
 */
export const INCIDENT_TYPES = [];

/** Route commodities, in legend order. */
export const COMMODITIES = [];

/** Route modes of transport. */
export const MODES = [];

/** Route confidence levels. */
export const CONFIDENCES = [];

/** How precise an incident's point is, from most to least precise. */
export const PRECISIONS = [];

/** Marker colour per incident type; the key order is the legend's. */
export const TYPE_COLOURS = {
  attack: '#d7191c',
  assassination: '#7a0019',
  plot: '#f28e2b',
  kidnapping: '#a6519e',
  arrest: '#2b83ba',
  seizure: '#1a9641',
  trafficking: '#8c564b',
  financing: '#d4a200',
  recruitment: '#17becf',
  other: '#7f7f7f',
};

/** Line colour per route commodity; the key order is the legend's. */
export const COMMODITY_COLOURS = {
  cocaine: '#e7298a',
  heroin: '#6a51a3',
  methamphetamine: '#1b9e77',
  fentanyl: '#d95f02',
  cannabis: '#66a61e',
  arms: '#252525',
  cash: '#a6761d',
  people: '#1f78b4',
  other: '#888888',
};

/** The dash pattern that shows each route confidence level. */
export const CONFIDENCE_DASH = { low: '2 7', medium: '10 6', high: null };

/** Human descriptions of the location precisions. */
export const PRECISION_LABELS = {
  exact: 'exact location',
  place: 'town or named place',
  admin: 'province or state',
  country: 'country only',
  unknown: 'unknown',
  '10km': 'sensitive: shown to the nearest ~10 km',
};

/** What the popup says of a precision: "… (precision: ~10 km)". */
export function precisionText(precision) {
  if (!precision) return 'precision not stated';
  const shown = precision === '10km' ? '~10 km' : precision;
  return `${PRECISION_LABELS[precision] || precision} (precision: ${shown})`;
}

/** values ordered as the keys of table, values it lacks last. */
function inOrderOf(values, table) {
  const keys = Object.keys(table);
  const rank = (v) => (keys.includes(v) ? keys.indexOf(v) : keys.length);
  return [...values].sort((a, b) => rank(a) - rank(b));
}

/**
 * Sets the lists from the server's vocabulary ({type, commodity, mode,
 * confidence, precision: [string]}); lists it lacks are left as they are.
 */
export function setVocabulary(v) {
  const strings = (x) => (Array.isArray(x) ? x.filter((s) => typeof s === 'string') : null);
  const put = (list, values) => {
    if (values) list.splice(0, list.length, ...values);
  };
  const types = strings(v?.type);
  const commodities = strings(v?.commodity);
  put(INCIDENT_TYPES, types && inOrderOf(types, TYPE_COLOURS));
  put(COMMODITIES, commodities && inOrderOf(commodities, COMMODITY_COLOURS));
  put(MODES, strings(v?.mode));
  put(CONFIDENCES, strings(v?.confidence));
  put(PRECISIONS, strings(v?.precision));
}

/** Loads the vocabulary from the server (GET /api/vocabulary). */
export async function loadVocabulary() {
  setVocabulary(await getJSON('/api/vocabulary'));
}

/**
 * Appends an option for each value of the vocabulary a select names in
 * its data-vocabulary attribute (type, commodity, mode, confidence or
 * precision), after the options it has (such as "not stated").
 */
export function fillSelects(root) {
  const lists = {
    type: INCIDENT_TYPES, commodity: COMMODITIES, mode: MODES, confidence: CONFIDENCES, precision: PRECISIONS,
  };
  for (const select of root.querySelectorAll('select[data-vocabulary]')) {
    const values = lists[select.dataset.vocabulary] || [];
    const labels = select.dataset.vocabulary === 'precision' ? PRECISION_LABELS : {};
    for (const v of values) select.append(el('option', { value: v, text: labels[v] || v }));
  }
}

/** Colour of a type; unknown types get the colour of "other". */
export function typeColour(type) {
  return TYPE_COLOURS[type] || TYPE_COLOURS.other;
}

/** Colour of a commodity; unknown commodities get the colour of "other". */
export function commodityColour(commodity) {
  return COMMODITY_COLOURS[commodity] || COMMODITY_COLOURS.other;
}

/** "trafficking" → "Trafficking". */
export function label(word) {
  const s = String(word ?? '');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

let regionNames = null;
try {
  regionNames = new Intl.DisplayNames(['en'], { type: 'region' });
} catch {
  regionNames = null;
}

/** "CO" → "Colombia (CO)"; anything unknown is returned as it is. */
export function countryName(code) {
  if (!code) return '';
  const c = String(code).toUpperCase();
  if (!/^[A-Z]{2}$/.test(c) || !regionNames) return String(code);
  try {
    const name = regionNames.of(c);
    return name && name !== c ? `${name} (${c})` : c;
  } catch {
    return c;
  }
}

/** Languages whose country names the map understands besides the browser's own. */
const NAME_LANGUAGES = ['en', 'es', 'fr', 'de', 'pt', 'it', 'nl', 'ar', 'ru', 'zh'];

let codesByName = null;

function foldName(s) {
  return String(s).normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
}

/**
 * The ISO 3166-1 alpha-2 code of a country typed by code or by name in the
 * browser's language or a common one ("Colombia", "Kolumbien", "co" → "CO"),
 * from the browser's own region names (Intl.DisplayNames); "" when unknown
 * here (the server knows more names, and names the closest on a miss).
 */
export function countryCode(text) {
  const s = String(text ?? '').trim();
  if (/^[A-Za-z]{2}$/.test(s)) return s.toUpperCase();
  if (!codesByName) {
    codesByName = new Map();
    const langs = [...new Set([...(globalThis.navigator?.languages || []), ...NAME_LANGUAGES])];
    for (const lang of langs) {
      let names;
      try {
        names = new Intl.DisplayNames([lang], { type: 'region', fallback: 'none' });
      } catch {
        continue;
      }
      for (let a = 65; a <= 90; a++) {
        for (let b = 65; b <= 90; b++) {
          const code = String.fromCharCode(a, b);
          let name;
          try {
            name = names.of(code);
          } catch {
            name = undefined;
          }
          if (name && name !== code) {
            const key = foldName(name);
            if (!codesByName.has(key)) codesByName.set(key, code);
          }
        }
      }
    }
  }
  return codesByName.get(foldName(s)) || '';
}
