package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// uncovered is the share of the map's height that the form sheet leaves
// visible, on a phone.
const uncovered = `(() => {
	const m = document.getElementById('map').getBoundingClientRect();
	const f = document.getElementById('form-panel');
	if (f.hidden) return 1;
	const r = f.getBoundingClientRect();
	return Math.max(0, Math.min(r.top, m.bottom) - m.top) / m.height;
})()`

// TestPhoneRouteDrawing draws a route on a 390×844 phone: while drawing,
// the sheet leaves more than half of the map; "Show map" folds it to its
// heading, taps on the map add waypoints in both states, "Show form"
// brings the form back with the waypoints listed, and axe-core finds
// nothing serious while drawing.
func TestPhoneRouteDrawing(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "nexus.db"), "127.0.0.1:0")
	p := signedInPhone(t, srv)
	p.open("/#map=6/10/-20")
	p.wait("the map at rest", settled, waitLong)
	p.do(waitLong, chromedp.Click(chromedp.ID("add-route")))
	p.wait("drawing", `!document.getElementById('record-form').hidden && document.getElementById('record-form').dataset.collection === 'routes' && document.getElementById('map').classList.contains('drawing-route')`, waitLong)
	if share := eval[float64](p, uncovered); share < 0.55 {
		t.Errorf("drawing a route, the sheet leaves %.0f%% of the map", 100*share)
	}
	tap := func(fx, fy float64) {
		t.Helper()
		// A point at (fx, fy) of the part of the map left uncovered.
		xy := eval[[]float64](p, fmt.Sprintf(`(() => {
			const m = document.getElementById('map').getBoundingClientRect();
			const share = %s;
			return [m.left + %f * m.width, m.top + %f * share * m.height];
		})()`, uncovered, fx, fy))
		n := eval[int](p, `document.querySelectorAll('.nx-wp').length`)
		p.do(waitLong, chromedp.MouseClickXY(xy[0], xy[1]))
		p.wait("a waypoint more", fmt.Sprintf(`document.querySelectorAll('.nx-wp').length === %d`, n+1), waitLong)
	}
	tap(0.3, 0.4)
	tap(0.7, 0.6)
	p.axe("phone, drawing a route")
	shot := func(name string) {
		if dir := os.Getenv("NEXUS_SCREENSHOTS"); dir != "" {
			p.screenshot(filepath.Join(dir, name))
		}
	}
	shot("phone-route-drawing.png")
	p.do(waitLong, chromedp.Click(chromedp.ID("form-fold")))
	p.wait("the sheet folded", `document.getElementById('form-panel').classList.contains('folded') && document.getElementById('form-fold').getAttribute('aria-expanded') === 'false'`, waitLong)
	if share := eval[float64](p, uncovered); share < 0.85 {
		t.Errorf("folded, the sheet leaves %.0f%% of the map", 100*share)
	}
	tap(0.5, 0.85)
	shot("phone-route-folded.png")
	p.do(waitLong, chromedp.Click(chromedp.ID("form-fold")))
	p.wait("the form back", `!document.getElementById('form-panel').classList.contains('folded') && document.getElementById('form-fold').textContent === 'Show map'`, waitLong)
	if n := eval[int](p, `document.querySelectorAll('#rec-waypoints input').length`); n < 3 {
		t.Errorf("%d waypoint fields after three taps", n)
	}
}

// TestShowWhileDrawing asks for an incident's popup while its marker is
// listed but still waits in the cluster group's chunked drawing, as it
// does right after a view is drawn: the map waits for the drawing, then
// zooms to the marker and opens its popup, rather than fail on a marker
// that has no cluster yet.
func TestShowWhileDrawing(t *testing.T) {
	_, p := openSample(t)
	p.open("/#map=11/4.7304/-74.0664")
	p.wait("the map at rest", settled, waitLong)
	p.wait("incidents drawn one by one", `document.body.dataset.clustered === '0' && +document.body.dataset.renderedCount > 0`, waitLong)
	title := eval[string](p, `(() => {
		let group;
		window.nexus.map.eachLayer((l) => { if (l instanceof L.MarkerClusterGroup) group = l; });
		const [id, m] = [...window.nexus.incidents].find(([, m]) => group.hasLayer(m));
		group.removeLayer(m);
		if (!window.nexus.show(id)) throw new Error('show refused ' + id);
		group.addLayers([m]);
		return m.feature.properties.title;
	})()`)
	p.wait("its popup", fmt.Sprintf(`(document.querySelector('.leaflet-popup-content')?.textContent || '').includes(%s)`, js(title)), waitLong)
}

