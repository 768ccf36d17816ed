package main

// Browser tests of the map's usability: accessibility (axe-core, the
// keyboard), the layout at desktop and phone sizes, and the about panel.

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"nexus/data"
)

// axePath is axe-core's browser build, installed by static/build.sh from
// static/package.json (a development dependency: it is never embedded).
const axePath = "../../static/node_modules/axe-core/axe.min.js"

// axeViolation is one rule axe-core found broken, with where.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// axe runs axe-core over the page and fails the test for every serious or
// critical violation, naming the state the page was in.
func (p *tab) axe(state string) {
	p.tb.Helper()
	src, err := os.ReadFile(axePath)
	if err != nil {
		p.tb.Fatalf("axe-core missing (static/build.sh installs it): %v", err)
	}
	if !eval[bool](p, `typeof window.axe === 'object'`) {
		p.do(waitLong, chromedp.Evaluate[chromedp.Void](string(src)))
	}
	// Colours are judged once nothing is fading or moving: a popup caught
	// half faded in has contrast it never shows at rest.
	p.wait("animations to end", `document.getAnimations().every((a) => a.playState !== 'running' || a.effect.getComputedTiming().iterations === Infinity)`, waitLong)
	raw := eval[string](p, `axe.run(document, { resultTypes: ['violations'] }).then((r) => JSON.stringify(r.violations))`)
	var vs []axeViolation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		p.tb.Fatalf("axe answer: %v", err)
	}
	for _, v := range vs {
		if v.Impact != "serious" && v.Impact != "critical" {
			continue
		}
		var where []string
		for i, n := range v.Nodes {
			if i == 3 {
				where = append(where, fmt.Sprintf("… %d more", len(v.Nodes)-3))
				break
			}
			where = append(where, fmt.Sprintf("%v %s", n.Target, n.HTML))
		}
		p.tb.Errorf("%s: axe %s (%s): %s\n    %s", state, v.ID, v.Impact, v.Help, strings.Join(where, "\n    "))
	}
}

// popupShown is true once a popup with an Edit button has faded in.
const popupShown = `(() => {
	const p = document.querySelector('.leaflet-popup');
	return p !== null && p.querySelector('.nx-edit') !== null && getComputedStyle(p).opacity === '1';
})()`

// TestAccessibility runs axe-core on desktop and phone, signed out and
// signed in, with a popup open and with a form open: no serious or
// critical finding in any of these states.
func TestAccessibility(t *testing.T) {
	srv, desk := openSample(t)
	phone := openTab(t, newBrowser(t), srv.URL)
	phone.do(waitLong, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch))
	desk.do(waitLong, chromedp.EmulateViewport(1280, 800))
	ids, _ := srv.items(t, "incidents", "q=Bissau")
	if len(ids) == 0 {
		t.Fatal("no incident in Bissau in the sample")
	}
	for _, c := range []struct {
		name string
		p    *tab
	}{{"desktop", desk}, {"phone", phone}} {
		p := c.p
		p.open("/")
		p.wait("the map at rest", settled, waitLong)
		p.axe(c.name + ", signed out")
		p.open("/#token=" + srv.token)
		p.wait("signed in", `document.body.dataset.canEdit === '1'`, waitLong)
		p.wait("the map at rest", settled, waitLong)
		p.axe(c.name + ", signed in")
		if !eval[bool](p, fmt.Sprintf(`window.nexus.show(%s)`, js(ids[0]))) {
			t.Fatal("nexus.show found no Bissau incident")
		}
		p.wait("the popup, faded in", popupShown, waitLong)
		p.axe(c.name + ", popup open")
		p.do(waitLong, chromedp.Evaluate[chromedp.Void](`document.querySelector('.leaflet-popup-content .nx-edit').click()`))
		p.wait("the form, the popup gone", `!document.getElementById('form-panel').hidden && !document.getElementById('record-form').hidden && document.getElementById('record-form').dataset.collection === 'incidents' && document.querySelector('.leaflet-popup') === null`, waitLong)
		p.axe(c.name + ", form open")
	}
}

// signedInPhone opens a phone-sized tab on srv signed in as admin.
func signedInPhone(t *testing.T, srv *testServer) *tab {
	t.Helper()
	phone := openTab(t, newBrowser(t), srv.URL)
	phone.do(waitLong, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch))
	phone.open("/#token=" + srv.token)
	phone.wait("signed in", `document.body.dataset.canEdit === '1' && document.getElementById('signin').dataset.role === 'admin'`, waitLong)
	return phone
}

