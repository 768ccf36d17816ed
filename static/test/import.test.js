import { test } from 'node:test';
import assert from 'node:assert/strict';

import { describeProgress, importType, readLines, rejectedCSV } from '../js/import.js';

test('importType sends each file as what it is', () => {
  assert.equal(importType('acled-2024.CSV'), 'text/csv');
  assert.equal(importType('events.geojson'), 'application/geo+json');
  assert.equal(importType('events.json'), 'application/geo+json');
  assert.equal(importType('events.geojsonl'), 'application/geo+json-seq');
  assert.equal(importType('export'), 'application/octet-stream');
});

test('readLines takes complete lines only and resumes where it stopped', () => {
  let text = '{"type":"progress","rows":0}\n{"type":"progress","ro';
  let got = readLines(text, 0);
  assert.deepEqual(got.lines, [{ type: 'progress', rows: 0 }]);
  text += 'ws":10000}\n\n{"type":"report","rows":12000,"report":{"created":12000}}\n';
  got = readLines(text, got.offset);
  assert.deepEqual(got.lines.map((l) => l.rows), [10000, 12000]);
  assert.equal(got.lines[1].report.created, 12000);
  assert.equal(got.offset, text.length);
});

test('describeProgress says rows, rate and share', () => {
  assert.equal(describeProgress({ rows: 12345, sent: 37, total: 100, seconds: 3 }), '12,345 rows · 4,115 rows/s · 37 %');
  assert.equal(describeProgress({ rows: 0, sent: 0, total: 100, seconds: 0 }), '0 rows · 0 %');
  assert.equal(describeProgress({ rows: 10, seconds: 2 }), '10 rows · 5 rows/s');
});

test('rejectedCSV quotes what needs quoting', () => {
  const csv = rejectedCSV({ rejected: [{ line: 9, field: 'type', reason: 'is required, one of "attack", …' }, { line: 12, field: 'date', reason: 'plain' }] });
  assert.equal(csv, 'line,field,reason\n9,type,"is required, one of ""attack"", …"\n12,date,plain\n');
});
