// The Leaflet map: panes, attribution, and the layers control. Leaflet is
// loaded as a classic script (vendor/leaflet/leaflet.js) and read as window.L.

const { L } = window;

/** Attribution of the country shading's shapes. */
export const NATURAL_EARTH = '<a href="https://www.naturalearthdata.com/" target="_blank" rel="noopener noreferrer">Natural Earth</a>';

/** Attribution of the offline basemap's coasts and borders (ODbL). */
export const OSM = '© <a href="https://www.openstreetmap.org/copyright" target="_blank" rel="noopener noreferrer">OpenStreetMap contributors</a> (ODbL)';

/** Attribution of the place names behind the geocoder. */
export const GEONAMES = '<a href="https://www.geonames.org/" target="_blank" rel="noopener noreferrer">GeoNames</a> (CC BY 4.0)';

/** Default view: the Atlantic, from the Andes to West Africa and Europe. */
export const DEFAULT_VIEW = { lat: 15, lng: -40, zoom: 3 };

/**
 * Creates the map in container at view {lat, lng, zoom}. Panes: "basemap"
 * (land and country shapes, under everything), "labels" (place names, under
 * routes and markers) and "flash" (the ring that marks a live change, over
 * the markers).
 */
export function createMap(container, view = DEFAULT_VIEW) {
  const map = L.map(container, {
    center: [view.lat, view.lng],
    zoom: view.zoom,
    minZoom: 1,
    maxZoom: 18,
    worldCopyJump: true,
    keyboard: true,
  });
  map.attributionControl.setPrefix('<a href="https://leafletjs.com" target="_blank" rel="noopener noreferrer">Leaflet</a>');
  map.attributionControl.addAttribution(OSM);
  map.attributionControl.addAttribution(NATURAL_EARTH);
  map.attributionControl.addAttribution(GEONAMES);

  const basemap = map.createPane('basemap');
  basemap.style.zIndex = 150;
  basemap.style.pointerEvents = 'none';
  const labels = map.createPane('labels');
  labels.style.zIndex = 350;
  labels.style.pointerEvents = 'none';
  const flash = map.createPane('flash');
  flash.style.zIndex = 650;
  flash.style.pointerEvents = 'none';

  L.control.scale({ imperial: false, position: 'bottomleft' }).addTo(map);
  return map;
}

/** The view of the map as {lat, lng, zoom}. */
export function currentView(map) {
  const c = map.getCenter();
  return { lat: c.lat, lng: c.lng, zoom: map.getZoom() };
}

/** Adds the layers control: base maps (radio) and overlays (checkboxes). */
export function addLayersControl(map, bases, overlays) {
  return L.control.layers(bases, overlays, { collapsed: true, position: 'topright' }).addTo(map);
}
