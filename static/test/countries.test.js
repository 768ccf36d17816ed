// Tests of the country shading's classes (no browser needed):
//   node --test static/test/

import assert from 'node:assert/strict';
import { test } from 'node:test';

globalThis.window ??= { L: {} };

const {
  PALETTE, classBreaks, classColour, classLabels, classOf, countsOf,
} = await import('../js/countries.js');

test('class breaks: one per count up to five, then geometric up to the maximum', () => {
  assert.deepEqual(classBreaks(0), []);
  assert.deepEqual(classBreaks(-3), []);
  assert.deepEqual(classBreaks(1), [1]);
  assert.deepEqual(classBreaks(4), [1, 2, 3, 4]);
  assert.deepEqual(classBreaks(5), [1, 2, 3, 4, 5]);
  assert.deepEqual(classBreaks(6), [1, 2, 3, 4, 6]);
  assert.deepEqual(classBreaks(1000), [4, 16, 63, 250, 1000]);
  for (const max of [7, 12, 37, 99, 101, 5000, 123456]) {
    const b = classBreaks(max);
    assert.ok(b.length >= 2 && b.length <= PALETTE.length, `${max}: ${b}`);
    assert.equal(b.at(-1), max);
    for (let i = 1; i < b.length; i++) assert.ok(b[i] > b[i - 1], `${max}: ${b}`);
  }
});

test('class of a count: none for zero, the last class for the maximum', () => {
  const b = classBreaks(1000);
  assert.equal(classOf(0, b), -1);
  assert.equal(classOf(undefined, b), -1);
  assert.equal(classOf(1, b), 0);
  assert.equal(classOf(4, b), 0);
  assert.equal(classOf(5, b), 1);
  assert.equal(classOf(1000, b), 4);
  assert.equal(classOf(3, []), -1);
});

test('class colours spread over the palette, the top class darkest', () => {
  const darkest = PALETTE.at(-1);
  for (let k = 1; k <= PALETTE.length; k++) assert.equal(classColour(k - 1, k), darkest);
  assert.equal(classColour(0, 5), PALETTE[0]);
  assert.equal(classColour(0, 4), PALETTE[0]);
});

test('class labels and counts from the stats answer', () => {
  assert.deepEqual(classLabels([1, 2, 3, 4, 6]), ['1', '2', '3', '4', '5–6']);
  assert.deepEqual(classLabels([4, 16, 63, 250, 1000]), ['1–4', '5–16', '17–63', '64–250', '251–1,000']);
  const c = countsOf({ counts: [{ key: 'CO', count: 3 }, { key: 'mx', count: '2' }, { key: '', count: 9 }, null] });
  assert.deepEqual([...c], [['CO', 3], ['MX', 2]]);
  assert.equal(countsOf(null).size, 0);
});
