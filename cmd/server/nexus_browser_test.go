package main

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// clickGraphNode clicks, with the mouse, the node of the actor graph
// named name, where Cytoscape drew it.
func clickGraphNode(t *testing.T, p *tab, name string) {
	t.Helper()
	xy := eval[[]float64](p, fmt.Sprintf(`(() => {
		const n = window.nexus.actorGraph.nodes().filter((n) => n.data('name') === %s);
		if (n.length !== 1) return [];
		document.getElementById('actor-graph').scrollIntoView({ block: 'center' });
		const r = document.getElementById('actor-graph').getBoundingClientRect();
		const pos = n[0].renderedPosition();
		return [r.left + pos.x, r.top + pos.y];
	})()`, js(name)))
	if len(xy) != 2 {
		t.Fatalf("no node %q in the graph; page: %s", name, p.state())
	}
	p.do(waitLong, chromedp.MouseClickXY(xy[0], xy[1]))
}

// TestActorGraphFiltersTheMap: finding Hezbollah by another spelling
// shows its network; choosing Los Zetas in the graph filters the map by
// Los Zetas, and the graph highlights the choice.
func TestActorGraphFiltersTheMap(t *testing.T) {
	srv, p := openSample(t)
	p.do(waitLong, chromedp.EmulateViewport(1280, 900))
	p.open("/#map=2/15/-30")
	p.waitReady()
	p.wait("the actor list", `+document.body.dataset.actorsListed > 0`, waitLong)
	p.do(waitLong, chromedp.SendKeys(chromedp.ID("actor-search"), "Hizballah"))
	p.wait("Hezbollah found by another spelling", `document.querySelector('#actor-list-panel button[data-actor="Hezbollah"]') !== null && document.querySelectorAll('#actor-list-panel button').length === 1`, waitLong)
	p.do(waitLong, chromedp.Click(chromedp.CSS(`#actor-list-panel button[data-actor="Hezbollah"]`)))
	p.wait("Hezbollah's profile and graph", `document.body.dataset.actorProfile === 'Hezbollah' && window.nexus.actorGraph && window.nexus.actorGraph.nodes().length > 3`, waitLong)
	for _, n := range []string{"Lebanese Canadian Bank", "Los Zetas", "Iran"} {
		if !eval[bool](p, fmt.Sprintf(`window.nexus.actorGraph.nodes().some((n) => n.data('name') === %s)`, js(n))) {
			t.Errorf("Hezbollah's graph has no node %s", n)
		}
	}
	// The bank is joined by a sourced link (solid), Los Zetas by shared records.
	if cls := eval[string](p, `window.nexus.actorGraph.$id('e:Lebanese Canadian Bank').classes().join(' ')`); !strings.Contains(cls, "link") {
		t.Errorf("edge to the bank has classes %q, want link", cls)
	}
	p.wait("the map filtered by Hezbollah", `location.hash.includes('actor=Hezbollah') && document.body.dataset.loading === '0'`, waitLong)
	_, want := srv.items(t, "incidents", p.viewQuery())
	if got := eval[int](p, `+document.body.dataset.numberMatched`); got != want || want == 0 {
		t.Errorf("the map shows %d Hezbollah incidents, the API %d", got, want)
	}
	p.wait("the actor chart", `document.querySelectorAll('#actor-chart rect').length > 0`, waitLong)
	eval[bool](p, `(document.getElementById('actor-graph').scrollIntoView({ block: 'center' }), true)`)
	p.screenshot(filepath.Join(screenshotDir, "actors.png"))

	clickGraphNode(t, p, "Los Zetas")
	p.wait("the map filtered by Los Zetas", `location.hash.includes('actor=Los%20Zetas') && document.body.dataset.actorProfile === 'Los Zetas' && document.body.dataset.loading === '0'`, waitLong)
	q := p.viewQuery()
	if !strings.Contains(q, "actor=Los") {
		t.Fatalf("the page asks %q", q)
	}
	_, want = srv.items(t, "incidents", q)
	zetas, _ := srv.items(t, "incidents", "actor="+url.QueryEscape("Los Zetas"))
	if got := eval[int](p, `+document.body.dataset.numberMatched`); got != want || len(zetas) == 0 {
		t.Errorf("the map shows %d Los Zetas incidents, the API %d", got, want)
	}
	p.wait("the graph highlights the choice", `(document.body.dataset.graphHighlight || '').split('|').includes('Los Zetas')`, waitLong)
	if errs, foreign, _ := p.seen(); len(errs) > 0 || len(foreign) > 0 {
		t.Errorf("console errors %q, requests leaving the server %q", errs, foreign)
	}
}