// TestPhoneHeader: on a 390×844 phone, signed in, every control of the
// header is on screen, whole, and the header does not scroll.
func TestPhoneHeader(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "nexus.db"), "127.0.0.1:0")
	p := signedInPhone(t, srv)
	p.wait("the map at rest", settled, waitLong)
	var out struct {
		Width, Scroll, Client int
		Shown                 []struct {
			ID, Name    string
			Left, Right float64
			Top, Bottom float64
		}
	}
	raw := eval[string](p, `(() => {
		const bar = document.getElementById('topbar');
		const shown = [...bar.querySelectorAll('button, select, #live-state')].filter((e) => e.offsetParent !== null).map((e) => {
			const r = e.getBoundingClientRect();
			return { ID: e.id, Name: e.textContent.trim(), Left: r.left, Right: r.right, Top: r.top, Bottom: r.bottom };
		});
		return JSON.stringify({ Width: window.innerWidth, Scroll: bar.scrollWidth, Client: bar.clientWidth, Shown: shown });
	})()`)
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		t.Fatal(err)
	}
	if out.Width != 390 {
		t.Fatalf("the page is %d px wide on a 390 px screen: something overflows", out.Width)
	}
	if out.Scroll > out.Client {
		t.Errorf("the header scrolls: %d px of content in %d: %s", out.Scroll, out.Client, eval[string](p, `JSON.stringify([...document.querySelectorAll("#topbar *")].map((e) => e.tagName + "#" + e.id + "." + e.className + " " + e.getBoundingClientRect().right + " " + e.scrollWidth))`))
	}
	ids := map[string]bool{}
	for _, e := range out.Shown {
		ids[e.ID] = true
		if e.Left < 0 || e.Right > float64(out.Width) {
			t.Errorf("#%s (%q) spans %.0f–%.0f px, off a %d px screen", e.ID, e.Name, e.Left, e.Right, out.Width)
		}
		if e.Bottom-e.Top > 48 {
			t.Errorf("#%s (%q) is %.0f px tall: its label wraps", e.ID, e.Name, e.Bottom-e.Top)
		}
	}
	for _, id := range []string{"toggle-panel", "add-incident", "add-route", "export", "about", "signin", "live-state", "export-format"} {
		if !ids[id] {
			t.Errorf("#%s is not shown in the phone header", id)
		}
	}
	// Short labels keep the full name for assistive technology.
	for id, want := range map[string]string{"add-incident": "Add incident", "add-route": "Add route", "export": "Export", "about": "About", "signin": "Signed in: admin"} {
		if got := eval[string](p, fmt.Sprintf(`document.getElementById(%s).textContent.replace(/[+⤓?]\s?/g, '').trim()`, js(id))); got != want {
			t.Errorf("#%s is named %q, want %q", id, got, want)
		}
	}
}

// TestKeyboard walks the map with the keyboard: the route copies and their
// vertices are out of the tab order, every stop has a name, Enter on a
// marker moves the focus into its popup, Tab reaches Edit there, Enter
// opens the form, and Escape gives the focus back.
func TestKeyboard(t *testing.T) {
	srv, p := openSample(t)
	p.do(waitLong, chromedp.EmulateViewport(1280, 800))
	p.open("/#token=" + srv.token)
	p.wait("signed in", `document.body.dataset.canEdit === '1'`, waitLong)
	p.wait("the map at rest", settled, waitLong)

	// Tab from the map through everything it holds.
	eval[bool](p, `(document.getElementById('map').focus(), true)`)
	type stop struct{ Tag, Class, Name string }
	var stops []stop
	for i := 0; i < 200; i++ {
		p.do(waitLong, chromedp.KeyEvent("\t"))
		raw := eval[string](p, `(() => {
			const e = document.activeElement;
			if (!document.getElementById('map').contains(e)) return '';
			const name = e.getAttribute('aria-label') || e.getAttribute('title') || e.textContent.trim();
			return JSON.stringify({ Tag: e.tagName, Class: e.getAttribute('class') || '', Name: name });
		})()`)
		if raw == "" {
			break
		}
		var s stop
		if err := json.Unmarshal([]byte(raw), &s); err != nil {
			t.Fatal(err)
		}
		stops = append(stops, s)
	}
	routes := eval[int](p, `window.nexus.routes.size`)
	var lines, markers int
	for _, s := range stops {
		if strings.Contains(s.Class, "nx-waypoint") || strings.Contains(s.Class, "nx-route-hit") {
			t.Errorf("Tab stops on a route part: %+v", s)
		}
		if s.Name == "" {
			t.Errorf("Tab stops on something unnamed: %+v", s)
		}
		if strings.Contains(s.Class, "nx-route") {
			lines++
		}
		if strings.Contains(s.Class, "nx-marker") || strings.Contains(s.Class, "nx-cluster") {
			markers++
		}
	}
	if lines != routes {
		t.Errorf("Tab stops on %d route lines; %d routes are drawn", lines, routes)
	}
	if markers == 0 {
		t.Errorf("Tab never reached a marker: %+v", stops)
	}
	// Cluster icons carry a name that says how many incidents they hold.
	if bad := eval[int](p, `[...document.querySelectorAll('.nx-cluster')].filter((e) => !/^\d+ incidents?/.test(e.getAttribute('aria-label') || e.title || '')).length`); bad != 0 {
		t.Errorf("%d cluster icons have no name", bad)
	}

	// Enter on a marker: the popup takes the focus; Tab reaches Edit.
	ok := eval[bool](p, `(() => {
		const m = document.querySelector('.leaflet-marker-pane .nx-marker');
		if (!m) return false;
		m.focus();
		window.__opener = m;
		return document.activeElement === m;
	})()`)
	if !ok {
		t.Fatal("no single marker to focus")
	}
	p.do(waitLong, chromedp.KeyEvent("\r"))
	p.wait("the popup, faded in", popupShown, waitLong)
	p.wait("the focus in the popup", `document.querySelector('.leaflet-popup').contains(document.activeElement)`, waitLong)
	reached := false
	for i := 0; i < 20 && !reached; i++ {
		p.do(waitLong, chromedp.KeyEvent("\t"))
		reached = eval[bool](p, `document.activeElement.classList.contains('nx-edit')`)
	}
	if !reached {
		t.Fatalf("20 Tabs from the popup's heading never reached Edit; focus on %s", eval[string](p, `document.activeElement.outerHTML.slice(0, 120)`))
	}
	p.do(waitLong, chromedp.KeyEvent("\r"))
	p.wait("the form open", `!document.getElementById('form-panel').hidden && !document.getElementById('record-form').hidden && document.getElementById('record-form').dataset.collection === 'incidents' && document.getElementById('form-panel').contains(document.activeElement)`, waitLong)
	p.do(waitLong, chromedp.KeyEvent(kb.Escape))
	p.wait("the form closed", `document.getElementById('form-panel').hidden`, waitLong)

	// Escape in a popup gives the focus back to its marker.
	eval[bool](p, `(window.__opener.focus(), true)`)
	p.do(waitLong, chromedp.KeyEvent("\r"))
	p.wait("the focus in the popup", `document.querySelector('.leaflet-popup')?.contains(document.activeElement)`, waitLong)
	p.do(waitLong, chromedp.KeyEvent(kb.Escape))
	p.wait("the focus back on the marker", `document.querySelector('.leaflet-popup') === null && document.activeElement === window.__opener`, waitLong)

	// Enter on a route line opens its popup.
	eval[bool](p, `(document.querySelector('path.nx-route').focus(), true)`)
	p.do(waitLong, chromedp.KeyEvent("\r"))
	p.wait("a route popup with the focus", `document.querySelector('.leaflet-popup .nx-popup[data-collection=routes]')?.contains(document.activeElement)`, waitLong)
}

