// Tests of the map's pure functions (no browser needed):
//   node --test static/test/
// The modules read Leaflet from window.L only when drawing, so a stub will do.

import assert from 'node:assert/strict';
import { test } from 'node:test';

globalThis.window = { L: {} };

const { fileNameOf, exportPath } = await import('../js/export.js');
const { parseHash, formatHash } = await import('../js/url.js');
const dates = await import('../js/dates.js');
const { normaliseField } = await import('../js/forms.js');
const { datetimeParam, normalise } = await import('../js/filters.js');
const { setVocabulary, INCIDENT_TYPES, COMMODITIES } = await import('../js/vocab.js');
const { qs } = await import('../js/api.js');
const { unwrapRing, sourceTile, decodeTile, tilesCovering } = await import('../js/basemap.js');
const geo = await import('../js/geo.js');
const { formatCount } = await import('../js/format.js');

test('counts are short where room is small', () => {
  assert.equal(formatCount(0), '0');
  assert.equal(formatCount(999), '999');
  assert.equal(formatCount(1234), '1.2k');
  assert.equal(formatCount(98135), '98k');
  assert.equal(formatCount(2500000), '2.5M');
  assert.equal(formatCount(12000000), '12M');
});

test('export path names the format, GeoJSON when unknown', () => {
  assert.equal(exportPath('gpkg'), '/api/export.gpkg');
  assert.equal(exportPath('csv'), '/api/export.csv');
  assert.equal(exportPath('kml'), '/api/export.kml');
  assert.equal(exportPath('../x'), '/api/export.geojson');
});

test('export file name comes from Content-Disposition, made safe', () => {
  assert.equal(fileNameOf('attachment; filename="nexus-2024.geojson"'), 'nexus-2024.geojson');
  assert.equal(fileNameOf("attachment; filename*=UTF-8''na%C3%AFve.geojson"), 'naïve.geojson');
  assert.equal(fileNameOf(null), 'nexus-export.geojson');
  assert.equal(fileNameOf('attachment; filename="../../etc/passwd"'), '.._.._etc_passwd');
});

test('the URL hash round-trips view and filters, and keeps no token', () => {
  const h = parseHash('#map=5/10.5/-70.2&type=attack,plot&q=car%20bomb&from=1994&to=1995-06&token=secret');
  assert.deepEqual(h.view, { zoom: 5, lat: 10.5, lng: -70.2 });
  assert.deepEqual(h.filters.type, ['attack', 'plot']);
  assert.equal(h.filters.q, 'car bomb');
  const out = formatHash(h.view, h.filters);
  assert.equal(out, '#map=5/10.5000/-70.2000&type=attack,plot&q=car%20bomb&from=1994&to=1995-06');
  assert.ok(!out.includes('token'));
});

test('the vocabulary is ordered for the legend and keeps only strings', () => {
  setVocabulary({ type: ['other', 'plot', 'attack', 'riot', 3], commodity: ['cash', 'cocaine'] });
  assert.deepEqual(INCIDENT_TYPES, ['attack', 'plot', 'other', 'riot']);
  assert.deepEqual(COMMODITIES, ['cocaine', 'cash']);
});

test('filters drop unknown types and upper-case countries', () => {
  setVocabulary({ type: ['attack', 'plot'], commodity: ['cocaine', 'arms'] });
  const s = normalise({ type: 'attack,bogus', country: 'co, mx', commodity: ['cocaine'] });
  assert.deepEqual(s.type, ['attack']);
  assert.deepEqual(s.country, ['CO', 'MX']);
  assert.deepEqual(s.commodity, ['cocaine']);
});

test('partial dates are shown with their precision', () => {
  assert.equal(dates.describeDate('1994-07'), 'July 1994 — month precision');
  assert.equal(dates.describeDate('1994-07-18'), '18 July 1994 — day precision');
  assert.equal(dates.describeDate('1994'), '1994 — year precision');
  assert.equal(dates.parsePartial('1994-02-30'), null);
  assert.equal(dates.parsePartial('1994-13'), null);
});

test('months round-trip through their index', () => {
  assert.equal(dates.monthKey(dates.monthIndex('1994-07')), '1994-07');
});

test('datetime parameter from a from/to window', () => {
  assert.equal(datetimeParam('1994', '1995'), '1994/1995');
  assert.equal(datetimeParam('1994', ''), '1994/..');
  assert.equal(datetimeParam('', '1995-06'), '../1995-06');
  assert.equal(datetimeParam('', ''), '');
});

