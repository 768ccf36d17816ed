// Place search for the forms: /api/geocode turns a place name into
// candidates (GeoNames), /api/reverse names the country and nearest place
// of a clicked point.

import { getJSON, withQuery } from './api.js';
import { clear, el } from './dom.js';
import { countryName } from './vocab.js';

/** Candidate places for a name, best first: [{name, admin1, country, point, population, precision}]. */
export async function geocode(q, limit = 5) {
  const data = await getJSON(withQuery('/api/geocode', { q, limit }));
  const list = Array.isArray(data) ? data : Array.isArray(data?.results) ? data.results : [];
  return list.filter((c) => Array.isArray(c?.point) && Number.isFinite(c.point[0]) && Number.isFinite(c.point[1]));
}

/** {country, place} near a point, or nulls when the server has no answer. */
export async function reverse(lon, lat) {
  const data = await getJSON(withQuery('/api/reverse', { lon: lon.toFixed(6), lat: lat.toFixed(6) }));
  const country = typeof data?.country === 'string' ? data.country
    : typeof data?.country?.code === 'string' ? data.country.code : null;
  const p = data?.place ?? data?.nearest ?? null;
  const place = typeof p === 'string' ? p : typeof p?.name === 'string' ? p.name
    : typeof data?.name === 'string' ? data.name : null;
  return { country, place };
}

/** Places of at least this many people are called cities, smaller ones towns. */
const CITY_POPULATION = 100000;

/**
 * What kind of place a candidate is, as the server names it (capital,
 * city, town, village, neighbourhood, district, region, country), or from
 * its precision and population for a server that does not.
 */
export function candidateKind(c) {
  if (typeof c.kind === 'string' && c.kind) return c.kind;
  if (c.precision === 'country') return 'country';
  if (c.precision === 'admin') return 'region';
  return Number(c.population) >= CITY_POPULATION ? 'city' : 'town';
}

/** "Bogotá (city), Bogota D.C., Colombia (CO) · pop. 7,674,366". */
export function candidateLabel(c) {
  const where = [`${c.name} (${candidateKind(c)})`, c.admin1, c.country ? countryName(c.country) : null].filter(Boolean).join(', ');
  const pop = Number(c.population) > 0 ? ` · pop. ${Number(c.population).toLocaleString('en')}` : '';
  return `${where}${pop}`;
}

/**
 * A position typed as "lat, lon" (or "lat lon") in decimal degrees, as
 * {lat, lon}; null when the text is not two numbers in range.
 */
export function parseLatLon(text) {
  const m = String(text ?? '').trim().match(/^([-+]?\d+(?:\.\d+)?)\s*[,;\s]\s*([-+]?\d+(?:\.\d+)?)$/);
  if (!m) return null;
  const lat = Number(m[1]);
  const lon = Number(m[2]);
  if (!(Math.abs(lat) <= 90 && Math.abs(lon) <= 180)) return null;
  return { lat, lon };
}

/**
 * Wires a place search: input + button → a list of candidate buttons in
 * results; onPick(candidate) runs for the one chosen. Enter in the input
 * searches too.
 */
export function setupPlaceSearch({ input, button, results, status }, onPick) {
  const run = async () => {
    const q = input.value.trim();
    clear(results);
    if (!q) return;
    status.textContent = 'Searching…';
    try {
      const found = await geocode(q, 5);
      const fellBack = found.find((c) => c.fallback)?.fallback;
      status.textContent = fellBack || (found.length ? `${found.length} places found.` : 'No place found by that name.');
      for (const c of found) {
        results.append(el('li', {}, el('button', {
          type: 'button',
          class: 'candidate',
          text: candidateLabel(c),
          onclick: () => {
            clear(results);
            status.textContent = `Chosen: ${candidateLabel(c)}`;
            onPick(c);
          },
        })));
      }
      results.querySelector('button')?.focus();
    } catch (err) {
      status.textContent = `Place search failed: ${err?.message || err}`;
    }
  };
  button.addEventListener('click', run);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      run();
    }
  });
}