// TestLegendAndAbout: the legend starts closed; the about panel says what
// the database holds and what the sample is, in numbers counted from the
// data, and names the licences.
func TestLegendAndAbout(t *testing.T) {
	srv, p := openSample(t)
	p.do(waitLong, chromedp.EmulateViewport(1280, 800))
	p.open("/")
	p.wait("the map at rest", settled, waitLong)
	if eval[bool](p, `document.getElementById('legend').open`) {
		t.Error("the legend is open on load")
	}
	closed := eval[float64](p, `document.getElementById('legend').getBoundingClientRect().height`)
	if closed > 40 {
		t.Errorf("the closed legend is %.0f px tall", closed)
	}

	_, incidents := srv.items(t, "incidents", "")
	_, routes := srv.items(t, "routes", "")
	sample, err := data.Summarize()
	if err != nil {
		t.Fatal(err)
	}
	p.do(waitLong, chromedp.Click(chromedp.ID("about")))
	p.wait("the about panel counted", `document.getElementById('about-dialog').open && document.getElementById('about-dialog').dataset.ready === '1'`, waitLong)
	now := eval[string](p, `document.getElementById('about-now').textContent`)
	if want := fmt.Sprintf("%d incidents and %d routes", incidents, routes); !strings.Contains(now, want) {
		t.Errorf("about says %q, want %q", now, want)
	}
	text := eval[string](p, `document.getElementById('about-sample').textContent`)
	want := fmt.Sprintf("%d incidents and %d routes (%d records, dated %s to %s), coded by hand from %d articles",
		sample.Incidents, sample.Routes, sample.Incidents+sample.Routes, sample.From, sample.To, len(sample.Sources))
	if !strings.Contains(text, want) {
		t.Errorf("about says %q, want %q", text, want)
	}
	if n := eval[int](p, `document.querySelectorAll('#about-sources li a[href^=http]').length`); n != len(sample.Sources) {
		t.Errorf("%d linked sources, want %d", n, len(sample.Sources))
	}
	credits := eval[string](p, `document.getElementById('about-credits').textContent`)
	for _, w := range []string{"OpenStreetMap contributors (ODbL)", "Natural Earth", "GeoNames", "CC BY 4.0"} {
		if !strings.Contains(credits, w) {
			t.Errorf("the credits %q do not name %s", credits, w)
		}
	}
	p.axe("desktop, about open")
	p.do(waitLong, chromedp.KeyEvent(kb.Escape))
	p.wait("the about panel closed, focus back on its button", `!document.getElementById('about-dialog').open && document.activeElement.id === 'about'`, waitLong)
}

