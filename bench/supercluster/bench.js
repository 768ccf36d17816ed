// Benchmark anchor for make bench: supercluster indexes the points of a
// file (little-endian float64 lon, lat pairs) and answers the views of a
// JSON file [{name, bbox: [w, s, e, n], zoom}], each `repeat` times.
// Prints {points, buildMs, views: [{name, clusters, p50Ms, p99Ms}]}.
import { readFileSync } from 'node:fs';
import Supercluster from 'supercluster';

const [pointsFile, viewsFile, repeatArg] = process.argv.slice(2);
const repeat = Number(repeatArg) || 50;
const buf = readFileSync(pointsFile);
const coords = new Float64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8);
const features = new Array(coords.length / 2);
for (let i = 0; i < features.length; i++) {
  features[i] = {
    type: 'Feature',
    properties: null,
    geometry: { type: 'Point', coordinates: [coords[2 * i], coords[2 * i + 1]] },
  };
}
const start = process.hrtime.bigint();
const index = new Supercluster({ radius: 64, maxZoom: 16 }).load(features);
const buildMs = Number(process.hrtime.bigint() - start) / 1e6;

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const views = JSON.parse(readFileSync(viewsFile, 'utf8')).map((v) => {
  const times = [];
  let clusters = 0;
  for (let k = 0; k < repeat; k++) {
    const t0 = process.hrtime.bigint();
    clusters = index.getClusters(v.bbox, v.zoom).length;
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { name: v.name, clusters, p50Ms: quantile(times, 0.5), p99Ms: quantile(times, 0.99) };
});
process.stdout.write(JSON.stringify({ points: features.length, buildMs, views }));
