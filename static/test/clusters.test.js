// Tests of how clusters and the density mode read (no browser needed).

import assert from 'node:assert/strict';
import { test } from 'node:test';

const stub = () => function Stub() {};
globalThis.window = { L: { Layer: { extend: stub }, DivIcon: { extend: stub } } };

const { clusterSlices, clusterSize, dominantType } = await import('../js/incidents.js');
const {
  densityPoints, densityRamp, markRadius, strength,
} = await import('../js/density.js');
const { TYPE_COLOURS } = await import('../js/vocab.js');

test('a cluster is coloured by its dominant type', () => {
  assert.equal(dominantType({ attack: 3, plot: 9, arrest: 1 }), 'plot');
  assert.equal(dominantType({}), 'other');
  assert.equal(dominantType({ bogus: 5 }), 'other');
});

test('a ring has at most three slices: the leading types and the rest in grey', () => {
  const slices = clusterSlices({ attack: 50, plot: 30, arrest: 10, seizure: 6, other: 4 });
  assert.equal(slices.length, 3);
  assert.deepEqual(slices.map(([c]) => c), [TYPE_COLOURS.attack, TYPE_COLOURS.plot, '#b8b8b8']);
  assert.deepEqual(slices.map(([, s]) => s), [0.5, 0.3, 0.2]);
  assert.deepEqual(clusterSlices({ kidnapping: 7 }), [[TYPE_COLOURS.kidnapping, 1]]);
  assert.equal(clusterSlices({ attack: 1, plot: 1, arrest: 1 }).length, 3);
  assert.deepEqual(clusterSlices({}), [[TYPE_COLOURS.other, 1]]);
});

test('cluster area follows its share of the largest in view', () => {
  assert.equal(clusterSize(1000, 1000), 64);
  assert.equal(clusterSize(250, 1000), 42);
  assert.ok(clusterSize(1, 1000000) >= 20 && clusterSize(1, 1000000) < 21);
  assert.ok(clusterSize(10, 100) < clusterSize(20, 100));
});

test('density points weigh clusters by count and incidents by one', () => {
  const pts = densityPoints({
    features: [
      { geometry: { type: 'Point', coordinates: [-74, 4.6] }, properties: { cluster: true, count: 120 } },
      { geometry: { type: 'Point', coordinates: [2.3, 48.8] }, properties: { title: 'x' } },
      { geometry: { type: 'LineString', coordinates: [[0, 0], [1, 1]] }, properties: {} },
      { geometry: { type: 'Point', coordinates: ['a', 1] }, properties: {} },
    ],
  });
  assert.deepEqual(pts, [{ lat: 4.6, lng: -74, w: 120 }, { lat: 48.8, lng: 2.3, w: 1 }]);
  assert.deepEqual(densityPoints(null), []);
});

test('density strength grows with the square root of the share', () => {
  assert.equal(strength(0, 10), 0);
  assert.equal(strength(1000, 1000), 1);
  assert.equal(strength(250, 1000), 0.5);
  assert.equal(strength(1, 1e6), 0.05);
  assert.ok(strength(100, 1000) < strength(200, 1000));
  const ramp = densityRamp();
  assert.equal(ramp.length, 768);
  assert.deepEqual([...ramp.slice(0, 3)], [44, 123, 182]);
  assert.deepEqual([...ramp.slice(765)], [215, 25, 28]);
});

test('density marks of clusters span their grid cell', () => {
  assert.equal(markRadius(360 / 16, 2), 64);
  assert.equal(markRadius(0, 9), 14);
  assert.equal(markRadius(360 / 4, 6), 120);
  assert.equal(markRadius(360 / 2 ** 14, 9), 14);
  assert.equal(markRadius(360 / 2 ** 14, 10), 16);
});