// TestRouteFitsOnce: showing a route fits the map to the route itself,
// never to its copies 360° away (which showed the world three times).
func TestRouteFitsOnce(t *testing.T) {
	_, p := openSample(t)
	p.do(waitLong, chromedp.EmulateViewport(1280, 800))
	p.open("/#map=5/0/0")
	ids := eval[[]string](p, `[...window.nexus.routes.keys()]`)
	eval[bool](p, `import('/js/geo.js').then((m) => { window.routeBounds = m.routeBounds; return true; })`)
	if len(ids) == 0 {
		t.Fatal("no routes drawn")
	}
	for _, id := range ids {
		// Start from a view none of the routes fits, so that the map moves.
		p.do(waitLong, chromedp.Evaluate[chromedp.Void](`(() => {
			const m = window.nexus.map;
			m.closePopup();
			m.setView([60, 100], 7, { animate: false });
			window.__fit = null;
			m.once('moveend', () => { window.__fit = m.getBounds(); });
		})()`))
		if !eval[bool](p, fmt.Sprintf(`window.nexus.show(%s, 'routes')`, js(id))) {
			t.Fatalf("nexus.show found no route %s", id)
		}
		p.wait("the map fitted", `window.__fit !== null && document.querySelector('.leaflet-popup') !== null`, waitLong)
		got := eval[[]float64](p, fmt.Sprintf(`(() => {
			const [[s, w], [n, e]] = routeBounds(window.nexus.routes.get(%s).feature.geometry);
			const b = window.__fit; // the view the fit made, before the popup's auto-pan
			return [b.getEast() - b.getWest(), w, e, b.getWest(), b.getEast(), s, n, b.getSouth(), b.getNorth()];
		})()`, js(id)))
		span, w, e, vw, ve := got[0], got[1], got[2], got[3], got[4]
		if span >= 360 {
			t.Errorf("route %s: the view spans %.0f° of longitude", id, span)
		}
		if w < vw-1e-6 || e > ve+1e-6 {
			t.Errorf("route %s (%.2f…%.2f) is not inside the view %.2f…%.2f", id, w, e, vw, ve)
		}
		if e-w < 90 && span > 3*(e-w)+60 {
			t.Errorf("route %s spans %.1f°, the view %.1f°: not fitted", id, e-w, span)
		}
	}
}

// TestFiltersForgiveInTheMap types what people type into the filters: a
// country's name, the end of an actor's name, the start of a word; the
// map shows what the API matches for the same, and a misspelt country
// brings a notice naming the closest.
func TestFiltersForgiveInTheMap(t *testing.T) {
	srv, p := openSample(t)
	p.do(waitLong, chromedp.EmulateViewport(1280, 800))
	p.open("/#map=2/0/0")
	apply := func(field, value string) {
		t.Helper()
		p.do(waitLong,
			chromedp.Click(chromedp.ID("f-clear")),
			chromedp.SendKeys(chromedp.ID(field), value),
			chromedp.Click(chromedp.ID("f-apply")),
		)
	}
	for _, c := range []struct{ field, typed, api, hash string }{
		{"f-country", "Kolumbien", "country=CO", "country=CO"},
		{"f-actor", "zetas", "actor=zetas", "actor=zetas"},
		{"f-q", "cocain", "q=cocain", "q=cocain"},
	} {
		_, want := srv.items(t, "incidents", c.api)
		if want == 0 {
			t.Fatalf("%s matches nothing in the sample: no test", c.api)
		}
		apply(c.field, c.typed)
		p.wait(c.typed+" applied", fmt.Sprintf(`location.hash.includes(%s) && document.body.dataset.loading === '0' && +document.body.dataset.numberMatched === %d`, js(c.hash), want), waitLong)
	}
	line := eval[string](p, `document.getElementById('view-count').textContent`)
	if !strings.Contains(line, "In view, under the filters") || !strings.Contains(line, "matching anywhere") {
		t.Errorf("the count line %q does not say what it counts", line)
	}
	apply("f-country", "Colmbia")
	p.wait("a notice naming Colombia", `(document.getElementById('notice').textContent || '').includes('Colombia (CO)')`, waitLong)
}

// pickCandidate types name into the waypoint search, presses Enter and
// clicks the candidate whose label mentions country.
func (p *tab) pickCandidate(name, country string) {
	p.tb.Helper()
	p.do(waitLong,
		chromedp.Focus(chromedp.ID("rec-wp-search")),
		chromedp.SendKeys(chromedp.ID("rec-wp-search"), name+"\r"),
	)
	p.wait("candidates for "+name, `document.querySelector('#rec-wp-results button') !== null`, waitLong)
	if !eval[bool](p, fmt.Sprintf(`(() => {
		const b = [...document.querySelectorAll('#rec-wp-results button')].find((b) => b.textContent.includes(%s));
		if (!b) return false;
		b.dataset.pick = '1';
		return true;
	})()`, js(country))) {
		p.tb.Fatalf("no candidate for %s in %s: %s", name, country, eval[string](p, `document.getElementById('rec-wp-results').textContent`))
	}
	p.do(waitLong, chromedp.Click(chromedp.CSS(`#rec-wp-results button[data-pick]`)))
}

