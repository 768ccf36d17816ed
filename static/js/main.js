// Wires the map together: reads the address (token, view, filters), builds
// the map and its layers, loads what is in view, keeps it live, and exposes
// hooks for browser tests on window.nexus and document.body.dataset:
//   window.nexus = {map, incidents: Map(id → marker), routes: Map(id → layer),
//                   lastSeq, ready: Promise, filters, reload(), show(id, collection),
//                   countries: the country shading (countries.js),
//                   readyAt: performance.now() at the first full render,
//                   viewTimes: milliseconds from asking for each view to drawing it}
//   body[data-ready="1"] after the first full render,
//   body[data-rendered-count] features drawn by the last view (incidents, or
//   cluster points when body[data-clustered="1"]), body[data-number-matched].

import {
  describeError, getJSON, getToken, initToken, isAbort, withQuery,
} from './api.js';
import { setupAbout } from './about.js';
import { ActorPanel } from './actors.js';
import { drawMonthly, loadMonthly } from './chart.js';
import { createBasemap, createOfflineBasemap, createTileLayer } from './basemap.js';
import { CountryShading } from './countries.js';
import { DensityLayer } from './density.js';
import { byId, debounce } from './dom.js';
import { setupExport } from './export.js';
import { setupImport } from './import.js';
import { Feed } from './feed.js';
import { Filters } from './filters.js';
import { FormPanel, installMapPicker } from './forms.js';
import { pointLatLng, routeBounds, viewBbox } from './geo.js';
import { RecordForm } from './record-form.js';
import { IncidentLayer } from './incidents.js';
import { addLegend } from './legend.js';
import { Live } from './live.js';
import {
  DEFAULT_VIEW, addLayersControl, createMap, currentView,
} from './map.js';
import { notify } from './notice.js';
import { installPopupFocus } from './popup.js';
import { RouteLayer } from './routes.js';
import { setupSignIn, showRole } from './signin.js';
import { Timeline } from './timeline.js';
import { parseHash, writeHash } from './url.js';
import { fillSelects, loadVocabulary } from './vocab.js';
import { Watches } from './watches.js';

const { L } = window;

/** Wait after the map stops moving before loading, in milliseconds. */
const MOVE_DEBOUNCE_MS = 250;
/** While Play runs, routes are asked for again at most this often, in milliseconds. */
const PLAY_ROUTES_MS = 1000;
/** Longest wait for the live hello before the first load, in milliseconds. */
const HELLO_WAIT_MS = 1500;

let resolveReady;
const nexus = {
  ready: new Promise((r) => { resolveReady = r; }),
  viewTimes: [],
};
window.nexus = nexus;

function librariesMissing() {
  const ok = L && typeof L.map === 'function' && typeof L.markerClusterGroup === 'function'
    && typeof L.polylineDecorator === 'function';
  if (ok) return false;
  const box = document.getElementById('map');
  if (box) {
    box.classList.add('nx-missing');
    box.textContent = 'The map libraries are missing from this build (static/vendor/). Run static/build.sh, then rebuild the server.';
  }
  return true;
}

/** bbox a lies inside bbox b (neither crossing the antimeridian). */
function within(a, b) {
  if (!a || !b || a[0] > a[2] || b[0] > b[2]) return false;
  return a[0] >= b[0] && a[1] >= b[1] && a[2] <= b[2] && a[3] <= b[3];
}

