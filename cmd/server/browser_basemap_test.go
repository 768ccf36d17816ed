package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// basemapViews are the views the offline basemap is checked at: zoom 3, 7,
// 11 and 14 over Colombia (Tumaco's coast) and Guinea-Bissau, with a
// place each must name.
var basemapViews = []struct {
	name      string
	zoom      int
	lat, lng  float64
	wantLabel string
}{
	{"colombia", 3, 4.6, -74.1, "Bogotá"},
	{"colombia", 7, 3.4, -76.5, "Cali"},
	{"colombia", 11, 1.79, -78.79, "Tumaco"},
	{"colombia", 14, 1.8, -78.77, ""},
	{"guinea-bissau", 3, 12, -15, "Dakar"},
	{"guinea-bissau", 7, 11.9, -15.3, "Bissau"},
	{"guinea-bissau", 11, 11.86, -15.6, "Bissau"},
	{"guinea-bissau", 14, 11.857, -15.59, ""},
}

// basemapDrawn is true once the offline land tiles of the view are drawn
// and the labels placed.
const basemapDrawn = `(() => {
	const b = window.nexus && window.nexus.basemap;
	return !!b && !b.land.isLoading() && b.land.stats.tiles > 0 && b.labels.ready === true &&
		b.labels.canvas.style.visibility !== 'hidden' && !window.nexus.map._animatingZoom;
})()`

// TestBasemapOffline opens the map at each of basemapViews on a desktop,
// and at zoom 7 and 14 on a phone: the land is drawn from the offline tiles (nothing leaves
// the server: openTab fails a test on any foreign request), the expected
// place is labelled, and coastal views show land and sea. With
// NEXUS_SCREENSHOTS set to a directory, it visits every view on the phone
// too and saves each view there as a PNG.
func TestBasemapOffline(t *testing.T) {
	srv, desk := openSample(t)
	phone := openTab(t, newBrowser(t), srv.URL)
	desk.do(waitLong, chromedp.EmulateViewport(1280, 800))
	phone.do(waitLong, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch))
	dir := os.Getenv("NEXUS_SCREENSHOTS")
	for _, dev := range []struct {
		name string
		p    *tab
	}{{"desktop", desk}, {"phone", phone}} {
		for _, v := range basemapViews {
			if dev.name == "phone" && dir == "" && v.zoom != 7 && v.zoom != 14 {
				continue // the phone at two zooms, at all four for the pictures
			}
			p := dev.p
			p.open(fmt.Sprintf("/#map=%d/%.4f/%.4f", v.zoom, v.lat, v.lng))
			p.wait(fmt.Sprintf("%s: the basemap at %s zoom %d", dev.name, v.name, v.zoom), basemapDrawn, waitLong)
			if z := eval[int](p, `window.nexus.map.getZoom()`); z != v.zoom {
				t.Fatalf("%s %s: zoom %d, want %d", dev.name, v.name, z, v.zoom)
			}
			if v.wantLabel != "" && dev.name == "desktop" {
				p.wait(fmt.Sprintf("%s labelled at zoom %d", v.wantLabel, v.zoom),
					fmt.Sprintf(`window.nexus.basemap.labels.drawn.includes(%s)`, js(v.wantLabel)), waitLong)
			}
			if n := eval[int](p, `window.nexus.basemap.labels.drawn.length`); n == 0 && v.zoom <= 11 {
				t.Errorf("%s %s zoom %d: no label drawn", dev.name, v.name, v.zoom)
			}
			// The land canvas holds both land and sea where the view is on a coast.
			if v.zoom >= 11 {
				colours := eval[[]string](p, `(() => {
					const seen = new Set();
					for (const c of document.querySelectorAll('.leaflet-basemap-pane canvas')) {
						const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
						for (let i = 0; i < d.length; i += 4 * 97) seen.add(d[i + 3] === 0 ? 'sea' : 'drawn');
					}
					return [...seen].sort();
				})()`)
				if len(colours) != 2 {
					t.Errorf("%s %s zoom %d: the land tiles are %v, want both sea and land", dev.name, v.name, v.zoom, colours)
				}
			}
			if dir != "" {
				p.wait("the map at rest", settled, waitLong)
				p.screenshot(filepath.Join(dir, fmt.Sprintf("basemap-%s-%s-z%d.png", dev.name, v.name, v.zoom)))
			}
		}
	}
}
