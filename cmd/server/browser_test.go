package main

// Browser tests: the real program (Main on 127.0.0.1:0 over a temporary
// database, seeded with the sample data) and the real map in Debian's
// Chromium, driven through chromedp. Every wait polls the page's state
// (window.nexus, body[data-*]) with a deadline; none sleeps.

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/paulmach/orb"

	"nexus/geo"
	"nexus/store"
)

// screenshotDir is where TestScreenshots writes the pictures of the map.
const screenshotDir = "../../docs/screenshots"

// openSample starts a seeded server and a browser tab on it.
func openSample(t *testing.T) (*testServer, *tab) {
	t.Helper()
	srv := startServer(t, filepath.Join(t.TempDir(), "nexus.db"), "127.0.0.1:0")
	return srv, openTab(t, newBrowser(t), srv.URL)
}

// TestMapLoads opens the map on the sample data: incidents and routes are
// drawn, with no error in the console and no request leaving the server.
func TestMapLoads(t *testing.T) {
	srv, p := openSample(t)
	p.open("/")
	p.wait("incidents, routes and the basemap drawn", `
		+document.body.dataset.renderedCount > 0 &&
		+document.body.dataset.routeCount > 0 &&
		document.querySelectorAll('path.nx-route').length > 0 &&
		document.querySelector('.leaflet-basemap-pane canvas') !== null`, waitLong)
	p.wait("the counts by type and the timeline", `
		document.querySelector('#f-type .nx-count').textContent !== '' &&
		document.querySelector('#timeline-hist .nx-bar') !== null &&
		document.querySelector('#actor-list option') !== null`, waitLong)
	p.wait("live connection", `document.getElementById('live-state').dataset.state === 'live'`, waitLong)

	// What is drawn is what the API holds for the view.
	_, matched := srv.items(t, "incidents", p.viewQuery())
	if got := eval[int](p, `+document.body.dataset.numberMatched`); got != matched || matched == 0 {
		t.Errorf("data-number-matched = %d, the API matches %d in the view", got, matched)
	}
	_, routes := srv.items(t, "routes", "")
	if got := eval[int](p, `window.nexus.routes.size`); got != routes {
		t.Errorf("%d routes drawn, the API holds %d", got, routes)
	}

	// Counts as wide as a million incidents give keep every type's box and
	// count inside the panel: long names are cut short, not the column.
	if out := eval[string](p, `(() => {
		for (const c of document.querySelectorAll('#f-type .nx-count')) c.textContent = '999k';
		const panel = document.getElementById('panel');
		const right = panel.getBoundingClientRect().left + panel.clientWidth + 0.5;
		const out = [...document.querySelectorAll('#f-type .nx-check')]
			.filter((c) => c.getBoundingClientRect().right > right || c.querySelector('.nx-count').getBoundingClientRect().right > right)
			.map((c) => c.querySelector('input').value);
		return out.join(',');
	})()`); out != "" {
		t.Errorf("types that overflow the panel with wide counts: %s", out)
	}

	errs, foreign, dialogs := p.seen()
	if len(errs) > 0 {
		t.Errorf("console errors:\n  %s", strings.Join(errs, "\n  "))
	}
	if len(foreign) > 0 {
		t.Errorf("requests left %s:\n  %s", srv.URL, strings.Join(foreign, "\n  "))
	}
	if len(dialogs) > 0 {
		t.Errorf("dialogs opened: %q", dialogs)
	}
}