// TestRouteCorridorShowsItsIncidents: the popup of the South America →
// West Africa → Europe cocaine route counts the incidents within 50 km,
// by type, and "Show them" filters the map to them.
func TestRouteCorridorShowsItsIncidents(t *testing.T) {
	srv, p := openSample(t)
	p.do(waitLong, chromedp.EmulateViewport(1280, 900))
	p.open("/#map=3/10/-25")
	p.waitReady()
	routes, _ := srv.items(t, "routes", "q="+url.QueryEscape("West Africa Europe")+"&commodity=cocaine")
	if len(routes) != 1 {
		t.Fatalf("%d cocaine routes through West Africa to Europe in the sample, want 1", len(routes))
	}
	route := routes[0]
	_, inCorridor := srv.items(t, "incidents", "near_route="+route+"&km=50")
	if inCorridor == 0 {
		t.Fatal("no sample incident within 50 km of the route")
	}
	if !eval[bool](p, fmt.Sprintf(`window.nexus.show(%s, 'routes')`, js(route))) {
		t.Fatal("nexus.show found no route")
	}
	p.wait("the corridor count", fmt.Sprintf(`document.querySelector('.nx-corridor-box')?.dataset.count === '%d' && document.querySelector('.nx-show-corridor') !== null`, inCorridor), waitLong)
	line := eval[string](p, `document.querySelector('.nx-corridor-count').textContent`)
	if !strings.HasPrefix(line, fmt.Sprintf("%d incident", inCorridor)) || !strings.Contains(line, "within 50 km") {
		t.Errorf("the popup says %q", line)
	}
	p.wait("the corridor's months", `document.querySelectorAll('.nx-popup-chart rect').length > 0`, waitLong)
	eval[bool](p, `(document.querySelector('.nx-corridor-box').scrollIntoView({ block: 'center' }), true)`)
	p.screenshot(filepath.Join(screenshotDir, "corridor.png"))
	p.do(waitLong, chromedp.Click(chromedp.CSS(`.nx-show-corridor`)))
	p.wait("the map shows the corridor", fmt.Sprintf(`location.hash.includes('near_route=%s') && location.hash.includes('km=50') && !document.getElementById('f-corridor').hidden && document.body.dataset.loading === '0'`, route), waitLong)
	q := p.viewQuery()
	_, want := srv.items(t, "incidents", q)
	if got := eval[int](p, `+document.body.dataset.numberMatched`); got != want || want == 0 || want > inCorridor {
		t.Errorf("the map shows %d incidents, the API %d in the view's corridor (%d in all)", got, want, inCorridor)
	}
	p.wait("the filter's chart, the popup gone", `+document.body.dataset.chartBars > 0 && !document.querySelector('.leaflet-popup')`, waitLong)
	p.screenshot(filepath.Join(screenshotDir, "corridor-filter.png"))
	p.do(waitLong, chromedp.Click(chromedp.ID("f-corridor-clear")))
	p.wait("the corridor cleared", `!location.hash.includes('near_route') && document.getElementById('f-corridor').hidden`, waitLong)
	if errs, foreign, _ := p.seen(); len(errs) > 0 || len(foreign) > 0 {
		t.Errorf("console errors %q, requests leaving the server %q", errs, foreign)
	}
}
