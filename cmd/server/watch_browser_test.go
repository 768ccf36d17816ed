package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestWatchAreaInTheMap: a viewer draws a circle around the Zona Rosa in
// the map; an editor adds an incident inside from another client; the
// badge and the alert appear in the viewer's map, though the view has
// moved elsewhere. Then the viewer edits the watch and deletes it.
func TestWatchAreaInTheMap(t *testing.T) {
	s := startWatchServer(t, filepath.Join(t.TempDir(), "nexus.db"))
	defer s.Close()
	p := openTab(t, newBrowser(t), s.URL)
	p.open("/#token=" + s.viewer)
	p.wait("live connection and the watch section", `document.getElementById('live-state').dataset.state === 'live' &&
		!document.getElementById('watches-section').hidden`, waitLong)

	p.do(waitLong,
		chromedp.Evaluate[chromedp.Void](`void window.nexus.map.setView([4.6668, -74.0537], 12, {animate: false})`),
		chromedp.SendKeys(chromedp.ID("w-name"), "Zona Rosa"),
		chromedp.SetValue(chromedp.ID("w-radius"), "5"),
		chromedp.Click(chromedp.ID("w-circle")),
	)
	p.wait("drawing mode", `document.body.dataset.drawing === 'circle'`, waitLong)
	xy := eval[[]float64](p, `(() => {
		const m = window.nexus.map;
		const pt = m.latLngToContainerPoint([4.6668, -74.0537]);
		const r = m.getContainer().getBoundingClientRect();
		return [r.left + pt.x, r.top + pt.y];
	})()`)
	p.do(waitLong, chromedp.MouseClickXY(xy[0], xy[1]))
	p.wait("the watch saved and listed", `document.body.dataset.watches === '1' &&
		document.querySelector('#watch-list li .nx-watch-name').textContent === 'Zona Rosa'`, waitLong)
	st, b, _ := do(t, s.URL, s.viewer, "GET", "/api/watches", nil)
	if st != 200 || !strings.Contains(string(b), `"radius_km":5`) || !strings.Contains(string(b), `"coordinates":[-74.05`) {
		t.Fatalf("the stored watch: %d %s", st, b)
	}
	if n := eval[string](p, `document.body.dataset.unreadAlerts`); n != "0" || !eval[bool](p, `document.getElementById('alert-badge').hidden`) {
		t.Fatalf("a badge before any alert: %q", n)
	}

	// The view moves away (Madrid); the alert comes all the same.
	p.do(waitLong, chromedp.Evaluate[chromedp.Void](`void window.nexus.map.setView([40.4, -3.7], 10, {animate: false})`))
	title := "Plot against the embassy <b>not bold</b>"
	st, b, _ = do(t, s.URL, s.editor, "POST", "/api/collections/incidents/items",
		fmt.Sprintf(`{"type":"Feature","geometry":{"type":"Point","coordinates":[-74.0530,4.6660]},"properties":{"title":%q,"type":"plot","date":"2024-05"}}`, title))
	if st != 201 {
		t.Fatalf("create: %d %s", st, b)
	}
	p.wait("the badge and the alert", `document.body.dataset.unreadAlerts === '1' &&
		!document.getElementById('alert-badge').hidden &&
		document.getElementById('alert-badge-count').textContent === '1' &&
		document.querySelector('#alert-list li[data-event="enter"]') !== null`, 20*time.Second)
	text := eval[string](p, `document.querySelector('#alert-list li[data-event="enter"]').textContent`)
	if !strings.Contains(text, "Zona Rosa") || !strings.Contains(text, title) || !strings.Contains(text, "entered") {
		t.Errorf("alert item %q does not name the watch, the record and the event", text)
	}
	if eval[int](p, `document.querySelectorAll('#alert-list b').length`) != 0 {
		t.Error("record text was parsed as HTML")
	}
	// Edit: a new name and radius, saved as version 2.
	p.do(waitLong, chromedp.Click(chromedp.CSS(`#watch-list li button[aria-label^="Edit"]`)))
	p.wait("the edit form", `!document.getElementById('w-save').hidden && document.getElementById('w-name').value === 'Zona Rosa'`, waitLong)
	p.do(waitLong,
		chromedp.SetValue(chromedp.ID("w-name"), "Zona Rosa and Chicó"),
		chromedp.SetValue(chromedp.ID("w-radius"), "7.5"),
		chromedp.Click(chromedp.ID("w-save")))
	p.wait("the renamed watch", `document.querySelector('#watch-list li .nx-watch-name').textContent === 'Zona Rosa and Chicó'`, waitLong)
	st, b, _ = do(t, s.URL, s.viewer, "GET", "/api/watches", nil)
	if st != 200 || !strings.Contains(string(b), `"radius_km":7.5`) || !strings.Contains(string(b), `"version":2`) {
		t.Fatalf("the edited watch: %d %s", st, b)
	}

	// Delete.
	p.do(waitLong, chromedp.Click(chromedp.CSS(`#watch-list li button[aria-label^="Delete"]`)))
	p.wait("no watch left", `document.body.dataset.watches === '0'`, waitLong)
	if st, b, _ = do(t, s.URL, s.viewer, "GET", "/api/watches", nil); st != 200 || !strings.Contains(string(b), `"numberReturned":0`) {
		t.Fatalf("after delete: %d %s", st, b)
	}

	errs, foreign, _ := p.seen()
	if len(errs) > 0 || len(foreign) > 0 {
		t.Errorf("console errors %v, foreign requests %v", errs, foreign)
	}
}