// countryCounts returns the number of incidents per country under the
// filters of query (no bbox: the whole world), from /api/stats?by=country.
func (s *testServer) countryCounts(tb testing.TB, query string) map[string]int {
	tb.Helper()
	path := "/api/stats?by=country"
	if query != "" {
		path += "&" + query
	}
	status, body := s.call(tb, "GET", path, nil)
	if status != 200 {
		tb.Fatalf("GET %s: %d %s", path, status, body)
	}
	var st struct {
		Counts []struct {
			Key   string `json:"key"`
			Count int    `json:"count"`
		} `json:"counts"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
	out := make(map[string]int, len(st.Counts))
	for _, c := range st.Counts {
		if c.Key != "" {
			out[c.Key] += c.Count
		}
	}
	return out
}

// topCountries returns the codes with the most incidents, sorted, and that number.
func topCountries(counts map[string]int) ([]string, int) {
	var top []string
	most := 0
	for code, n := range counts {
		switch {
		case n > most:
			top, most = []string{code}, n
		case n == most && n > 0:
			top = append(top, code)
		}
	}
	slices.Sort(top)
	return top, most
}

// requestCount is the number of requests the tab made whose URL contains sub.
func (p *tab) requestCount(sub string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, u := range p.requests {
		if strings.Contains(u, sub) {
			n++
		}
	}
	return n
}

// countryStyle is what window.nexus.countries.styleOf(code) reads from the
// country shading layer (static/js/countries.js).
type countryStyle struct {
	FillColor   string  `json:"fillColor"`
	FillOpacity float64 `json:"fillOpacity"`
	Class       int     `json:"class"`
	Classes     int     `json:"classes"`
	Count       int     `json:"count"`
}

// TestCountryShading switches the country shading on through the layers
// control: the country with the most sample incidents (by /api/stats, for
// the whole world) is drawn in the darkest class, one with none is
// unshaded and says so in its tooltip; a filter restyles the countries, and
// live changes do too, with few requests for a burst of them.
func TestCountryShading(t *testing.T) {
	srv, p := openSample(t)
	p.open("/#map=2/20/0")

	counts := srv.countryCounts(t, "")
	top, most := topCountries(counts)
	if most == 0 {
		t.Fatal("no sample incident has a country: no test")
	}
	// A country with no incident, and a point inside it to hover.
	var zero struct {
		code     string
		lat, lng float64
	}
	for _, c := range []struct {
		code     string
		lat, lng float64
	}{{"RU", 64, 110}, {"CN", 35, 103}, {"AU", -25, 134}, {"CA", 58, -105}} {
		if counts[c.code] == 0 {
			zero = c
			break
		}
	}
	if zero.code == "" {
		t.Fatalf("every candidate country has incidents (%v): no test", counts)
	}

	styleOf := func(code string) *countryStyle {
		t.Helper()
		return eval[*countryStyle](p, fmt.Sprintf(`window.nexus.countries.styleOf(%s)`, js(code)))
	}
	const shown = `window.nexus.map.hasLayer(window.nexus.countries.layer)`
	if eval[bool](p, shown) || eval[bool](p, `document.getElementById('countries-legend') !== null`) {
		t.Error("the country shading is on by default")
	}

	// On, as a user does it: the checkbox of the layers control.
	toggle := func() {
		t.Helper()
		if !eval[bool](p, `(() => {
			const label = [...document.querySelectorAll('.leaflet-control-layers-overlays label')]
				.find((l) => l.textContent.trim() === 'Country shading');
			if (!label) return false;
			label.querySelector('input').click();
			return true;
		})()`) {
			t.Fatal(`no "Country shading" overlay in the layers control`)
		}
	}
	toggle()
	p.wait("the country shading drawn", fmt.Sprintf(`%s && window.nexus.countries.loaded &&
		window.nexus.countries.styleOf(%s) !== null &&
		document.querySelector('#countries-legend li') !== null`, shown, js(top[0])), waitLong)
	darkest := eval[string](p, `import('/js/countries.js').then((m) => m.PALETTE.at(-1))`)

	for _, code := range top {
		s := styleOf(code)
		if s == nil || s.Count != most || s.Classes == 0 || s.Class != s.Classes-1 || s.FillColor != darkest || s.FillOpacity <= 0 {
			t.Errorf("%s has the most incidents (%d) but is drawn %+v, want class %d in %s", code, most, s, s.Classes-1, darkest)
		}
	}
	if s := styleOf(zero.code); s == nil || s.Count != 0 || s.Class != -1 || s.FillOpacity != 0 {
		t.Errorf("%s has no incident but is drawn %+v, want unshaded", zero.code, s)
	}
	classes := styleOf(top[0]).Classes
	if n := eval[int](p, `document.querySelectorAll('#countries-legend li').length`); n != classes {
		t.Errorf("the legend shows %d classes, the layer %d", n, classes)
	}

	// The tooltip of the country under the pointer: its name and count.
	xy := eval[[]float64](p, fmt.Sprintf(`(() => {
		const m = window.nexus.map;
		const pt = m.latLngToContainerPoint([%g, %g]);
		const r = m.getContainer().getBoundingClientRect();
		return [r.left + pt.x, r.top + pt.y];
	})()`, zero.lat, zero.lng))
	p.do(waitLong,
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, xy[0]-3, xy[1]-3),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, xy[0], xy[1]))
	p.wait("the tooltip of "+zero.code, fmt.Sprintf(`(() => {
		const tip = document.querySelector('.leaflet-tooltip.nx-country-tip');
		return tip !== null && tip.textContent.includes(%s) && tip.textContent.includes('0 incidents');
	})()`, js("("+zero.code+")")), waitLong)

	// A filter restyles the countries: the top ones under it darkest, the
	// ones it leaves with nothing unshaded.
	all := counts
	counts = srv.countryCounts(t, "type=arrest")
	top, most = topCountries(counts)
	var gone []string
	for code := range all {
		if counts[code] == 0 {
			gone = append(gone, code)
		}
	}
	if most == 0 || len(gone) == 0 {
		t.Fatalf("arrests by country %v against %v: no test", counts, all)
	}
	slices.Sort(gone)
	restyled := func(top, gone []string, most int) string {
		t.Helper()
		list := func(codes []string) string {
			b, _ := json.Marshal(append([]string{}, codes...))
			return string(b)
		}
		return fmt.Sprintf(`(() => {
			const c = window.nexus.countries;
			if (!c.loaded) return false;
			const ok = (code, test) => { const s = c.styleOf(code); return s !== null && test(s); };
			return %s.every((k) => ok(k, (s) => s.count === %d && s.class === s.classes - 1 && s.fillColor === %s && s.fillOpacity > 0))
				&& %s.every((k) => ok(k, (s) => s.count === 0 && s.class === -1 && s.fillOpacity === 0));
		})()`, list(top), most, js(darkest), list(gone))
	}
	p.do(waitLong, chromedp.Click(chromedp.CSS(`#f-type input[value=arrest]`)))
	p.wait("the countries restyled for arrests", restyled(top, gone, most), waitLong)

	// Live changes: a burst of arrests in France makes it the top country,
	// with at most a refresh or two rather than one per change.
	if srv.token == "" {
		t.Fatal("no admin token printed on the first start")
	}
	p.wait("live connection", `document.getElementById('live-state').dataset.state === 'live'`, waitLong)
	if counts["FR"] != 0 {
		t.Fatalf("the sample has arrests in France: no test")
	}
	before := p.requestCount("/api/stats?by=country")
	n := most + 1
	for i := range n {
		srv.createIncident(t, 2.35+float64(i)*0.01, 48.85, map[string]any{
			"title": fmt.Sprintf("Country shading test %d", i), "type": "arrest", "date": "2024-05-02",
		})
	}
	p.wait("France shaded darkest after the live changes", restyled([]string{"FR"}, nil, n), 15*time.Second)
	if got := p.requestCount("/api/stats?by=country") - before; got < 1 || got > 2 {
		t.Errorf("%d requests for the counts after %d live changes, want 1 or 2", got, n)
	}

	// Off again: the countries and their legend go.
	toggle()
	p.wait("the country shading off", `!`+shown+` && document.getElementById('countries-legend') === null`, waitLong)

	errs, foreign, dialogs := p.seen()
	if len(errs) > 0 || len(foreign) > 0 || len(dialogs) > 0 {
		t.Errorf("errors %q, foreign requests %q, dialogs %q", errs, foreign, dialogs)
	}
}

// TestTypeFilter ticks one incident type: the map shows exactly the
// incidents of that type the API matches, and all of them again after.
func TestTypeFilter(t *testing.T) {
	srv, p := openSample(t)
	p.open("/#map=2/0/0") // the whole world
	_, all := srv.items(t, "incidents", p.viewQuery())
	_, total := srv.items(t, "incidents", "")
	if all != total {
		t.Fatalf("the world view matches %d incidents of %d", all, total)
	}
	_, arrests := srv.items(t, "incidents", "type=arrest")
	if arrests == 0 || arrests == all {
		t.Fatalf("the sample holds %d arrests of %d incidents: no test", arrests, all)
	}
	p.wait("every incident drawn", fmt.Sprintf(`+document.body.dataset.renderedCount === %d`, all), waitLong)

	box := chromedp.CSS(`#f-type input[value=arrest]`)
	p.do(waitLong, chromedp.Click(box))
	p.wait("only arrests drawn", fmt.Sprintf(`
		document.querySelector('#f-type input[value=arrest]').checked &&
		document.body.dataset.loading === '0' &&
		+document.body.dataset.renderedCount === %d &&
		+document.body.dataset.numberMatched === %d`, arrests, arrests), waitLong)
	if q := p.viewQuery(); !strings.Contains(q, "type=arrest") {
		t.Errorf("the view query %q has no type filter", q)
	}
	if !eval[bool](p, `[...window.nexus.incidents.values()].every((m) => m.feature.properties.type === 'arrest')`) {
		t.Error("an incident that is not an arrest is drawn")
	}
	if h := eval[string](p, `location.hash`); !strings.Contains(h, "type=arrest") {
		t.Errorf("the address %q does not keep the filter", h)
	}

	p.do(waitLong, chromedp.Click(box))
	p.wait("every incident drawn again", fmt.Sprintf(`
		!document.querySelector('#f-type input[value=arrest]').checked &&
		document.body.dataset.loading === '0' &&
		+document.body.dataset.renderedCount === %d`, all), waitLong)
}

// TestLiveChanges: an incident another client posts appears on the map and
// in the feed without a reload; deleted, it leaves the map and the feed
// says so.
func TestLiveChanges(t *testing.T) {
	srv, p := openSample(t)
	p.open("/")
	p.wait("live connection", `document.getElementById('live-state').dataset.state === 'live'`, waitLong)
	if srv.token == "" {
		t.Fatal("no admin token printed on the first start")
	}

	title := "Live test: cocaine seized at Buenaventura"
	id := srv.createIncident(t, -77.07, 3.88, map[string]any{"title": title, "type": "seizure", "date": "2024-05-02"})
	item := fmt.Sprintf(`#feed li[data-id=%s]`, js(id))
	p.wait("the new incident on the map and in the feed", fmt.Sprintf(`
		window.nexus.incidents.has(%[1]s) &&
		document.querySelector('%[2]s[data-op="upsert"][data-collection="incidents"]') !== null`, js(id), item), 10*time.Second)
	if text := eval[string](p, fmt.Sprintf(`document.querySelector('%s').textContent`, item)); !strings.Contains(text, title) || !strings.Contains(text, "added") {
		t.Errorf("feed item %q does not say the incident was added", text)
	}

	if status, body := srv.call(t, "DELETE", "/api/collections/incidents/items/"+id, nil); status != 204 {
		t.Fatalf("DELETE: %d %s", status, body)
	}
	p.wait("the incident gone from the map, a delete in the feed", fmt.Sprintf(`
		!window.nexus.incidents.has(%[1]s) &&
		document.querySelector('%[2]s[data-op="delete"]') !== null`, js(id), item), 10*time.Second)
	text := eval[string](p, fmt.Sprintf(`document.querySelector('%s[data-op="delete"]').textContent`, item))
	if !strings.Contains(text, "deleted") || !strings.Contains(text, title) {
		t.Errorf("feed item %q does not say which incident was deleted", text)
	}
	if n := eval[int](p, `performance.getEntriesByType('navigation').length`); n != 1 {
		t.Errorf("%d navigations: the page reloaded", n)
	}
}

// TestRecordTextIsNotHTML: markup in a record's text is shown as text in
// the popup and the feed, never run.
func TestRecordTextIsNotHTML(t *testing.T) {
	srv, p := openSample(t)
	p.open("/")
	p.wait("live connection", `document.getElementById('live-state').dataset.state === 'live'`, waitLong)

	title := `<img src=x onerror=alert(1)>`
	id := srv.createIncident(t, -74.08, 4.61, map[string]any{
		"title":   title,
		"summary": `<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">`,
		"type":    "attack",
		"date":    "2024-06",
		"place":   `<b onmouseover=alert(2)>Bogotá</b>`,
		"actors":  []string{`<svg onload=alert(3)>`},
		"tags":    []string{`<iframe src=javascript:alert(4)>`},
		"sources": []map[string]any{{"title": `<a href=javascript:alert(5)>source</a>`, "url": "https://example.org/?q=<script>", "publisher": `"><img src=x>`}},
	})
	p.wait("the incident on the map", fmt.Sprintf(`window.nexus.incidents.has(%s)`, js(id)), 10*time.Second)
	if !eval[bool](p, fmt.Sprintf(`window.nexus.show(%s)`, js(id))) {
		t.Fatal("nexus.show found no incident to open")
	}
	p.wait("its popup", `document.querySelector('.leaflet-popup-content') !== null`, waitLong)
	popup := eval[string](p, `document.querySelector('.leaflet-popup-content').textContent`)
	for _, want := range []string{title, `<script>window.__pwned=1</script>`, `<b onmouseover=alert(2)>Bogotá</b>`, `<svg onload=alert(3)>`, `<a href=javascript:alert(5)>source</a>`} {
		if !strings.Contains(popup, want) {
			t.Errorf("the popup does not show %q as text; it reads %q", want, popup)
		}
	}
	feed := eval[string](p, fmt.Sprintf(`document.querySelector('#feed li[data-id=%s]').textContent`, js(id)))
	if !strings.Contains(feed, title) {
		t.Errorf("the feed does not show the title as text: %q", feed)
	}
	checks := map[string]string{
		"an img[src=x] element exists":                      `document.querySelector('img[src=x]') !== null`,
		"an element from the record's markup exists":        `document.querySelector('#map svg[onload], #map iframe, #map b[onmouseover], #feed img, .leaflet-popup script') !== null`,
		"window.__pwned is set":                             `window.__pwned !== undefined`,
		"a javascript: link exists":                         `[...document.querySelectorAll('a[href]')].some((a) => a.href.startsWith('javascript:'))`,
		"the popup holds elements with event handler attrs": `[...document.querySelectorAll('.leaflet-popup *')].some((e) => [...e.attributes].some((a) => a.name.startsWith('on')))`,
	}
	for what, expr := range checks {
		if eval[bool](p, expr) {
			t.Error(what)
		}
	}
	errs, _, dialogs := p.seen()
	if len(dialogs) > 0 {
		t.Errorf("dialogs opened: %q", dialogs)
	}
	if len(errs) > 0 {
		t.Errorf("console errors:\n  %s", strings.Join(errs, "\n  "))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, u := range p.requests {
		if strings.HasSuffix(u, "/x") {
			t.Errorf("the page requested %s: an injected image loaded", u)
		}
	}
}

// TestExport clicks Export with a type filter on the whole world: the
// downloaded file holds exactly the records the API matches for the same
// view and filters.
func TestExport(t *testing.T) {
	srv, p := openSample(t)
	p.open("/#map=2/0/0")
	_, arrests := srv.items(t, "incidents", "type=arrest")
	p.do(waitLong, chromedp.Click(chromedp.CSS(`#f-type input[value=arrest]`)))
	p.wait("only arrests drawn", fmt.Sprintf(`document.body.dataset.loading === '0' && +document.body.dataset.renderedCount === %d`, arrests), waitLong)

	dir := t.TempDir()
	callTab(p, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: new(true),
	})
	ctx, cancel := context.WithTimeout(p.ctx, waitLong)
	defer cancel()
	begins := chromedp.Events(ctx, browser.DownloadWillBegin)
	progress := chromedp.Events(ctx, browser.DownloadProgress)
	p.do(waitLong, chromedp.Click(chromedp.ID("export")))
	var name string
	for ev, err := range begins {
		if err != nil {
			t.Fatalf("no download began: %v\npage: %s", err, p.state())
		}
		name = ev.SuggestedFilename
		break
	}
	var file string
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("download did not complete: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("download canceled")
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			file = filepath.Join(dir, ev.GUID)
			break
		}
	}
	if !strings.HasSuffix(name, ".geojson") {
		t.Errorf("the download is named %q, not *.geojson", name)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Type     string `json:"type"`
		Features []struct {
			ID         string         `json:"id"`
			Properties map[string]any `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(b, &fc); err != nil || fc.Type != "FeatureCollection" {
		t.Fatalf("the download is not a FeatureCollection (%v): %.300s", err, b)
	}
	var got []string
	for _, f := range fc.Features {
		got = append(got, f.ID)
	}

	// The same view and filters, asked of the items endpoint.
	var query string
	p.mu.Lock()
	for _, u := range p.requests {
		if strings.Contains(u, "/api/export.geojson") {
			query = u[strings.Index(u, "?")+1:]
		}
	}
	p.mu.Unlock()
	if query == "" {
		t.Fatal("the page sent no request to /api/export.geojson")
	}
	params, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	if params.Get("type") != "arrest" || params.Get("bbox") == "" {
		t.Errorf("the export asked for %q: want the view's bbox and type=arrest", query)
	}
	incidents, _ := srv.items(t, "incidents", params.Encode())
	routeParams := url.Values{}
	for k, v := range params {
		if k != "type" && k != "country" { // incident-only filters
			routeParams[k] = v
		}
	}
	routes, _ := srv.items(t, "routes", routeParams.Encode())
	if len(incidents) != arrests {
		t.Errorf("the API matches %d arrests in the world view, %d in all", len(incidents), arrests)
	}
	want := append(incidents, routes...)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the export holds %d features %v;\nthe API matches %d incidents and %d routes %v", len(got), got, len(incidents), len(routes), want)
	}
	for _, f := range fc.Features {
		if typ, ok := f.Properties["type"]; ok && typ != "arrest" {
			t.Errorf("exported incident %s is a %v", f.ID, typ)
		}
	}
}

// TestURLRestoresTheMap: the address sets the view and the filters, and a
// reload after moving the map comes back to the same view.
func TestURLRestoresTheMap(t *testing.T) {
	_, p := openSample(t)
	p.open("/#map=5/4.6/-74.1&type=plot,arrest&q=Bogotá")
	type view struct {
		Zoom, Lat, Lng float64
		Types          []string
		Q              string
	}
	read := func() view {
		return eval[view](p, `({
			zoom: window.nexus.map.getZoom(),
			lat: window.nexus.map.getCenter().lat,
			lng: window.nexus.map.getCenter().lng,
			types: [...document.querySelectorAll('#f-type input:checked')].map((i) => i.value).sort(),
			q: document.getElementById('f-q').value,
		})`)
	}
	check := func(when string, zoom, lat, lng float64) {
		t.Helper()
		v := read()
		// Leaflet keeps the view on its pixel grid once the map has been
		// resized (the side panel): the centre may move by half a pixel.
		pixel := 360 / (256 * math.Exp2(zoom))
		if v.Zoom != zoom || abs(v.Lat-lat) > pixel || abs(v.Lng-lng) > pixel {
			t.Errorf("%s: view %v/%v/%v, want %v/%v/%v", when, v.Zoom, v.Lat, v.Lng, zoom, lat, lng)
		}
		if !slices.Equal(v.Types, []string{"arrest", "plot"}) || v.Q != "Bogotá" {
			t.Errorf("%s: filters type=%v q=%q, want arrest,plot and Bogotá", when, v.Types, v.Q)
		}
	}
	check("opened", 5, 4.6, -74.1)
	if q := p.viewQuery(); !strings.Contains(q, "type=arrest,plot") && !strings.Contains(q, "type=plot,arrest") || !strings.Contains(q, "q=Bogot%C3%A1") {
		t.Errorf("the map asks for %q, not the filters of the address", q)
	}

	p.do(waitLong, chromedp.Evaluate[chromedp.Void](`void window.nexus.map.setView([10.5, -66.9], 7)`))
	p.wait("the address follows the view", `location.hash.startsWith('#map=7/10.5000/-66.9000')`, waitLong)
	p.do(waitLong, chromedp.Reload())
	p.waitReady()
	check("reloaded", 7, 10.5, -66.9)
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestLiveResumesAfterRestart: the server stops, an incident is written
// while it is down, the server starts again on the same port: the open
// page reconnects, resumes from the last sequence number it saw and shows
// the incident without a reload.
func TestLiveResumesAfterRestart(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "nexus.db")
	srv := startServer(t, dbPath, "127.0.0.1:0")
	p := openTab(t, newBrowser(t), srv.URL)
	p.open("/")
	p.wait("live connection", `document.getElementById('live-state').dataset.state === 'live'`, waitLong)
	p.do(waitLong, chromedp.Evaluate[chromedp.Void](`window.__sameDocument = 'before restart'`))
	seqBefore := eval[int](p, `window.nexus.lastSeq`)

	if err := srv.close(); err != nil {
		t.Fatal(err)
	}
	p.wait("the page sees the server gone", `document.getElementById('live-state').dataset.state !== 'live'`, waitLong)

	db, err := store.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := db.Create(context.Background(), "test", &geo.Incident{
		Point: orb.Point{-74.0721, 4.7110}, Title: "Written while the server was down",
		Type: "arrest", Date: "2024-07-01", Place: "Bogotá", Country: "CO",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	srv2 := startServer(t, dbPath, srv.addr())
	if srv2.URL != srv.URL {
		t.Fatalf("second server on %s, the page knows %s", srv2.URL, srv.URL)
	}
	p.wait("the incident written while down", fmt.Sprintf(`
		document.getElementById('live-state').dataset.state === 'live' &&
		window.nexus.incidents.has(%[1]s) &&
		document.querySelector('#feed li[data-id=%[1]s]') !== null`, js(stored.ID)), waitLong)
	if eval[string](p, `String(window.__sameDocument)`) != "before restart" || eval[int](p, `performance.getEntriesByType('navigation').length`) != 1 {
		t.Error("the page reloaded to catch up")
	}
	if seq := eval[int](p, `window.nexus.lastSeq`); seq <= seqBefore {
		t.Errorf("lastSeq %d after the restart, %d before", seq, seqBefore)
	}
}

// settled is true when the map has no zoom, pan or cluster animation
// running, the fonts are in, and what loads after the first render (the
// counts by type, the timeline's bars) is there: the picture will not
// change by itself.
const settled = `(() => {
	const m = window.nexus.map;
	return document.fonts.status === 'loaded' && !m._animatingZoom &&
		!(m._panAnim && m._panAnim._inProgress) &&
		!document.querySelector('.leaflet-cluster-anim, .leaflet-zoom-anim') &&
		document.body.dataset.loading === '0' &&
		document.querySelector('#f-type .nx-count').textContent !== '' &&
		document.querySelector('#timeline-hist .nx-bar') !== null;
})()`

// TestScreenshots writes the pictures of docs/screenshots: the default
// view, a popup, the filter panel in use, the timeline positioned, and a
// phone.
func TestScreenshots(t *testing.T) {
	srv, p := openSample(t)
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := func(name string) {
		t.Helper()
		p.wait("the map at rest", settled, waitLong)
		p.screenshot(filepath.Join(screenshotDir, name))
	}
	p.do(waitLong, chromedp.EmulateViewport(1280, 800))

	p.open("/")
	shot("map.png")

	ids, _ := srv.items(t, "incidents", "q="+url.QueryEscape(`"Zona Rosa"`)+"&type=plot")
	if len(ids) != 1 {
		t.Fatalf("%d plots in Zona Rosa in the sample, want 1", len(ids))
	}
	if !eval[bool](p, fmt.Sprintf(`window.nexus.show(%s)`, js(ids[0]))) {
		t.Fatal("nexus.show found no Zona Rosa plot")
	}
	p.wait("the Zona Rosa popup", `(document.querySelector('.leaflet-popup-content')?.textContent || '').includes('Zona Rosa')`, waitLong)
	shot("popup.png")

	p.open("/#map=3/10/-40")
	p.do(waitLong,
		chromedp.Click(chromedp.CSS(`#f-type input[value=attack]`)),
		chromedp.Click(chromedp.CSS(`#f-type input[value=plot]`)),
		chromedp.SendKeys(chromedp.ID("f-from"), "2010"),
		chromedp.Click(chromedp.ID("f-apply")),
	)
	p.wait("the filters applied", `location.hash.includes('from=2010') && location.hash.includes('type=attack,plot')`, waitLong)
	shot("filters.png")

	p.open("/#map=3/10/-40")
	p.wait("the timeline loaded", `!document.getElementById('timeline-slider').disabled`, waitLong)
	p.do(waitLong, chromedp.SetValue(chromedp.ID("timeline-window"), "60"))
	p.do(waitLong, chromedp.Evaluate[chromedp.Void](`(async () => {
		const { monthIndex } = await import('/js/dates.js');
		const slider = document.getElementById('timeline-slider');
		slider.value = String(monthIndex('2015-12'));
		slider.dispatchEvent(new Event('input', { bubbles: true }));
		slider.dispatchEvent(new Event('change', { bubbles: true }));
	})()`, chromedp.EvalAwaitPromise))
	p.wait("the window applied", `location.hash.includes('from=2011-01&to=2015-12') && document.getElementById('timeline-label').textContent.includes('2015-12')`, waitLong)
	shot("timeline.png")

	phone := openTab(t, newBrowser(t), srv.URL)
	phone.do(waitLong, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch))
	phone.open("/")
	phone.wait("the map at rest", settled, waitLong)
	phone.screenshot(filepath.Join(screenshotDir, "phone.png"))
}
