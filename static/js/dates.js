// Partial dates of the data model ("YYYY", "YYYY-MM", "YYYY-MM-DD": the form
// is the precision), their display, and month arithmetic for the timeline.

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July',
  'August', 'September', 'October', 'November', 'December'];

const PARTIAL = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/;

/**
 * Parses a partial date into {year, month, day, precision} (month, day null
 * when absent; precision "year"|"month"|"day"), or null when malformed.
 * A longer RFC 3339 timestamp is read as its day.
 */
export function parsePartial(text) {
  if (typeof text !== 'string') return null;
  const s = /^\d{4}-\d{2}-\d{2}T/.test(text) ? text.slice(0, 10) : text.trim();
  const m = PARTIAL.exec(s);
  if (!m) return null;
  const year = Number(m[1]);
  const month = m[2] ? Number(m[2]) : null;
  const day = m[3] ? Number(m[3]) : null;
  if (month !== null && (month < 1 || month > 12)) return null;
  if (day !== null) {
    const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
    if (day < 1 || day > last) return null;
  }
  return { year, month, day, precision: day !== null ? 'day' : month !== null ? 'month' : 'year' };
}

/** True when text is a well-formed partial date. */
export function isPartialDate(text) {
  return parsePartial(text) !== null;
}

/** "1994-07-18" → "18 July 1994", "1994-07" → "July 1994", "1994" → "1994". */
export function formatPartial(text) {
  const d = parsePartial(text);
  if (!d) return String(text ?? '');
  if (d.precision === 'year') return String(d.year);
  if (d.precision === 'month') return `${MONTHS[d.month - 1]} ${d.year}`;
  return `${d.day} ${MONTHS[d.month - 1]} ${d.year}`;
}

/** "1994-07" → "July 1994 — month precision". */
export function describeDate(text) {
  const d = parsePartial(text);
  if (!d) return text ? `${text} — unrecognised date` : 'unknown';
  return `${formatPartial(text)} — ${d.precision} precision`;
}

/** The [start, end) of a partial date's span as UTC milliseconds, or null. */
export function spanOf(text) {
  const d = parsePartial(text);
  if (!d) return null;
  if (d.precision === 'year') return [Date.UTC(d.year, 0, 1), Date.UTC(d.year + 1, 0, 1)];
  if (d.precision === 'month') return [Date.UTC(d.year, d.month - 1, 1), Date.UTC(d.year, d.month, 1)];
  return [Date.UTC(d.year, d.month - 1, d.day), Date.UTC(d.year, d.month - 1, d.day + 1)];
}

/** "1994-07" (or any partial date) → a month number: year*12 + month-1. */
export function monthIndex(text) {
  const d = parsePartial(text);
  if (!d) return null;
  return d.year * 12 + ((d.month ?? 1) - 1);
}

/** A month number → "YYYY-MM". */
export function monthKey(index) {
  const year = Math.floor(index / 12);
  const month = index - year * 12 + 1;
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}`;
}

/** A month number → "Jul 1994". */
export function monthLabel(index) {
  const year = Math.floor(index / 12);
  return `${MONTHS[index - year * 12].slice(0, 3)} ${year}`;
}

/** An RFC 3339 timestamp → "1994-07-18 14:05 UTC"; anything else as it is. */
export function formatTimestamp(text) {
  const t = Date.parse(text);
  if (!Number.isFinite(t)) return String(text ?? '');
  return `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