async function main() {
  if (librariesMissing()) return;
  initToken();
  const body = document.body;
  const initial = parseHash();
  try {
    await loadVocabulary();
  } catch (err) {
    notify(`Could not load the vocabulary: ${describeError(err)}`, 'error');
  }
  fillSelects(document);

  const filters = new Filters(byId('filters'));
  filters.set(initial.filters, 'url');

  // Lay the page out before the map measures its container.
  const wide = window.matchMedia('(min-width: 701px)');
  body.classList.toggle('panel-open', wide.matches);
  const map = createMap(byId('map'), initial.view || DEFAULT_VIEW);
  installMapPicker(map);
  installPopupFocus(map);
  nexus.map = map;
  nexus.filters = filters;

  // Configuration: tiles, and the role of the token (if any).
  let config = { tiles: '', attribution: '', private: false, role: null };
  let configKnown = false;
  let refused = false;
  const loadConfig = async () => {
    refused = false;
    try {
      config = { ...config, ...(await getJSON('/api/config')) };
      configKnown = true;
    } catch (err) {
      configKnown = false;
      if (err?.status === 401) {
        refused = true;
        notify(getToken()
          ? 'The server refused this token: sign in with another one.'
          : 'This map is private: sign in with a token to see it.', 'error');
      }
    }
  };
  await loadConfig();

  const canEdit = () => {
    if (!getToken()) return false;
    if (!configKnown) return true;
    return config.role === 'editor' || config.role === 'admin';
  };

  // Forms, declared before the layers so that popups can reach them.
  const formPanel = new FormPanel(byId('form-panel'), byId('form-title'));
  byId('form-close').addEventListener('click', () => formPanel.close());
  let recordForm;
  const ctx = {
    canEdit,
    onEdit: (collection, id) => {
      map.closePopup();
      recordForm.openEdit(collection, id);
    },
    onDelete: (collection, feature) => {
      map.closePopup();
      recordForm.remove(collection, feature);
    },
    // "Show them": the incidents within km of a route, as the filter.
    onCorridor: (id, km) => {
      map.closePopup();
      filters.set({ near_route: id, km: String(km) }, 'route');
    },
  };

  // Layers.
  // The offline map (land, coasts, borders, place names) is drawn; the
  // Natural Earth shapes are loaded for the country shading.
  const offline = createOfflineBasemap().addTo(map);
  nexus.basemap = offline;
  const basemap = createBasemap();
  const loadFailed = (what, err) => {
    if (isAbort(err)) return;
    if (err?.status === 401) notify('This map needs a token: use "Sign in".', 'error');
    else notify(`Could not load ${what}: ${describeError(err)}`, 'error');
  };
  basemap.loaded.catch((err) => loadFailed('the basemap', err));
  const incidents = new IncidentLayer(map, ctx);
  const routes = new RouteLayer(map, ctx);
  routes.layer.addTo(map);
  incidents.layer.addTo(map);
  nexus.incidents = incidents.markers;
  nexus.routes = routes.routes;
  // Country shading: off by default (the legend tells how to show it).
  const countries = new CountryShading(map, basemap, filters);
  nexus.countries = countries;
  const bases = { 'Offline map': offline };
  const tiles = createTileLayer(config);
  if (tiles) bases['Online tiles'] = tiles;
  // Density: a heat map of the same view, off by default.
  const density = new DensityLayer();
  nexus.density = density;
  addLayersControl(map, bases, {
    Incidents: incidents.layer, Density: density.layer, Routes: routes.layer, 'Country shading': countries.layer,
  });
  addLegend(map);

  // Loading what is in view.
  let inFlight = 0;
  const loading = byId('loading');
  const busy = (delta) => {
    inFlight += delta;
    loading.hidden = inFlight === 0;
    body.dataset.loading = inFlight > 0 ? '1' : '0';
  };
  const countLine = byId('view-count');
  const showCounts = () => {
    const n = incidents.numberMatched;
    const shown = incidents.clustered ? incidents.clusterCount : incidents.markers.size;
    body.dataset.renderedCount = String(shown);
    body.dataset.numberMatched = String(n);
    body.dataset.clustered = incidents.clustered ? '1' : '0';
    body.dataset.routeCount = String(routes.routes.size);
    const inc = `${n.toLocaleString('en')} incident${n === 1 ? '' : 's'}`;
    const grouped = incidents.clustered ? ' (grouped; zoom in for details)' : '';
    const r = routes.countIn(map.getBounds());
    body.dataset.routesInView = String(r);
    countLine.textContent = `In view, under the filters: ${inc}${grouped} and ${r.toLocaleString('en')} route${r === 1 ? '' : 's'}`
      + ` (of ${routes.routes.size.toLocaleString('en')} matching anywhere).`;
  };

  let pendingOpen = null;
  let pendingAt = null; // where the incident pendingOpen is, when known
  let viewCtl = null;
  const loadView = async () => {
    viewCtl?.abort();
    const ctl = new AbortController();
    viewCtl = ctl;
    const bbox = viewBbox(map);
    const url = withQuery('/api/view', { bbox: bbox.join(','), zoom: Math.round(map.getZoom()), ...filters.incidentParams() });
    busy(1);
    const asked = performance.now();
    try {
      const fc = await getJSON(url, { signal: ctl.signal });
      incidents.render(fc);
      density.setData(fc);
      showCounts();
      nexus.viewTimes.push(performance.now() - asked);
      if (pendingOpen && incidents.get(pendingOpen)) {
        incidents.show(pendingOpen);
        pendingOpen = null;
      } else if (pendingOpen && pendingAt && map.getZoom() < map.getMaxZoom()
        && (incidents.clustered || !map.getBounds().contains(pendingAt))) {
        // Still in a cluster of the server's, or not in view yet: closer,
        // until it is drawn.
        map.flyTo(pendingAt, Math.min(map.getMaxZoom(), map.getZoom() + (incidents.clustered ? 2 : 0)));
      } else {
        pendingOpen = null;
      }
    } catch (err) {
      loadFailed('incidents', err);
    } finally {
      busy(-1);
    }
  };

  let countsCtl = null;
  const loadCounts = async () => {
    countsCtl?.abort();
    const ctl = new AbortController();
    countsCtl = ctl;
    try {
      await filters.loadCounts(viewBbox(map), ctl.signal);
    } catch (err) {
      if (!isAbort(err)) console.warn('stats by type:', describeError(err));
    }
  };

  let routesCtl = null;
  let routesArea = null;
  let routesLoading = Promise.resolve();
  const loadRoutes = () => {
    routesLoading = loadRoutesNow();
    return routesLoading;
  };
  const loadRoutesNow = async () => {
    routesCtl?.abort();
    const ctl = new AbortController();
    routesCtl = ctl;
    routesArea = viewBbox(map);
    busy(1);
    try {
      await routes.load(filters.routeParams(), ctl.signal);
      showCounts();
    } catch (err) {
      loadFailed('routes', err);
    } finally {
      busy(-1);
    }
  };

  // The first load starts here, while the rest of the page is set up, when
  // the configuration said which change the server was at: the live
  // connection asks for every change after it. Else it waits for the live
  // hello (below).
  const firstLoad = Number.isFinite(config.seq) ? [loadView(), loadRoutes()] : null;

  // Live updates.
  const known = new Map();
  const remember = (frame, feature) => {
    if (!feature) return;
    const key = `${frame.collection}/${frame.id}`;
    known.delete(key);
    known.set(key, feature);
    if (known.size > 1000) known.delete(known.keys().next().value);
  };
  const reloadViewSoon = debounce(() => { loadView(); loadCounts(); }, 1000);
  const feed = new Feed(byId('feed'), {
    empty: byId('feed-empty'),
    onSelect: ({ collection, id, feature }) => {
      if (collection === 'routes') {
        if (routes.show(id)) return;
        const bounds = routeBounds(feature?.geometry);
        if (bounds) map.fitBounds(bounds, { padding: [40, 40], maxZoom: 8 });
        return;
      }
      if (incidents.show(id)) return;
      const ll = pointLatLng(feature?.geometry);
      if (ll) {
        pendingOpen = id;
        pendingAt = ll;
        map.flyTo(ll, Math.max(map.getZoom(), 9));
      }
    },
  });
  const applyChange = (frame) => {
    const { collection, op } = frame;
    const id = String(frame.id);
    const layer = collection === 'routes' ? routes : collection === 'incidents' ? incidents : null;
    if (!layer) return;
    // The counts (in view, by type) follow: reloaded shortly after a change.
    if (collection === 'incidents') {
      countries.changed();
      reloadViewSoon();
    }
    const key = `${collection}/${id}`;
    if (op === 'delete') {
      const last = layer.remove(id) || known.get(key);
      if (collection === 'incidents' && incidents.clustered) reloadViewSoon();
      feed.add(frame, last);
      remember(frame, last);
    } else if (frame.feature) {
      const feature = { ...frame.feature, id: frame.feature.id ?? frame.id };
      // The server decides what matches the subscription's filters; it
      // marks a change that takes the record out of them.
      if (frame.matches !== false) {
        const drawn = layer.upsert(feature, { flash: true });
        if (drawn === false) reloadViewSoon();
      } else {
        layer.remove(id);
      }
      feed.add(frame, feature);
      remember(frame, feature);
    }
    showCounts();
  };
  const watches = new Watches(map, {
    section: byId('watches-section'),
    form: byId('watch-form'),
    name: byId('w-name'),
    radius: byId('w-radius'),
    useFilters: byId('w-use-filters'),
    circle: byId('w-circle'),
    polygon: byId('w-polygon'),
    save: byId('w-save'),
    finish: byId('w-finish'),
    cancel: byId('w-cancel'),
    status: byId('w-status'),
    list: byId('watch-list'),
    alerts: byId('alert-list'),
    readAll: byId('alerts-read'),
    badge: byId('alert-badge'),
    badgeCount: byId('alert-badge-count'),
  }, { filter: () => filters.subscription(), onSelect: (entry) => feed.onSelect(entry) });
  nexus.watches = watches;
  watches.load();
  const live = new Live(byId('live-state'), {
    onChange: applyChange,
    onAlert: (frame) => watches.alert(frame),
    onReset: () => {
      notify('Live updates restarted: the map was reloaded.');
      loadView();
      loadRoutes();
      loadCounts();
      countries.refresh();
    },
  });
  Object.defineProperty(nexus, 'lastSeq', { get: () => live.lastSeq, enumerable: true });
  nexus.live = live;
  const subscribe = () => live.subscribe({ bbox: viewBbox(map), filter: filters.subscription() });
  subscribe();
  // The change the server had sent when it answered the configuration:
  // what loads from now on holds every change up to it.
  live.resumeFrom(config.seq);
  live.connect();

  // The address keeps view and filters.
  let written = location.hash;
  // The timeline's window and speed, when not the defaults the page starts with.
  const timeSelects = { win: byId('timeline-window'), speed: byId('timeline-speed') };
  const timeState = () => {
    const out = {};
    for (const [k, sel] of Object.entries(timeSelects)) {
      const dflt = [...sel.options].find((o) => o.defaultSelected)?.value;
      if (sel.value !== dflt) out[k] = sel.value;
    }
    return out;
  };
  const setTimeState = (time, announce = true) => {
    for (const [k, sel] of Object.entries(timeSelects)) {
      const want = time?.[k] || [...sel.options].find((o) => o.defaultSelected)?.value;
      if ([...sel.options].some((o) => o.value === want) && sel.value !== want) {
        sel.value = want;
        if (announce) sel.dispatchEvent(new Event('change'));
      }
    }
  };
  const saveURL = () => { written = writeHash(currentView(map), filters.value, timeState()); };
  for (const sel of Object.values(timeSelects)) sel.addEventListener('change', () => saveURL());
  window.addEventListener('hashchange', () => {
    if (location.hash === written) return;
    // A #token= link opened in this tab signs in at once, as the dialog does.
    const before = getToken();
    initToken();
    if (getToken() !== before) signedIn();
    const next = parseHash();
    if (next.view) map.setView([next.view.lat, next.view.lng], next.view.zoom);
    filters.set(next.filters, 'url');
    setTimeState(next.time);
    saveURL();
  });

  map.on('moveend', debounce(() => {
    loadView();
    loadCounts();
    subscribe();
    // Routes are loaded for the whole world, but live changes arrive only
    // for the subscribed area, which is now the view: reload routes when the
    // view leaves the area they have been kept current for, else shrink it.
    const area = viewBbox(map);
    if (within(area, routesArea)) routesArea = area;
    else loadRoutes();
    saveURL();
  }, MOVE_DEBOUNCE_MS));
  filters.routeName = (id) => routes.routes.get(id)?.feature?.properties?.name;

  // The chart of the current filter, and the actor panel.
  let chartCtl = null;
  const loadChart = debounce(async () => {
    chartCtl?.abort();
    const ctl = new AbortController();
    chartCtl = ctl;
    try {
      drawMonthly(byId('filter-chart'), await loadMonthly(filters.incidentParams(), ctl.signal));
      body.dataset.chartBars = String(byId('filter-chart').querySelectorAll('rect').length);
    } catch (err) {
      if (!isAbort(err)) console.warn('monthly chart:', describeError(err));
    }
  }, 300);
  const actorPanel = new ActorPanel(filters, async (collection, id) => {
    if (collection === 'links') {
      try {
        const l = await getJSON(`/api/collections/links/items/${encodeURIComponent(id)}`);
        const p = l?.properties || {};
        notify(`${p.from} → ${p.to} (${p.relation}): ${p.summary || 'no summary'}`);
      } catch (err) {
        loadFailed('the link', err);
      }
      return;
    }
    if (!nexus.show(id, collection)) {
      try {
        const f = await getJSON(`/api/collections/${collection}/items/${encodeURIComponent(id)}`);
        const ll = collection === 'incidents' ? pointLatLng(f?.geometry) : null;
        if (ll) {
          pendingOpen = id;
          pendingAt = ll;
          map.flyTo(ll, Math.max(map.getZoom(), 7));
        } else if (collection === 'routes') {
          const b = routeBounds(f?.geometry);
          if (b) map.fitBounds(b, { padding: [40, 40], maxZoom: 8 });
        }
      } catch (err) {
        loadFailed('the record', err);
      }
    }
  });
  nexus.actors = actorPanel;
  map.on('popupopen', (e) => {
    const p = e.popup?._source?.feature?.properties;
    if (p) actorPanel.highlight(p.actors || []);
  });
  map.on('popupclose', () => actorPanel.highlight(filters.value.actor));

  // While Play runs, the date window moves several times a second. The
  // routes (every one that matches: megabytes at scale) are then asked for
  // at most once a PLAY_ROUTES_MS, each request left to finish rather than
  // cut by the next step, and the last one after the last step; asked for
  // at every step, they took the machine from the frames.
  let routesPlayTimer = null;
  let routesPlayNext = 0;
  const loadRoutesPlaying = () => {
    if (routesPlayTimer) return; // it reads the window when it runs
    routesPlayTimer = setTimeout(async () => {
      await routesLoading;
      routesPlayTimer = null;
      routesPlayNext = performance.now() + PLAY_ROUTES_MS;
      loadRoutes();
    }, Math.max(0, routesPlayNext - performance.now()));
  };
  const playing = () => byId('timeline-play').dataset.state === 'playing';

  filters.addEventListener('change', (e) => {
    loadView();
    if (e.detail?.source === 'timeline' && playing()) loadRoutesPlaying();
    else loadRoutes();
    loadCounts();
    countries.refresh();
    subscribe();
    saveURL();
    loadChart();
    const actors = filters.value.actor;
    actorPanel.highlight(actors);
    if (e.detail?.source !== 'actors' && actors.length === 1 && actors[0] !== actorPanel.name) actorPanel.show(actors[0]);
  });

  // Editing.
  const addIncident = byId('add-incident');
  const addRoute = byId('add-route');
  const signIn = byId('signin');
  const updateEditUI = () => {
    const yes = canEdit();
    addIncident.hidden = !yes;
    addRoute.hidden = !yes;
    byId('import').hidden = !yes;
    body.dataset.canEdit = yes ? '1' : '0';
    showRole(signIn, configKnown ? config.role : null);
  };
  const layers = { incidents, routes };
  recordForm = new RecordForm({
    form: byId('record-form'),
    panel: formPanel,
    map,
    onSaved: (collection, feature) => {
      const clustered = layers[collection].upsert(feature, { flash: true }) === false;
      if (clustered && collection === 'incidents') reloadViewSoon();
      showCounts();
      if (layers[collection].show(feature.id) || collection !== 'incidents') return;
      // Grouped at this zoom: zoom in on it and open it once it is drawn.
      const ll = pointLatLng(feature.geometry);
      if (ll) {
        pendingOpen = String(feature.id);
        pendingAt = ll;
        map.flyTo(ll, Math.max(map.getZoom(), 9));
      }
    },
    onDeleted: (collection, id) => {
      layers[collection].remove(id);
      if (collection === 'incidents' && incidents.clustered) reloadViewSoon();
      showCounts();
    },
  });
  addIncident.addEventListener('click', () => { closeDrawerOnPhone(); recordForm.openNew('incidents'); });
  addRoute.addEventListener('click', () => { closeDrawerOnPhone(); recordForm.openNew('routes'); });

  const reloadAll = () => Promise.allSettled([loadView(), loadRoutes(), loadCounts(), countries.refresh()]);
  nexus.reload = reloadAll;
  /** Shows a record (out of its cluster) and opens its popup; false when not drawn. */
  nexus.show = (id, collection = 'incidents') => (collection === 'routes' ? routes : incidents).show(id);
  /** After the token changed: the role, the edit controls, the data again. */
  async function signedIn() {
    await loadConfig();
    if (refused) signIn.click();
    else notify(getToken() ? `Signed in${config.role ? ` as ${config.role}` : ''}.` : 'Signed out.');
    updateEditUI();
    map.closePopup();
    live.restart();
    reloadAll();
    watches.load();
    basemap.reload().catch((err) => loadFailed('the basemap', err));
    timeline.init();
    filters.loadSuggestions();
  }
  setupSignIn({
    button: signIn, dialog: byId('token-dialog'), input: byId('token-input'), forget: byId('token-forget'),
  }, signedIn);
  updateEditUI();
  if (refused || (config.private && !getToken())) signIn.click();

  setupAbout({ button: byId('about'), dialog: byId('about-dialog') }, () => config);
  setupImport({
    button: byId('import'), input: byId('import-file'), dialog: byId('import-dialog'), title: byId('import-title'),
    bar: byId('import-bar'), status: byId('import-status'), report: byId('import-report'), close: byId('import-close'),
  }, { canEdit, onDone: () => reloadAll() });
  setupExport(byId('export'), () => ({ bbox: viewBbox(map).join(','), ...filters.allParams() }), byId('export-format'));

  // The side panel: a column on wide screens, a drawer on phones.
  const toggle = byId('toggle-panel');
  const setPanel = (open) => {
    body.classList.toggle('panel-open', open);
    toggle.setAttribute('aria-expanded', String(open));
    setTimeout(() => map.invalidateSize(), 220);
  };
  function closeDrawerOnPhone() {
    if (!wide.matches) setPanel(false);
  }
  setPanel(wide.matches);
  toggle.addEventListener('click', () => {
    const open = !body.classList.contains('panel-open');
    setPanel(open);
    // Focus moves into the drawer once its slide-in has made it visible.
    if (open && !wide.matches) setTimeout(() => byId('panel').querySelector('input, button, select')?.focus(), 250);
  });
  wide.addEventListener('change', () => setPanel(wide.matches));

  // Escape closes the innermost thing open: popup, form, drawer.
  let popupOpen = false;
  map.on('popupopen', () => { popupOpen = true; });
  map.on('popupclose', () => { popupOpen = false; });
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || e.defaultPrevented) return;
    if (document.querySelector('dialog[open]')) return;
    if (popupOpen) {
      map.closePopup();
    } else if (formPanel.isOpen) {
      formPanel.close();
    } else if (!wide.matches && body.classList.contains('panel-open')) {
      setPanel(false);
      toggle.focus();
    } else {
      return;
    }
    e.preventDefault();
  });

  const timeline = new Timeline({
    slider: byId('timeline-slider'),
    play: byId('timeline-play'),
    speed: byId('timeline-speed'),
    window: byId('timeline-window'),
    label: byId('timeline-label'),
    hist: byId('timeline-hist'),
    note: byId('timeline-note'),
    all: byId('timeline-all'),
  }, filters);
  setTimeState(initial.time, false);
  nexus.timeline = timeline;

  // First load, unless it started above: after the live hello (so nothing
  // falls between the two), or without it when the live connection is slow
  // to come. The counts by type beside the filters come when they come: on
  // a large database they take longer than the view itself, and the map
  // need not wait for them.
  if (!firstLoad) {
    await Promise.race([live.firstHello, new Promise((r) => { setTimeout(r, HELLO_WAIT_MS); })]);
  }
  loadCounts();
  await Promise.allSettled([...(firstLoad ?? [loadView(), loadRoutes()]), basemap.loaded]);
  if (!initial.view) saveURL();
  nexus.readyAt = performance.now();
  body.dataset.ready = '1';
  resolveReady(nexus);

  // The timeline and the suggestions count the whole database: they load
  // after the first render, so as not to hold it up on a large one.
  timeline.init();
  filters.loadSuggestions();
  loadChart();
  actorPanel.loadList();
  if (filters.value.actor.length === 1) actorPanel.show(filters.value.actor[0]);
}

main().catch((err) => {
  console.error(err);
  notify(`The map failed to start: ${describeError(err)}`, 'error');
});