test('field names from problem+json map onto form fields', () => {
  assert.equal(normaliseField('properties.sources[0].url'), 'sources.0.url');
  assert.equal(normaliseField('/properties/title'), 'title');
  assert.equal(normaliseField('title'), 'title');
  assert.equal(normaliseField('geometry.coordinates[1]'), 'geometry');
});

test('query strings keep commas readable and escape the rest', () => {
  assert.equal(qs({ bbox: '-10,0,10,5', type: ['attack', 'plot'], q: 'a&b', empty: '', none: null }),
    'bbox=-10,0,10,5&type=attack,plot&q=a%26b');
});

test('basemap rings stitched across the antimeridian are made continuous', () => {
  const fiji = [[177, -17], [179, -16], [-179, -16], [-179, -18], [177, -17]];
  assert.deepEqual(unwrapRing(fiji).map((p) => p[0]), [177, 179, 181, 181, 177]);
  const plain = [[0, 0], [1, 0], [1, 1], [0, 0]];
  assert.equal(unwrapRing(plain), plain);
});

test('offline tiles: deeper zooms draw a part of a stored tile, x wraps', () => {
  assert.deepEqual(sourceTile(4, 3, 5), { z: 4, x: 3, y: 5, extent: 4096, scale: 1 / 16, dx: 0, dy: 0 });
  // Zoom 5 is drawn from zoom 4: tile 7/11 is the lower right quarter of 3/5.
  assert.deepEqual(sourceTile(5, 7, 11), { z: 4, x: 3, y: 5, extent: 4096, scale: 1 / 8, dx: 2048, dy: 2048 });
  // Zoom 12 from zoom 8 (16384 across), a sixteenth of the tile across.
  const s = sourceTile(12, 16 * 10 + 3, 16 * 20 + 15);
  assert.deepEqual([s.z, s.x, s.y, s.extent, s.dx, s.dy, s.scale], [8, 10, 20, 16384, 3072, 15360, 0.25]);
  assert.deepEqual(sourceTile(2, -1, 0), sourceTile(2, 3, 0));
  assert.equal(sourceTile(2, 0, 4), null);
});

test('offline tiles decode: kinds, polygons of rings, border lines', () => {
  assert.deepEqual(decodeTile(Uint8Array.of(0)), { fill: 'sea' });
  assert.deepEqual(decodeTile(Uint8Array.of(1)), { fill: 'land' });
  // One polygon of one ring (0,0) (10,0) (10,-5): zigzag 0,0 20,0 0,9;
  // one border of 2 positions (200,1) (199,1): zigzag 0x190 (bytes 0x90 3),
  // 2, then 1 0.
  // Then one line between divisions: (1,1) (2,3).
  const t = decodeTile(Uint8Array.of(2, 1, 1, 3, 0, 0, 20, 0, 0, 9, 1, 2, 0x90, 3, 2, 1, 0, 1, 2, 2, 2, 2, 4));
  assert.deepEqual(t.p.map((poly) => poly.map((r) => [...r])), [[[0, 0, 10, 0, 10, -5]]]);
  assert.deepEqual(t.b.map((l) => [...l]), [[200, 1, 199, 1]]);
  assert.deepEqual(t.a.map((l) => [...l]), [[1, 1, 2, 3]]);
  assert.throws(() => decodeTile(Uint8Array.of(2, 1, 1, 3, 0)));
});

test('label tiles cover a view, across the antimeridian too', () => {
  const t = tilesCovering({ west: -80, east: -70, south: 0, north: 10 }, 3);
  assert.deepEqual(t.map((c) => [c.x, c.y, c.wrap]), [[2, 3], [2, 4]].map(([x, y]) => [x, y, 0]));
  const w = tilesCovering({ west: 170, east: 190, south: -20, north: -10 }, 2);
  assert.deepEqual(w.map((c) => [c.x, c.wrap]), [[3, 0], [4, 1]]);
});

test('great circles keep their ends and bend poleward', () => {
  const line = geo.greatCircle([-74, 4.6], [-0.1, 51.5], 5);
  assert.deepEqual(line[0], [-74, 4.6]);
  assert.deepEqual(line[line.length - 1], [-0.1, 51.5]);
  const mid = line[Math.floor(line.length / 2)];
  assert.ok(mid[1] > (4.6 + 51.5) / 2, `mid latitude ${mid[1]} should lie north of the rhumb line`);
});

