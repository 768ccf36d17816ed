// The vocabulary of the data model (SPEC "Data model") and the colours the map
// gives it. One place, so markers, routes, legend and filters agree.

/** Incident types, in the order the legend and the type filter show them. */
export const INCIDENT_TYPES = [
  'attack', 'assassination', 'plot', 'kidnapping', 'arrest',
  'seizure', 'trafficking', 'financing', 'recruitment', 'other',
];

/** Marker colour per incident type. */
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

/** Route commodities, in legend order. */
export const COMMODITIES = [
  'cocaine', 'heroin', 'methamphetamine', 'fentanyl', 'cannabis',
  'arms', 'cash', 'people', 'other',
];

/** Line colour per route commodity. */
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

/** Route modes of transport. */
export const MODES = ['sea', 'air', 'land', 'mixed'];

/** Route confidence levels, with the dash pattern that shows each. */
export const CONFIDENCES = ['low', 'medium', 'high'];
export const CONFIDENCE_DASH = { low: '2 7', medium: '10 6', high: null };

/** How precise an incident's point is, from most to least precise. */
export const PRECISIONS = ['exact', 'place', 'admin', 'country', 'unknown'];

/** Human descriptions of the location precisions. */
export const PRECISION_LABELS = {
  exact: 'exact location',
  place: 'town or named place',
  admin: 'province or state',
  country: 'country only',
  unknown: 'unknown',
};

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