// waypoints is the route form's waypoints as [lon, lat, name] rows.
func (p *tab) waypoints() [][3]any {
	p.tb.Helper()
	var out [][3]any
	raw := eval[string](p, `JSON.stringify([...document.querySelectorAll('#rec-waypoints li')].map((li) => {
		const [lat, lon] = li.querySelector('label').textContent.replace(/^\d+\.\s*/, '').split(',').map(Number);
		return [lon, lat, li.querySelector('input').value];
	}))`)
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		p.tb.Fatal(err)
	}
	return out
}

// TestRouteByName draws a route Santa Marta → Bissau → Lisbon by typing the
// three names, and on the way: a click on a cluster adds a waypoint
// instead of zooming, typed coordinates add one, a waypoint is inserted,
// dragged and removed. After saving, the map fits the route once.
func TestRouteByName(t *testing.T) {
	srv, p := openSample(t)
	p.do(waitLong, chromedp.EmulateViewport(1280, 800))
	p.open("/#map=3/12/-45&token=" + srv.token)
	p.wait("signed in", `document.body.dataset.canEdit === '1'`, waitLong)
	p.wait("the map at rest", settled, waitLong)
	p.do(waitLong, chromedp.Click(chromedp.ID("add-route")))
	p.wait("the route form", `!document.getElementById('record-form').hidden && document.getElementById('record-form').dataset.collection === 'routes'`, waitLong)

	// A click on an incident marker or cluster adds a waypoint there.
	xy := eval[[]float64](p, `(() => {
		const form = document.getElementById('form-panel').getBoundingClientRect();
		const m = [...document.querySelectorAll('.leaflet-marker-pane .nx-cluster, .leaflet-marker-pane .nx-marker')].map((e) => e.getBoundingClientRect())
			.find((r) => r.right < form.left - 10 && r.top > 60 && r.bottom < 700);
		return m ? [m.left + m.width / 2, m.top + m.height / 2] : [];
	})()`)
	if len(xy) != 2 {
		t.Fatal("no incident marker in view beside the form")
	}
	zoom := eval[float64](p, `window.nexus.map.getZoom()`)
	p.do(waitLong, chromedp.MouseClickXY(xy[0], xy[1]))
	p.wait("a waypoint from the click", `document.querySelectorAll('#rec-waypoints li').length === 1`, waitLong)
	if z := eval[float64](p, `window.nexus.map.getZoom()`); z != zoom {
		t.Errorf("the click zoomed the map from %v to %v", zoom, z)
	}
	if eval[bool](p, `document.querySelector('.leaflet-popup') !== null`) {
		t.Error("the click opened a popup")
	}
	p.do(waitLong, chromedp.Click(chromedp.CSS(`#rec-waypoints li button[aria-label^="Remove"]`)))
	p.wait("no waypoint", `document.querySelectorAll('#rec-waypoints li').length === 0`, waitLong)

	p.pickCandidate("Santa Marta", "Colombia")
	p.pickCandidate("Bissau", "Guinea-Bissau")
	p.pickCandidate("Lisbon", "Portugal")
	p.wait("three waypoints", `document.querySelectorAll('#rec-waypoints li').length === 3`, waitLong)

	// Typed coordinates, then insert, drag and remove.
	p.do(waitLong, chromedp.SendKeys(chromedp.ID("rec-wp-search"), "30.5, -20.25\r"))
	p.wait("four waypoints", `document.querySelectorAll('#rec-waypoints li').length === 4`, waitLong)
	if w := p.waypoints()[3]; w[0].(float64) != -20.25 || w[1].(float64) != 30.5 {
		t.Errorf("typed waypoint at %v, want lon -20.25, lat 30.5", w)
	}
	p.do(waitLong, chromedp.Click(chromedp.CSS(`#rec-waypoints li:nth-child(3) button[aria-label^="Insert"]`)))
	p.wait("five waypoints", `document.querySelectorAll('#rec-waypoints li').length === 5`, waitLong)
	ws := p.waypoints()
	if lat := ws[3][1].(float64); lat <= min(ws[2][1].(float64), ws[4][1].(float64)) || lat >= max(ws[2][1].(float64), ws[4][1].(float64)) {
		t.Errorf("the inserted waypoint (lat %v) is not between Lisbon (%v) and the typed one (%v)", lat, ws[2][1], ws[4][1])
	}
	before := ws[3]
	handle := eval[[]float64](p, `(() => {
		const r = document.querySelectorAll('.leaflet-drawing-pane .nx-wp')[3].getBoundingClientRect();
		return [r.left + r.width / 2, r.top + r.height / 2];
	})()`)
	p.drag(handle[0], handle[1], handle[0]-60, handle[1]+40)
	p.wait("the dragged waypoint moved", fmt.Sprintf(`!document.querySelectorAll('#rec-waypoints li')[3].querySelector('label').textContent.includes(%s)`,
		js(fmt.Sprintf("%.4f, %.4f", before[1], before[0]))), waitLong)
	if after := p.waypoints()[3]; after[0].(float64) >= before[0].(float64) || after[1].(float64) >= before[1].(float64) {
		t.Errorf("dragged west and south, the waypoint went from %v to %v", before, after)
	}
	for range 2 {
		p.do(waitLong, chromedp.Click(chromedp.CSS(`#rec-waypoints li:nth-child(4) button[aria-label^="Remove"]`)))
	}
	p.wait("three waypoints again", `document.querySelectorAll('#rec-waypoints li').length === 3`, waitLong)

	// Save; the map fits the new route once.
	p.do(waitLong, chromedp.SendKeys(chromedp.ID("rec-name"), "Santa Marta to Lisbon through Bissau"))
	p.do(waitLong, chromedp.Evaluate[chromedp.Void](`(() => {
		const m = window.nexus.map;
		window.__fit = null;
		m.once('moveend', () => { window.__fit = m.getBounds(); });
	})()`))
	p.do(waitLong, chromedp.Click(chromedp.ID("rec-save")))
	p.wait("the route saved, shown and fitted", `document.getElementById('form-panel').hidden && window.__fit !== null &&
		[...window.nexus.routes.values()].some((g) => g.feature.properties.name === 'Santa Marta to Lisbon through Bissau')`, waitLong)
	raw := eval[string](p, `JSON.stringify([...window.nexus.routes.values()].find((g) => g.feature.properties.name === 'Santa Marta to Lisbon through Bissau').feature)`)
	var f struct {
		ID         string
		Geometry   struct{ Coordinates [][2]float64 }
		Properties struct {
			Waypoints []string
		}
	}
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name     string
		lon, lat float64
	}{{"Santa Marta", -74.2, 11.24}, {"Bissau", -15.6, 11.86}, {"Lisbon", -9.14, 38.72}}
	if len(f.Geometry.Coordinates) != 3 || len(f.Properties.Waypoints) != 3 {
		t.Fatalf("saved route %+v, want 3 named waypoints", f)
	}
	for i, w := range want {
		c := f.Geometry.Coordinates[i]
		if math.Abs(c[0]-w.lon) > 0.2 || math.Abs(c[1]-w.lat) > 0.2 || f.Properties.Waypoints[i] != w.name {
			t.Errorf("waypoint %d is %q at %v, want %s near %v, %v", i+1, f.Properties.Waypoints[i], c, w.name, w.lon, w.lat)
		}
	}
	fit := eval[[]float64](p, `(() => { const b = window.__fit; return [b.getWest(), b.getEast(), b.getSouth(), b.getNorth()]; })()`)
	if fit[1]-fit[0] >= 360 {
		t.Errorf("after saving the map shows %.0f° of longitude: the world more than once", fit[1]-fit[0])
	}
	if fit[0] > -74.2 || fit[1] < -9.14 || fit[2] > 11.24 || fit[3] < 38.72 {
		t.Errorf("after saving the view %v does not hold the route", fit)
	}
	if fit[1]-fit[0] > 3*(74.2-9.14) {
		t.Errorf("after saving the view spans %.0f° for a route of %.0f°: not fitted", fit[1]-fit[0], 74.2-9.14)
	}
	p.axe("desktop, route drawn and saved")
}