// TestAddIncidentOpensPopup adds an incident from the form while the
// server answers the view in clusters (1 200 incidents round Bissau, seen
// at zoom 3): after saving, the map comes to the new incident and its
// popup opens, on a desktop and on a phone.
func TestAddIncidentOpensPopup(t *testing.T) {
	srv, desk := openSample(t)
	var features []map[string]any
	for i := range 1200 {
		features = append(features, map[string]any{
			"type":       "Feature",
			"geometry":   map[string]any{"type": "Point", "coordinates": []float64{-15.9 + float64(i%40)*0.02, 11.6 + float64(i/40)*0.02}},
			"properties": map[string]any{"title": fmt.Sprintf("Seizure %d", i), "type": "seizure", "date": "2023-01-01"},
		})
	}
	if status, body := srv.call(t, "POST", "/api/import", map[string]any{"type": "FeatureCollection", "features": features}); status != http.StatusOK {
		t.Fatalf("import: %d %s", status, body)
	}
	desk.do(waitLong, chromedp.EmulateViewport(1280, 800))
	phone := signedInPhone(t, srv)
	for _, c := range []struct {
		name string
		p    *tab
	}{{"desktop", desk}, {"phone", phone}} {
		p := c.p
		p.open("/#map=3/10/-40&token=" + srv.token)
		p.wait("signed in", `document.body.dataset.canEdit === '1'`, waitLong)
		p.wait("the map at rest", settled, waitLong)
		p.wait("the view in clusters", `document.body.dataset.clustered === '1'`, waitLong)
		title := "Added on the " + c.name
		p.do(waitLong, chromedp.Click(chromedp.ID("add-incident")))
		p.wait("the form", `!document.getElementById('record-form').hidden && document.getElementById('record-form').dataset.collection === 'incidents'`, waitLong)
		p.do(waitLong, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
			const set = (id, v) => {
				const e = document.getElementById(id);
				e.value = v;
				e.dispatchEvent(new Event('input', { bubbles: true }));
				e.dispatchEvent(new Event('change', { bubbles: true }));
			};
			set('rec-lon', '-15.58');
			set('rec-lat', '11.87');
			set('rec-title', %s);
			set('rec-type', 'seizure');
			set('rec-date', '2024-05-02');
		})()`, js(title))))
		p.do(waitLong, chromedp.Evaluate[chromedp.Void](`document.querySelector('#record-form button[type=submit]').click()`))
		p.wait("the new incident's popup", fmt.Sprintf(`(document.querySelector('.leaflet-popup-content')?.textContent || '').includes(%s)`, js(title)), waitLong)
		if !eval[bool](p, `document.getElementById('form-panel').hidden`) {
			t.Errorf("%s: the form is still open over the popup", c.name)
		}
		if got := eval[string](p, `document.querySelector('.leaflet-popup-content').textContent`); !strings.Contains(strings.ToLower(got), "seizure") {
			t.Errorf("%s: the popup says %q", c.name, got)
		}
	}
}

// TestTokenLinkInOpenTab: a #token= link opened in a tab already showing
// the map signs in at once, without a reload: the role shows, the edit
// controls appear, and the token leaves the address bar.
func TestTokenLinkInOpenTab(t *testing.T) {
	srv, p := openSample(t)
	p.open("/#map=4/10/-40")
	p.wait("the map at rest", settled, waitLong)
	if eval[string](p, `document.body.dataset.canEdit`) == "1" {
		t.Fatal("editing before signing in")
	}
	p.do(waitLong, chromedp.Evaluate[chromedp.Void](`window.sameDocument = true`))
	p.do(waitLong, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = 'map=4/10/-40&token=' + %s`, js(srv.token))))
	p.wait("signed in without a reload", `window.sameDocument === true && document.body.dataset.canEdit === '1' &&
		document.getElementById('signin').dataset.role === 'admin' && !document.getElementById('add-incident').hidden`, waitLong)
	if h := eval[string](p, `location.hash`); strings.Contains(h, "token") {
		t.Errorf("the token stays in the address: %s", h)
	}
	p.wait("live again", `document.getElementById('live-state').dataset.state === 'live'`, waitLong)
}

// TestPlaceSearchSaysWhat: the incident form's place search labels each
// candidate with its kind and says plainly when "place, city" fell back to
// the city.
func TestPlaceSearchSaysWhat(t *testing.T) {
	srv, p := openSample(t)
	p.open("/#token=" + srv.token)
	p.wait("signed in", `document.body.dataset.canEdit === '1'`, waitLong)
	p.do(waitLong, chromedp.Click(chromedp.ID("add-incident")))
	search := func(q string) {
		t.Helper()
		p.do(waitLong, chromedp.SetValue(chromedp.ID("rec-geocode"), q), chromedp.Click(chromedp.ID("rec-geocode-go")))
		p.wait("candidates for "+q, `document.querySelectorAll('#rec-geocode-results button').length > 0`, waitLong)
	}
	search("Zona Rosa, Bogotá")
	if got := eval[string](p, `document.getElementById('rec-geocode-status').textContent`); !strings.Contains(got, `No place called "Zona Rosa"`) {
		t.Errorf("Zona Rosa, Bogotá: the status says %q", got)
	}
	if got := eval[string](p, `document.querySelector('#rec-geocode-results button').textContent`); !strings.HasPrefix(got, "Bogotá (capital)") {
		t.Errorf("Zona Rosa, Bogotá: the candidate reads %q", got)
	}
	search("Triple Frontera")
	if got := eval[string](p, `document.querySelector('#rec-geocode-results button').textContent`); !strings.HasPrefix(got, "Triple Frontera (region)") {
		t.Errorf("Triple Frontera: the candidate reads %q", got)
	}
	if got := eval[string](p, `document.getElementById('rec-geocode-status').textContent`); strings.Contains(got, "No place called") {
		t.Errorf("Triple Frontera: the status says %q", got)
	}
}
