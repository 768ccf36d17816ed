// The export button: downloads every incident and route matching the
// filters in the current view as one file in the chosen format (GeoJSON,
// GeoPackage, CSV of the incidents, KML), from /api/export.{format}.
// The request goes through fetch so that the token travels as a header,
// never in the address.

import { describeError, request, withQuery } from './api.js';
import { notify } from './notice.js';

/** The file name from a Content-Disposition header, or the fallback. */
export function fileNameOf(disposition, fallback = 'nexus-export.geojson') {
  if (!disposition) return fallback;
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(disposition);
  if (star) {
    try {
      return sanitise(decodeURIComponent(star[1].trim().replace(/^"|"$/g, ''))) || fallback;
    } catch {
      // fall through to the plain parameter
    }
  }
  const plain = /filename\s*=\s*("([^"]*)"|[^;]+)/.exec(disposition);
  if (plain) return sanitise((plain[2] ?? plain[1]).trim()) || fallback;
  return fallback;
}

function sanitise(name) {
  return name.replace(/[/\\\0-\x1f]/g, '_').slice(0, 200);
}

/** The formats of /api/export.{format}. */
export const EXPORT_FORMATS = ['geojson', 'gpkg', 'csv', 'kml'];

/** The export's path for a format; anything unknown is GeoJSON. */
export function exportPath(format) {
  return `/api/export.${EXPORT_FORMATS.includes(format) ? format : 'geojson'}`;
}

/**
 * Wires the button. getQuery() returns the query parameters of the export
 * (bbox and filters); select, when given, chooses the format.
 */
export function setupExport(button, getQuery, select = null) {
  button.addEventListener('click', async () => {
    const before = button.textContent;
    button.disabled = true;
    button.textContent = 'Exporting…';
    try {
      const format = select ? select.value : 'geojson';
      const res = await request(withQuery(exportPath(format), getQuery()), {
        raw: true, headers: { Accept: '*/*' },
      });
      const blob = await res.blob();
      const name = fileNameOf(res.headers.get('Content-Disposition'), `nexus-export.${format}`);
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = name;
      a.hidden = true;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      notify(`Exported ${name} (${Math.max(1, Math.round(blob.size / 1024))} KB).`);
    } catch (err) {
      notify(`Export failed: ${describeError(err)}`, 'error');
    } finally {
      button.disabled = false;
      button.textContent = before;
    }
  });
}