// drag presses the mouse at (x0, y0), moves it in steps to (x1, y1) and
// releases it there, as a hand on a mouse would.
func (p *tab) drag(x0, y0, x1, y1 float64) {
	p.tb.Helper()
	steps := []chromedp.Action[chromedp.Void]{chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, x0, y0, chromedp.ButtonLeft)}
	for i := 1; i <= 10; i++ {
		f := float64(i) / 10
		steps = append(steps, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x0+(x1-x0)*f, y0+(y1-y0)*f, chromedp.ButtonLeft))
	}
	steps = append(steps, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, x1, y1, chromedp.ButtonLeft))
	p.do(waitLong, steps...)
}

// TestTimeline: the histogram's bars count the incidents that overlap each
// month (the API's dates, counted here independently), the imprecise share
// is said apart, Play runs the span in the time chosen, window and speed
// live in the address, and the counts follow a live change.
func TestTimeline(t *testing.T) {
	srv, p := openSample(t)
	p.do(waitLong, chromedp.EmulateViewport(1280, 800))
	p.open("/#map=2/0/0&win=60&speed=30")
	p.wait("the timeline loaded", `!document.getElementById('timeline-slider').disabled && document.querySelector('#timeline-hist .nx-bar') !== null`, waitLong)
	if got := eval[[]string](p, `[document.getElementById('timeline-window').value, document.getElementById('timeline-speed').value]`); got[0] != "60" || got[1] != "30" {
		t.Errorf("window and speed from the address: %q, want 60 and 30", got)
	}

	// Count, for every month, the incidents whose date overlaps it.
	_, body := srv.call(t, "GET", "/api/collections/incidents/items?limit=10000", nil)
	var fc struct {
		Features []struct {
			Properties struct{ Date string }
		}
	}
	if err := json.Unmarshal(body, &fc); err != nil {
		t.Fatal(err)
	}
	month := func(y, m int) int { return y*12 + m - 1 }
	overlap := map[int]int{}
	lo, hi, imprecise := math.MaxInt, math.MinInt, 0
	for _, f := range fc.Features {
		var y, m int
		d := f.Properties.Date
		first, last := 0, 0
		switch len(d) {
		case 4:
			fmt.Sscanf(d, "%d", &y)
			first, last = month(y, 1), month(y, 12)
			imprecise++
		case 7:
			fmt.Sscanf(d, "%d-%d", &y, &m)
			first, last = month(y, m), month(y, m)
			imprecise++
		default:
			fmt.Sscanf(d, "%d-%d", &y, &m)
			first, last = month(y, m), month(y, m)
		}
		for i := first; i <= last; i++ {
			overlap[i]++
		}
		lo, hi = min(lo, first), max(hi, last)
	}
	bars := eval[[][2]int](p, `[...document.querySelectorAll('#timeline-hist .nx-bar')].map((b) => [+b.dataset.exact, +b.dataset.approx])`)
	bin := (hi - lo + 1 + len(bars) - 1) / len(bars)
	for b, bar := range bars {
		want := 0
		for i := lo + b*bin; i < lo+(b+1)*bin; i++ {
			want = max(want, overlap[i])
		}
		if bar[0]+bar[1] != want {
			t.Errorf("bar %d (months %d…%d): %d+%d incidents, %d overlap its busiest month", b, lo+b*bin, lo+(b+1)*bin-1, bar[0], bar[1], want)
		}
	}
	note := eval[string](p, `document.getElementById('timeline-note').textContent`)
	if want := fmt.Sprintf("%d of %d dated only to a year or month", imprecise, len(fc.Features)); !strings.Contains(note, want) {
		t.Errorf("note %q, want %q", note, want)
	}

	// Play runs the whole span in the chosen time.
	plan := eval[map[string]float64](p, `window.nexus.timeline.playPlan()`)
	if total := plan["ticks"] * plan["interval"]; math.Abs(total-30000) > plan["interval"] || plan["interval"] < 100 {
		t.Errorf("Play plan %v runs the span in %.0f ms, want 30 s", plan, total)
	}

	// Window and speed go to the address.
	p.do(waitLong, chromedp.SetValue(chromedp.ID("timeline-speed"), "180"), chromedp.Evaluate[chromedp.Void](`document.getElementById('timeline-speed').dispatchEvent(new Event('change'))`))
	p.wait("the speed in the address", `location.hash.includes('speed=180') && location.hash.includes('win=60')`, waitLong)

	// A live change moves the count in view.
	p.wait("live connection", `document.getElementById('live-state').dataset.state === 'live'`, waitLong)
	before := eval[int](p, `+document.body.dataset.numberMatched`)
	srv.createIncident(t, -74.1, 4.6, map[string]any{"title": "Live count test", "type": "attack", "date": "2024-05-02"})
	p.wait("the count in view grown by one", fmt.Sprintf(`+document.body.dataset.numberMatched === %d && document.getElementById('view-count').textContent.includes('%d incidents')`, before+1, before+1), waitLong)
}

