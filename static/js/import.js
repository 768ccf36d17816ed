// Import from the map: an editor drops a GeoJSON, GTD or ACLED file on the
// page (or picks one), watches a progress bar with rows per second, and
// reads the report: created, updated, unchanged, and every rejected row
// with its line and reason, which can be downloaded.
//
// The file is sent as it is read from disk (XMLHttpRequest streams a File;
// nothing holds it in memory) to POST /api/import with
// Accept: application/x-ndjson, so the server answers while the upload is
// running: a progress line every quarter second, then the report.

import { getToken } from './api.js';
import { clear, el } from './dom.js';

/** The media type to send a file as, from its name. */
export function importType(name) {
  const ext = String(name || '').toLowerCase().split('.').pop();
  if (ext === 'csv' || ext === 'tsv') return 'text/csv';
  if (ext === 'geojsonl' || ext === 'geojsons' || ext === 'ndjson' || ext === 'jsonl') return 'application/geo+json-seq';
  if (ext === 'geojson' || ext === 'json') return 'application/geo+json';
  return 'application/octet-stream';
}

/**
 * Reads the complete lines of an NDJSON text from offset on: returns the
 * parsed lines and the offset of the first incomplete one.
 */
export function readLines(text, offset) {
  const out = [];
  let at = offset;
  for (;;) {
    const nl = text.indexOf('\n', at);
    if (nl < 0) break;
    const line = text.slice(at, nl).trim();
    at = nl + 1;
    if (!line) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // A line that is not JSON is skipped: the stream is the server's.
    }
  }
  return { lines: out, offset: at };
}

/** "12 345 rows · 4 100 rows/s · 37 %" for a progress display. */
export function describeProgress({ rows = 0, sent = 0, total = 0, seconds = 0 }) {
  const parts = [`${rows.toLocaleString('en')} rows`];
  if (seconds > 0 && rows > 0) parts.push(`${Math.round(rows / seconds).toLocaleString('en')} rows/s`);
  if (total > 0) parts.push(`${Math.min(100, Math.floor((100 * sent) / total))} %`);
  return parts.join(' · ');
}

