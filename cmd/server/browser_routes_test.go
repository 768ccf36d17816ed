package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"nexus/store"
)

// lightRoutes is LIGHT_ROUTES of static/js/routes.js: above it, routes are
// drawn as plain lines on one canvas.
const lightRoutes = 1000

// TestManyRoutesDrawnOnCanvas: with more routes than the map draws as SVG
// with their decorations, every route is still drawn, as a line on one
// canvas, and a click on a line opens that route's popup.
func TestManyRoutesDrawnOnCanvas(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "nexus.db")
	db, err := store.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	n := lightRoutes + 50
	if _, err := db.ImportBatch(context.Background(), "test", synthRoutes(n, 3)); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, dbPath, "127.0.0.1:0")
	p := openTab(t, newBrowser(t), srv.URL)
	p.do(waitLong, chromedp.EmulateViewport(1280, 800))
	p.open("/#map=4/5.0000/-50.0000")
	if got := eval[float64](p, `import('/js/routes.js').then((m) => m.LIGHT_ROUTES)`); got != lightRoutes {
		t.Fatalf("LIGHT_ROUTES is %v in the page, %d here", got, lightRoutes)
	}
	if got := eval[float64](p, `window.nexus.routes.size`); int(got) != n {
		t.Fatalf("%v routes drawn, want %d", got, n)
	}
	if got := eval[float64](p, `document.querySelectorAll('path.nx-route, .nx-waypoint').length`); got != 0 {
		t.Errorf("%v SVG route paths or waypoints drawn; want none above %d routes", got, lightRoutes)
	}
	if !eval[bool](p, `document.querySelector('.leaflet-overlay-pane canvas') !== null`) {
		t.Fatal("no canvas holds the routes")
	}
	// Click the middle of a route that no other crosses there.
	pt := eval[[]float64](p, `(() => {
		const m = window.nexus.map;
		const groups = [...window.nexus.routes.values()];
		for (const g of groups) {
			const at = m.latLngToContainerPoint(g.middle);
			if (at.x < 50 || at.y < 50 || at.x > m.getSize().x - 50 || at.y > m.getSize().y - 50) continue;
			const near = groups.filter((o) => o !== g && o.contains(at));
			if (near.length === 0) return [at.x, at.y, groups.indexOf(g)];
		}
		return [];
	})()`)
	if len(pt) != 3 {
		t.Fatal("no route of the view stands alone at its middle")
	}
	name := eval[string](p, fmt.Sprintf(`[...window.nexus.routes.values()][%d].feature.properties.name`, int(pt[2])))
	off := eval[[]float64](p, `(() => { const r = window.nexus.map.getContainer().getBoundingClientRect(); return [r.left, r.top]; })()`)
	p.do(waitLong, chromedp.MouseClickXY(off[0]+pt[0], off[1]+pt[1]))
	p.wait("the route's popup", `document.querySelector('.leaflet-popup-content') !== null`, waitLong)
	if text := eval[string](p, `document.querySelector('.leaflet-popup-content').textContent`); !strings.Contains(text, name) {
		t.Errorf("the popup reads %q; want the route %q", text, name)
	}
	// A live change to a route drawn light: renamed and given another
	// commodity (another colour, so another shared line), it is found
	// again where it is; deleted, it is gone from the map.
	id := eval[string](p, fmt.Sprintf(`[...window.nexus.routes.keys()][%d]`, int(pt[2])))
	clickRoute := func() {
		t.Helper()
		eval[bool](p, `(window.nexus.map.closePopup(), true)`)
		p.moveTo(5, -50, 4) // the popup may have panned the map
		p.do(waitLong, chromedp.MouseClickXY(off[0]+pt[0], off[1]+pt[1]))
	}
	other := "heroin"
	if eval[string](p, fmt.Sprintf(`window.nexus.routes.get(%s).feature.properties.commodity`, js(id))) == other {
		other = "cocaine"
	}
	srv.patch(t, "routes", id, map[string]any{"properties": map[string]any{"name": "Renamed light route", "commodity": other}})
	p.wait("the renamed route", fmt.Sprintf(`window.nexus.routes.get(%s)?.feature.properties.name === 'Renamed light route'`, js(id)), waitLong)
	clickRoute()
	p.wait("the renamed route's popup", `document.querySelector('.leaflet-popup-content')?.textContent.includes('Renamed light route')`, waitLong)
	if status, body := srv.call(t, "DELETE", "/api/collections/routes/items/"+id, nil); status != 204 {
		t.Fatalf("DELETE the route: %d %s", status, body)
	}
	p.wait("the route gone", fmt.Sprintf(`!window.nexus.routes.has(%s) && +document.body.dataset.routeCount === %d`, js(id), n-1), waitLong)
	clickRoute()
	if eval[bool](p, `new Promise((r) => setTimeout(() => r(document.querySelector('.leaflet-popup-content') !== null), 300))`) {
		t.Errorf("a click where the deleted route was opens %q", eval[string](p, `document.querySelector('.leaflet-popup-content').textContent`))
	}
	// Where some routes end: the count of routes in view agrees with
	// Leaflet's own test of their bounds (and their copies 360° away)
	// against the view's.
	p.moveTo(5, 30, 5)
	inView := eval[[]float64](p, `(() => {
		const v = window.nexus.map.getBounds();
		let n = 0;
		for (const g of window.nexus.routes.values()) {
			const sw = g.routeBounds.getSouthWest();
			const ne = g.routeBounds.getNorthEast();
			if ([-360, 0, 360].some((d) => v.intersects(L.latLngBounds([sw.lat, sw.lng + d], [ne.lat, ne.lng + d])))) n += 1;
		}
		return [n, Number(document.body.dataset.routesInView)];
	})()`)
	if inView[0] != inView[1] || inView[0] == 0 || int(inView[0]) == n {
		t.Errorf("routes in view: the page says %v, Leaflet's bounds %v (of %d)", inView[1], inView[0], n)
	}
	if errs, foreign, _ := p.seen(); len(errs) > 0 || len(foreign) > 0 {
		t.Fatalf("the page reported errors %q, foreign requests %q", errs, foreign)
	}
}
