// The density mode: the incidents of the view drawn as a heat map, from the
// same answer of /api/view as the markers (cluster points weighted by their
// count, or single incidents). A canvas over the map: each point leaves a
// soft round mark whose strength grows with the log of its weight; the
// summed strength is then coloured along a ramp from blue to red.

const { L } = window;

/** Colour stops of the ramp, from faint to dense. */
const RAMP = [
  [0.0, [44, 123, 182]],
  [0.3, [0, 166, 202]],
  [0.5, [144, 235, 157]],
  [0.7, [249, 208, 87]],
  [0.85, [242, 158, 46]],
  [1.0, [215, 25, 28]],
];

/** The ramp as 256 RGB triples, for strengths 0 to 255. */
export function densityRamp() {
  const out = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    let k = 1;
    while (k < RAMP.length - 1 && RAMP[k][0] < t) k++;
    const [t0, c0] = RAMP[k - 1];
    const [t1, c1] = RAMP[k];
    const f = Math.min(1, Math.max(0, (t - t0) / (t1 - t0)));
    for (let j = 0; j < 3; j++) out[i * 3 + j] = Math.round(c0[j] + (c1[j] - c0[j]) * f);
  }
  return out;
}

/**
 * The strength (0 to 1) of a point of weight w when the heaviest in view
 * weighs top: the square root of its share, so that crowds stand out from
 * the scattered background, yet every point leaves a trace.
 */
export function strength(w, top) {
  if (!(w > 0) || !(top > 0)) return 0;
  return Math.max(0.05, Math.sqrt(Math.min(1, w / top)));
}

/** The points of an /api/view answer as {lat, lng, w}. */
export function densityPoints(fc) {
  const out = [];
  for (const f of Array.isArray(fc?.features) ? fc.features : []) {
    const c = f?.geometry?.coordinates;
    if (f?.geometry?.type !== 'Point' || !Array.isArray(c)) continue;
    const [lng, lat] = c;
    if (!Number.isFinite(lng) || !Number.isFinite(lat)) continue;
    const w = f.properties?.cluster ? Number(f.properties.count) || 0 : 1;
    if (w > 0) out.push({ lat, lng, w });
  }
  return out;
}

/** Radius of one incident's mark, in pixels. */
const POINT_RADIUS = 14;

/**
 * The radius of the marks for an answer at a zoom: the side of its grid
 * cell in pixels when clustered, so that neighbouring cells blend into one
 * surface instead of a lattice of spots.
 */
export function markRadius(cellDegrees, zoom) {
  if (!(cellDegrees > 0)) return POINT_RADIUS;
  const px = (cellDegrees / 360) * 256 * 2 ** zoom;
  return Math.round(Math.min(120, Math.max(POINT_RADIUS, px)));
}

/** The density layer: add its .layer to the map or the layers control. */
export class DensityLayer {
  constructor() {
    this.points = [];
    this.ramp = densityRamp();
    this.brush = null;
    this.cell = 0;
    const self = this;
    const Layer = L.Layer.extend({
      onAdd(map) {
        self.map = map;
        self.canvas = L.DomUtil.create('canvas', 'nx-density leaflet-zoom-hide');
        map.getPanes().overlayPane.appendChild(self.canvas);
        map.on('moveend resize', self.draw, self);
        self.draw();
      },
      onRemove(map) {
        map.off('moveend resize', self.draw, self);
        self.canvas.remove();
        self.canvas = null;
      },
    });
    this.layer = new Layer();
  }

  /** Shows the points of a new /api/view answer. */
  setData(fc) {
    this.points = densityPoints(fc);
    this.cell = fc?.clustered ? Number(fc.cell) || 0 : 0;
    if (this.canvas) this.draw();
  }

  /** A soft round mark of radius r, drawn once and stamped for every point. */
  makeBrush(r) {
    const c = document.createElement('canvas');
    c.width = c.height = r * 2;
    const g = c.getContext('2d');
    const grad = g.createRadialGradient(r, r, 0, r, r, r);
    grad.addColorStop(0, 'rgba(0,0,0,1)');
    grad.addColorStop(1, 'rgba(0,0,0,0)');
    g.fillStyle = grad;
    g.fillRect(0, 0, r * 2, r * 2);
    return c;
  }

  /** Redraws the canvas over the map's current view. */
  draw() {
    const { map, canvas } = this;
    if (!map || !canvas) return;
    const size = map.getSize();
    canvas.width = size.x;
    canvas.height = size.y;
    L.DomUtil.setPosition(canvas, map.containerPointToLayerPoint([0, 0]));
    const g = canvas.getContext('2d');
    g.clearRect(0, 0, size.x, size.y);
    if (!this.points.length || !size.x || !size.y) return;
    const r = markRadius(this.cell, map.getZoom());
    if (this.brush?.width !== r * 2) this.brush = this.makeBrush(r);
    const top = this.points.reduce((m, p) => Math.max(m, p.w), 0);
    for (const p of this.points) {
      const at = map.latLngToContainerPoint([p.lat, p.lng]);
      if (at.x < -r || at.y < -r || at.x > size.x + r || at.y > size.y + r) continue;
      g.globalAlpha = strength(p.w, top);
      g.drawImage(this.brush, at.x - r, at.y - r);
    }
    g.globalAlpha = 1;
    const img = g.getImageData(0, 0, size.x, size.y);
    const px = img.data;
    for (let i = 0; i < px.length; i += 4) {
      const a = px[i + 3];
      if (!a) continue;
      px[i] = this.ramp[a * 3];
      px[i + 1] = this.ramp[a * 3 + 1];
      px[i + 2] = this.ramp[a * 3 + 2];
      px[i + 3] = Math.min(230, 60 + a);
    }
    g.putImageData(img, 0, 0);
    canvas.dataset.points = String(this.points.length);
  }
}