/** A CSV of the rejected rows of a report: line, field, reason. */
export function rejectedCSV(report) {
  const cell = (v) => {
    const s = String(v ?? '');
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const rows = (report?.rejected || []).map((r) => [r.line, r.field, r.reason].map(cell).join(','));
  return ['line,field,reason', ...rows].join('\n') + '\n';
}

/** Offers data as a file download. */
function download(name, type, data) {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = el('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/**
 * Wires the import: ui = {button, input, dialog, title, bar, status,
 * report, close}; canEdit() says whether a drop is taken; onDone(report)
 * runs after a successful import (the new records arrive through the live
 * feed as well).
 */
export function setupImport(ui, { canEdit, onDone = () => {} }) {
  const body = document.body;
  let busy = false;

  ui.button.addEventListener('click', () => ui.input.click());
  ui.input.addEventListener('change', () => {
    const file = ui.input.files?.[0];
    ui.input.value = '';
    if (file) start(file);
  });
  ui.close.addEventListener('click', () => ui.dialog.close());

  // Dropping a file anywhere on the page imports it.
  const hasFiles = (e) => Array.from(e.dataTransfer?.types || []).includes('Files');
  document.addEventListener('dragover', (e) => {
    if (!hasFiles(e) || !canEdit()) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    body.dataset.dropping = '1';
  });
  document.addEventListener('dragleave', (e) => {
    if (e.relatedTarget === null) delete body.dataset.dropping;
  });
  document.addEventListener('drop', (e) => {
    delete body.dataset.dropping;
    if (!hasFiles(e) || !canEdit()) return;
    e.preventDefault();
    const file = e.dataTransfer.files?.[0];
    if (file) start(file);
  });

  function start(file) {
    if (busy) return;
    busy = true;
    body.dataset.importState = 'uploading';
    ui.title.textContent = `Importing ${file.name}`;
    ui.bar.value = 0;
    ui.bar.max = Math.max(1, file.size);
    ui.bar.hidden = false;
    ui.status.textContent = 'Starting…';
    clear(ui.report);
    ui.close.disabled = true;
    if (!ui.dialog.open) ui.dialog.showModal();

    const began = performance.now();
    let sent = 0;
    let rows = 0;
    let offset = 0;
    let last = null;
    const show = () => {
      ui.bar.value = sent;
      ui.status.textContent = describeProgress({ rows, sent, total: file.size, seconds: (performance.now() - began) / 1000 });
      body.dataset.importRows = String(rows);
    };
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/import');
    xhr.setRequestHeader('Content-Type', importType(file.name));
    xhr.setRequestHeader('Accept', 'application/x-ndjson');
    const token = getToken();
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.upload.addEventListener('progress', (e) => {
      sent = e.loaded;
      show();
    });
    const take = () => {
      if (xhr.status !== 200) return;
      const got = readLines(xhr.responseText, offset);
      offset = got.offset;
      for (const line of got.lines) {
        if (Number.isFinite(line.rows)) rows = line.rows;
        last = line;
      }
      show();
    };
    xhr.addEventListener('progress', take);
    xhr.addEventListener('load', () => {
      take();
      if (xhr.status !== 200) {
        let detail = xhr.statusText;
        try {
          const p = JSON.parse(xhr.responseText);
          detail = p.detail || p.title || detail;
        } catch {
          // not a problem document
        }
        finish('failed', `${xhr.status} ${detail}`);
      } else if (last?.type === 'report') {
        sent = file.size;
        rows = last.rows;
        show();
        finish('done', null, last.report, (performance.now() - began) / 1000);
      } else if (last?.type === 'error') {
        finish('failed', last.problem?.detail || 'the import failed');
      } else {
        finish('failed', 'the answer ended before the report');
      }
    });
    xhr.addEventListener('error', () => finish('failed', 'the server could not be reached'));
    xhr.send(file);

    function finish(state, error, report = null, seconds = 0) {
      busy = false;
      ui.close.disabled = false;
      body.dataset.importState = state;
      if (error) {
        ui.status.textContent = `Import failed: ${error}`;
        return;
      }
      ui.title.textContent = `Imported ${file.name}`;
      ui.status.textContent = describeProgress({ rows, seconds });
      showReport(report, file.name);
      onDone(report);
    }
  }

  function showReport(report, name) {
    const count = (label, n, key) => el('li', { dataset: { count: key } }, el('strong', { text: Number(n || 0).toLocaleString('en') }), ` ${label}`);
    const list = el('ul', { class: 'import-counts' },
      count('created', report.created, 'created'),
      count('updated', report.updated, 'updated'),
      count('unchanged', report.unchanged, 'unchanged'),
      count('rejected', report.rejected_count, 'rejected'));
    const parts = [el('p', { text: `Format: ${report.format}${report.geocoded ? ` · ${report.geocoded.toLocaleString('en')} placed by their place name` : ''}` }), list];
    const rejected = report.rejected || [];
    if (rejected.length) {
      const shown = rejected.slice(0, 200);
      parts.push(el('table', { class: 'import-rejected' },
        el('thead', {}, el('tr', {}, el('th', { text: 'Line' }), el('th', { text: 'Field' }), el('th', { text: 'Reason' }))),
        el('tbody', {}, shown.map((r) => el('tr', {},
          el('td', { text: r.line }), el('td', { text: r.field }), el('td', { text: r.reason }))))));
      if (report.rejected_count > shown.length) {
        parts.push(el('p', { class: 'hint', text: `The first ${shown.length.toLocaleString('en')} of ${report.rejected_count.toLocaleString('en')} rejected rows; the downloads list ${rejected.length.toLocaleString('en')}.` }));
      }
    }
    const base = name.replace(/\.[^.]*$/, '') || 'import';
    parts.push(el('p', { class: 'import-downloads' },
      el('button', { type: 'button', id: 'import-report-json', text: 'Download report (JSON)', onclick: () => download(`${base}-import-report.json`, 'application/json', JSON.stringify(report, null, 2)) }),
      ' ',
      el('button', { type: 'button', id: 'import-report-csv', text: 'Rejected rows (CSV)', disabled: !rejected.length, onclick: () => download(`${base}-rejected.csv`, 'text/csv', rejectedCSV(report)) })));
    ui.report.append(...parts);
  }
}