// TestHistoryInPopup: an editor sees a record's versions in its popup,
// newest first, each with who, when and what changed; a reader does not.
func TestHistoryInPopup(t *testing.T) {
	srv, p := openSample(t)
	p.do(waitLong, chromedp.EmulateViewport(1280, 800))
	id := srv.createIncident(t, -74.08, 4.65, map[string]any{"title": "History test", "type": "plot", "date": "2018-02"})
	status, body := srv.call(t, "PUT", "/api/collections/incidents/items/"+id, map[string]any{
		"type":       "Feature",
		"geometry":   map[string]any{"type": "Point", "coordinates": []float64{-74.08, 4.65}},
		"properties": map[string]any{"title": "History test, renamed", "type": "plot", "date": "2018-02"},
	})
	if status != 200 {
		t.Fatalf("PUT: %d %s", status, body)
	}
	p.open("/#map=9/4.65/-74.08")
	if !eval[bool](p, fmt.Sprintf(`window.nexus.show(%s)`, js(id))) {
		t.Fatal("nexus.show found no incident")
	}
	p.wait("the popup", `document.querySelector('.leaflet-popup-content .nx-popup') !== null`, waitLong)
	if eval[bool](p, `document.querySelector('.leaflet-popup .nx-history-button') !== null`) {
		t.Error("a reader who is not signed in sees the history button")
	}

	p.open("/#map=9/4.65/-74.08&token=" + srv.token)
	p.wait("signed in", `document.body.dataset.canEdit === '1'`, waitLong)
	if !eval[bool](p, fmt.Sprintf(`window.nexus.show(%s)`, js(id))) {
		t.Fatal("nexus.show found no incident")
	}
	p.wait("the popup, faded in", popupShown, waitLong)
	p.do(waitLong, chromedp.Click(chromedp.CSS(`.leaflet-popup .nx-history-button`)))
	p.wait("the history", `document.querySelectorAll('.leaflet-popup .nx-history-list li').length === 2`, waitLong)
	lines := eval[[]string](p, `[...document.querySelectorAll('.leaflet-popup .nx-history-list .nx-history-text')].map((s) => s.textContent)`)
	if !strings.HasPrefix(lines[0], "v2 · ") || !strings.HasSuffix(lines[0], "by admin · changed title") {
		t.Errorf("newest line %q, want v2 by admin, title changed", lines[0])
	}
	if !strings.HasPrefix(lines[1], "v1 · ") || !strings.HasSuffix(lines[1], "by admin · created") {
		t.Errorf("oldest line %q, want v1 by admin, created", lines[1])
	}
	// Each older version has a Restore button; the current one has none.
	if got := eval[[]string](p, `[...document.querySelectorAll('.leaflet-popup .nx-restore')].map((b) => b.dataset.version)`); len(got) != 1 || got[0] != "1" {
		t.Fatalf("restore buttons for versions %v, want [1]", got)
	}
	p.axe("desktop, history open in a popup")

	// Restoring version 1 makes version 3 with its content, and the
	// history, shown again, says so.
	p.do(waitLong, chromedp.Click(chromedp.CSS(`.leaflet-popup .nx-restore[data-version="1"]`)))
	p.wait("the history after the restore", `document.querySelectorAll('.leaflet-popup .nx-history-list li').length === 3`, waitLong)
	lines = eval[[]string](p, `[...document.querySelectorAll('.leaflet-popup .nx-history-list .nx-history-text')].map((s) => s.textContent)`)
	if !strings.HasPrefix(lines[0], "v3 · ") || !strings.HasSuffix(lines[0], "by admin · restored v1") {
		t.Errorf("newest line after the restore %q, want v3 by admin, restored v1", lines[0])
	}
	status, body = srv.call(t, "GET", "/api/collections/incidents/items/"+id, nil)
	var f struct {
		Properties struct {
			Title   string
			Version int
		}
	}
	if status != 200 || json.Unmarshal(body, &f) != nil || f.Properties.Title != "History test" || f.Properties.Version != 3 {
		t.Fatalf("after the restore: %d %s", status, body)
	}

	// An edit made elsewhere reaches the map live and redraws the marker:
	// the popup stays open with its history, which lists the new version.
	status, body = srv.call(t, "PUT", "/api/collections/incidents/items/"+id, map[string]any{
		"type":       "Feature",
		"geometry":   map[string]any{"type": "Point", "coordinates": []float64{-74.08, 4.65}},
		"properties": map[string]any{"title": "History test, edited elsewhere", "type": "plot", "date": "2018-02"},
	})
	if status != 200 {
		t.Fatalf("PUT: %d %s", status, body)
	}
	p.wait("the history after an edit elsewhere", `document.querySelectorAll('.leaflet-popup .nx-history-list li').length === 4 &&
		document.querySelector('.leaflet-popup .nx-history-list .nx-history-text').textContent.startsWith('v4 · ')`, waitLong)
	if errs, _, _ := p.seen(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

// TestPlayAsksForRoutesSparingly: while Play runs, the map asks for the
// routes (every one that matches, megabytes at scale) far less often than
// for the view, and once it stops it shows the routes of its last window.
func TestPlayAsksForRoutesSparingly(t *testing.T) {
	srv, p := openSample(t)
	p.do(waitLong, chromedp.EmulateViewport(1280, 800))
	p.open("/#map=2/0/0&win=12&speed=15")
	p.wait("the timeline loaded", `!document.getElementById('timeline-slider').disabled`, waitLong)
	count := func(part string) int {
		p.mu.Lock()
		defer p.mu.Unlock()
		n := 0
		for _, u := range p.requests {
			if strings.Contains(u, part) {
				n++
			}
		}
		return n
	}
	views, routes := count("/api/view?"), count("/api/collections/routes/items?")
	p.do(waitLong, chromedp.Click(chromedp.ID("timeline-play")))
	p.wait("Play to reach the end", `document.getElementById('timeline-play').dataset.state === 'paused'`, time.Minute)
	dt := eval[string](p, `window.nexus.filters.datetime()`)
	if dt == "" {
		t.Fatal("Play left no date window")
	}
	_, n := srv.items(t, "routes", "datetime="+url.QueryEscape(dt))
	last := func() string {
		p.mu.Lock()
		defer p.mu.Unlock()
		for i := len(p.requests) - 1; i >= 0; i-- {
			if strings.Contains(p.requests[i], "/api/collections/routes/items?") {
				return p.requests[i]
			}
		}
		return ""
	}
	asked := func() bool {
		u := last()
		return strings.Contains(u, "datetime="+dt) || strings.Contains(u, "datetime="+url.QueryEscape(dt))
	}
	for deadline := time.Now().Add(waitLong); !asked(); time.Sleep(pollInterval) {
		if time.Now().After(deadline) {
			t.Fatalf("the last routes asked for were %s, not those of the last window %s", last(), dt)
		}
	}
	p.wait("the routes of the last window", fmt.Sprintf(`+document.body.dataset.routeCount === %d && document.body.dataset.loading === '0'`, n), waitLong)
	views, routes = count("/api/view?")-views, count("/api/collections/routes/items?")-routes
	if views < 10 || routes*3 > views {
		t.Errorf("Play asked for the view %d times and for the routes %d times", views, routes)
	}
}
