// The page address keeps the picture: view, filters and time window, e.g.
//   #map=5/10.5/-70.2&type=attack,plot&actor=ISIS&q=embassy&from=1994&to=1995-06&win=60&speed=30
// (win: the timeline's window in months, speed: seconds Play takes).
// so that a link reopens the same map. The token is never written here.

import { normalise } from './filters.js';

const KEYS = ['type', 'actor', 'country', 'commodity', 'q', 'from', 'to', 'near_route', 'km'];

/** The timeline's settings kept in the address: window (months) and speed (seconds). */
const TIME_KEYS = ['win', 'speed'];

function enc(value) {
  return encodeURIComponent(value).replace(/%2C/gi, ',').replace(/%2F/gi, '/').replace(/%3A/gi, ':');
}

/** Reads {view: {zoom, lat, lng} | null, filters, time: {win, speed}} from a hash string. */
export function parseHash(hash = location.hash) {
  const params = new Map();
  for (const part of hash.replace(/^#/, '').split('&')) {
    if (!part) continue;
    const at = part.indexOf('=');
    const key = at < 0 ? part : part.slice(0, at);
    let value = at < 0 ? '' : part.slice(at + 1);
    try {
      value = decodeURIComponent(value.replace(/\+/g, ' '));
    } catch {
      // keep the raw value
    }
    params.set(key, value);
  }
  let view = null;
  const m = /^(\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)$/.exec(params.get('map') || '');
  if (m) {
    const zoom = Number(m[1]);
    const lat = Number(m[2]);
    const lng = Number(m[3]);
    if (zoom >= 0 && zoom <= 20 && Math.abs(lat) <= 90 && Math.abs(lng) <= 540) view = { zoom, lat, lng };
  }
  const raw = {};
  for (const k of KEYS) raw[k] = params.get(k) || '';
  const time = {};
  for (const k of TIME_KEYS) {
    const v = params.get(k) || '';
    time[k] = /^\d{1,4}(\.\d+)?$/.test(v) ? v : '';
  }
  return { view, filters: normalise(raw), time };
}

/** The hash for a view, filters and timeline settings (no token). */
export function formatHash(view, filters, time = {}) {
  const parts = [];
  if (view) {
    const z = Number.isInteger(view.zoom) ? view.zoom : view.zoom.toFixed(2);
    parts.push(`map=${z}/${view.lat.toFixed(4)}/${view.lng.toFixed(4)}`);
  }
  for (const k of KEYS) {
    const v = filters[k];
    const s = Array.isArray(v) ? v.join(',') : String(v ?? '');
    if (s) parts.push(`${k}=${enc(s)}`);
  }
  for (const k of TIME_KEYS) {
    if (time[k]) parts.push(`${k}=${enc(String(time[k]))}`);
  }
  return `#${parts.join('&')}`;
}

/** Writes the hash without adding a history entry. Returns the hash written. */
export function writeHash(view, filters, time = {}) {
  const hash = formatHash(view, filters, time);
  if (hash !== location.hash) {
    history.replaceState(history.state, '', location.pathname + location.search + hash);
  }
  return hash;
}
