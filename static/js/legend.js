// The legend, a map control: incident colours by type, route colours by
// commodity, line styles by confidence, marker outlines by precision, and
// how to show the country shading (whose classes have a legend of their
// own while it is on: countries.js).

import { el } from './dom.js';
import {
  COMMODITIES, CONFIDENCES, CONFIDENCE_DASH, INCIDENT_TYPES, commodityColour, label, typeColour,
} from './vocab.js';

const { L } = window;

function lineSwatch(colour, dash) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('width', '28');
  svg.setAttribute('height', '10');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  path.setAttribute('d', 'M1 5 H27');
  path.setAttribute('stroke', colour);
  path.setAttribute('stroke-width', '3');
  path.setAttribute('stroke-linecap', 'round');
  if (dash) path.setAttribute('stroke-dasharray', dash);
  svg.append(path);
  return svg;
}

/**
 * Adds the legend control to the map, closed: it opens on demand and never
 * covers the data on load.
 */
export function addLegend(map) {
  const Legend = L.Control.extend({
    options: { position: 'bottomright' },
    onAdd() {
      const box = el('details', { class: 'nx-legend leaflet-bar', id: 'legend' },
        el('summary', { text: 'Legend' }),
        el('h3', { text: 'Incidents' }),
        el('ul', { class: 'nx-legend-grid' }, INCIDENT_TYPES.map((t) => el('li', {},
          el('span', { class: 'nx-swatch', style: { background: typeColour(t) }, 'aria-hidden': 'true' }),
          label(t)))),
        el('p', { class: 'nx-legend-note' },
          el('span', { class: 'nx-swatch prec-demo', 'aria-hidden': 'true' }),
          ' dashed outline: approximate location'),
        el('h3', { text: 'Routes (arrows: direction of travel)' }),
        el('ul', { class: 'nx-legend-grid' }, COMMODITIES.map((c) => el('li', {}, lineSwatch(commodityColour(c)), label(c)))),
        el('p', { class: 'nx-legend-note' }, 'Confidence:',
          CONFIDENCES.map((c) => el('span', { class: 'nx-legend-conf' }, lineSwatch('#444', CONFIDENCE_DASH[c]), c))),
        el('h3', { text: 'Country shading' }),
        el('p', { class: 'nx-legend-note', text: 'Off by default: tick "Country shading" in the layers control (top right) to colour each country by its number of incidents under the filters.' }));
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    },
  });
  return new Legend().addTo(map);
}