test('routes are split at the antimeridian with the crossing on both sides', () => {
  const parts = geo.routeParts({ type: 'LineString', coordinates: [[170, 10], [-170, 20]] }, 5);
  assert.equal(parts.length, 2);
  assert.equal(parts[0][parts[0].length - 1][1], 180);
  assert.equal(parts[1][0][1], -180);
  assert.equal(parts[0][parts[0].length - 1][0], parts[1][0][0]);
  assert.deepEqual(parts[1][parts[1].length - 1], [20, -170]);
});

test('a view bbox wraps into [-180, 180] and crosses the antimeridian as w > e', () => {
  const fake = (w, s, e, n) => ({
    getBounds: () => ({ getWest: () => w, getEast: () => e, getSouth: () => s, getNorth: () => n }),
  });
  assert.deepEqual(geo.viewBbox(fake(-80, -10, -60, 10)), [-80, -10, -60, 10]);
  assert.deepEqual(geo.viewBbox(fake(170, -10, 190, 10)), [170, -10, -170, 10]);
  assert.deepEqual(geo.viewBbox(fake(-400, -95, 400, 95)), [-180, -90, 180, 90]);
});

test('routeBounds covers the route once, in one piece across the antimeridian', () => {
  const atlantic = { type: 'LineString', coordinates: [[-74.2, 11.24], [-15.6, 11.86], [-9.14, 38.72]] };
  const [[s, w], [n, e]] = geo.routeBounds(atlantic);
  assert.equal(w, -74.2);
  assert.equal(e, -9.14);
  assert.equal(s, 11.24);
  assert.ok(n >= 38.72 && n < 40, `north ${n}`);
  // Fiji to Samoa crosses 180°: the box spans a few degrees, not the world.
  const pacific = { type: 'LineString', coordinates: [[178.4, -18.1], [-171.8, -13.8]] };
  const [[, pw], [, pe]] = geo.routeBounds(pacific);
  assert.equal(pw, 178.4);
  assert.ok(Math.abs(pe - (360 - 171.8)) < 1e-9, `east ${pe}`);
  assert.equal(geo.routeBounds({ type: 'LineString', coordinates: [[1, 2]] }), null);
  assert.equal(geo.routeBounds(null), null);
});

test('country names become codes in any common language; names filters keep', async () => {
  const { countryCode } = await import('../js/vocab.js');
  for (const [text, code] of [['Colombia', 'CO'], ['Kolumbien', 'CO'], ['colombie', 'CO'], ['co', 'CO'],
    ['Guinée-Bissau', 'GW'], ['México', 'MX'], ['Estados Unidos', 'US']]) {
    assert.equal(countryCode(text), code, text);
  }
  assert.equal(countryCode('Colmbia'), '');
  assert.deepEqual(normalise({ country: 'Colombia, mx, Colmbia' }).country, ['CO', 'MX', 'Colmbia']);
});

test('typed coordinates are lat, lon in range; candidates say their kind', async () => {
  const { parseLatLon, candidateKind } = await import('../js/geocode.js');
  assert.deepEqual(parseLatLon('38.72, -9.14'), { lat: 38.72, lon: -9.14 });
  assert.deepEqual(parseLatLon(' 11.86 -15.6 '), { lat: 11.86, lon: -15.6 });
  assert.deepEqual(parseLatLon('-33;151'), { lat: -33, lon: 151 });
  for (const bad of ['91, 0', '0, 181', 'Lisbon', '1, 2, 3', '', '12']) assert.equal(parseLatLon(bad), null, bad);
  assert.equal(candidateKind({ precision: 'place', population: 400000 }), 'city');
  assert.equal(candidateKind({ precision: 'place', population: 900 }), 'town');
  assert.equal(candidateKind({ precision: 'admin', population: 400000 }), 'region');
  assert.equal(candidateKind({ precision: 'country' }), 'country');
  assert.equal(candidateKind({ precision: 'admin', kind: 'district', population: 400000 }), 'district');
  assert.equal(candidateKind({ precision: 'place', kind: 'neighbourhood', population: 30000 }), 'neighbourhood');
});

test('the histogram counts a month by the records overlapping it; imprecise apart', async () => {
  const { monthCounts, playPlan } = await import('../js/timeline.js');
  const c = monthCounts([
    { key: 'year:2018', count: 2 }, { key: 'month:2018-02', count: 1 }, { key: 'day:2018-02', count: 3 },
    { key: 'day:2019-01', count: 1 }, { key: 'bogus', count: 9 },
  ]);
  const feb = dates.monthIndex('2018-02');
  assert.equal(c.exact.get(feb), 3);
  assert.equal(c.approx.get(feb), 3); // the two year records and the month record
  assert.equal(c.approx.get(dates.monthIndex('2018-12')), 2);
  assert.equal(c.approx.get(dates.monthIndex('2019-01')), undefined);
  assert.equal(c.records, 7);
  assert.equal(c.imprecise, 3);
  assert.equal(c.min, dates.monthIndex('2018-01'));
  assert.equal(c.max, dates.monthIndex('2019-01'));
  // Play fits the span: 36 years in 60 s, steps at least 100 ms apart.
  const p = playPlan(432, 60);
  assert.ok(p.interval >= 100);
  assert.ok(Math.abs(p.ticks * p.interval - 60000) <= p.interval, `${p.ticks} × ${p.interval}`);
  const short = playPlan(12, 60);
  assert.equal(short.monthsPerTick, 1);
  assert.equal(short.interval, 5000);
});

test('the address keeps the timeline window and speed', () => {
  const h = formatHash({ zoom: 3, lat: 1, lng: 2 }, normalise({ from: '2011-01', to: '2015-12' }), { win: '60', speed: '30' });
  assert.ok(h.endsWith('&win=60&speed=30'), h);
  const back = parseHash(h);
  assert.deepEqual(back.time, { win: '60', speed: '30' });
  assert.deepEqual(parseHash('#win=abc&speed=').time, { win: '', speed: '' });
});

test('a history line says who changed what, when', async () => {
  const { changedFields, describeChange } = await import('../js/history.js');
  const v1 = { type: 'Feature', geometry: { type: 'Point', coordinates: [1, 2] }, properties: { title: 'a', version: 1, tags: [] } };
  const v2 = { type: 'Feature', geometry: { type: 'Point', coordinates: [1, 3] }, properties: { title: 'b', version: 2, tags: [], summary: 'x' } };
  assert.deepEqual(changedFields(v1, v2), ['geometry', 'summary', 'title']);
  assert.match(describeChange({ version: 2, actor: 'alice', op: 'upsert', before: v1, after: v2 }), /^v2 · by alice · changed geometry, summary, title$/);
  assert.match(describeChange({ version: 1, actor: 'bob', op: 'upsert', after: v1 }), /created$/);
  assert.match(describeChange({ version: 3, op: 'delete', before: v2 }), /deleted$/);
  assert.match(describeChange({ version: 4, actor: 'carol', op: 'update', before: v2, after: v1, restored: 1 }), /^v4 · by carol · restored v1$/);
});

test('a corridor filter needs both the route and a distance, and rides in the URL', async () => {
  assert.deepEqual([normalise({ near_route: 'abc', km: '50' }).near_route, normalise({ near_route: 'abc', km: '50' }).km], ['abc', '50']);
  assert.equal(normalise({ near_route: 'abc' }).near_route, '');
  assert.equal(normalise({ near_route: 'abc', km: '-3' }).near_route, '');
  const f = normalise({ actor: ['Hezbollah'], near_route: 'r1', km: 150 });
  const back = parseHash(formatHash(null, f)).filters;
  assert.equal(back.near_route, 'r1');
  assert.equal(back.km, '150');
});

test('monthly charts fill the months between the first and the last', async () => {
  const { fillMonths } = await import('../js/chart.js');
  assert.deepEqual(fillMonths(['2011-11', '2012-02']), ['2011-11', '2011-12', '2012-01', '2012-02']);
  assert.deepEqual(fillMonths([]), []);
  assert.deepEqual(fillMonths(['1994-07']), ['1994-07']);
});

test('corridor counts read as English', async () => {
  const { typeCount } = await import('../js/popup.js');
  assert.equal(typeCount('seizure', 9), '9 seizures');
  assert.equal(typeCount('arrest', 1), '1 arrest');
  assert.equal(typeCount('financing', 2), '2 financing incidents');
});

test('a drawn feature is replaced by a newer version only; unversioned always', () => {
  const v = (n) => ({ properties: n === undefined ? {} : { version: n } });
  assert.equal(geo.newer(v(2), v(1)), true);
  assert.equal(geo.newer(v(1), v(1)), false, 'a live echo of the saved version');
  assert.equal(geo.newer(v(1), v(2)), false);
  assert.equal(geo.newer(v(), v(3)), true);
  assert.equal(geo.versionOf(v('x')), 0);
});

test('a precision reads as words, the coarse one of a sensitive record as ~10 km', async () => {
  const { precisionText } = await import('../js/vocab.js');
  assert.equal(precisionText('10km'), 'sensitive: shown to the nearest ~10 km (precision: ~10 km)');
  assert.equal(precisionText('exact'), 'exact location (precision: exact)');
  assert.equal(precisionText(''), 'precision not stated');
});
