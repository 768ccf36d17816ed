package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
)

// TestLiveCatchesUpWithoutTheHello: the map loads without waiting for the
// live connection's hello (the configuration says which change the server
// had sent) and misses nothing: an incident added after the map loaded,
// while its live connection cannot open, appears once it does.
func TestLiveCatchesUpWithoutTheHello(t *testing.T) {
	srv, p := openSample(t)
	// Until the test lets it, every attempt to open the live connection
	// fails, as when it is slow to come.
	callTab(p, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `(() => {
		const Real = window.WebSocket;
		window.__liveBlocked = true;
		function Held(url, protocols) {
			if (window.__liveBlocked && String(url).includes('/api/live')) throw new DOMException('held by the test', 'NetworkError');
			return new Real(url, protocols);
		}
		Held.prototype = Real.prototype;
		Object.assign(Held, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
		window.WebSocket = Held;
	})()`})
	p.open("/")
	if state := eval[string](p, `document.getElementById('live-state').dataset.state`); state == "live" {
		t.Fatal("the live connection opened while held")
	}
	if seq := eval[float64](p, `window.nexus.lastSeq ?? -1`); seq <= 0 {
		t.Fatalf("the page starts from seq %v, not the configuration's", seq)
	}
	title := "Live test: added while the map was connecting"
	id := srv.createIncident(t, -77.07, 3.88, map[string]any{"title": title, "type": "seizure", "date": "2024-05-02"})
	eval[bool](p, `(window.__liveBlocked = false, true)`)
	p.wait("the live connection and the incident added meanwhile", fmt.Sprintf(`
		document.getElementById('live-state').dataset.state === 'live' &&
		window.nexus.incidents.has(%s)`, js(id)), waitLong)
	if n := eval[int](p, `performance.getEntriesByType('navigation').length`); n != 1 {
		t.Errorf("%d navigations: the page reloaded", n)
	}
}

// TestLiveFollowsTheFilters: the map subscribes with its whole filter and
// the server decides what matches, by the rules of the API. With q=bogota a
// live update to a "Bogotá" incident keeps it on the map; an update that
// takes it out of the filter removes it. The same for a date filter.
func TestLiveFollowsTheFilters(t *testing.T) {
	srv, p := openSample(t)
	bogota := srv.createIncident(t, -74.08, 4.6, map[string]any{"title": "Car bomb in Bogotá", "type": "attack", "date": "2024-05-02"})
	medellin := srv.createIncident(t, -75.57, 6.25, map[string]any{"title": "Arrest in Medellín", "type": "arrest", "date": "2024-05-02"})

	// updated patches a title and waits until the map has the change.
	updated := func(id, title string) {
		t.Helper()
		srv.patch(t, "incidents", id, map[string]any{"properties": map[string]any{"title": title}})
		p.wait("the update in the feed", fmt.Sprintf(`[...document.querySelectorAll('#feed li[data-id=%s] .nx-feed-title')].some((n) => n.textContent === %s)`,
			js(id), js(title)), 10*time.Second)
	}
	drawn := func(id string) bool { return eval[bool](p, fmt.Sprintf(`window.nexus.incidents.has(%s)`, js(id))) }

	t.Run("text", func(t *testing.T) {
		p.open("/#map=6/5.5/-75&q=bogota")
		p.wait("the Bogotá incident drawn, live", fmt.Sprintf(`window.nexus.incidents.has(%s) &&
			document.getElementById('live-state').dataset.state === 'live'`, js(bogota)), waitLong)
		if drawn(medellin) {
			t.Fatal("q=bogota draws the Medellín incident")
		}
		if q := eval[string](p, `window.nexus.live.subscription.filter.q || ''`); q != "bogota" {
			t.Errorf("the subscription's q is %q, want bogota", q)
		}
		updated(bogota, "Car bomb in Bogotá, second report")
		if !drawn(bogota) {
			t.Error("a live update to a Bogotá incident removed it from the map filtered by q=bogota")
		}
		updated(bogota, "Car bomb in Cali")
		if drawn(bogota) {
			t.Error("an incident edited out of q=bogota stays on the map")
		}
		updated(bogota, "Car bomb in BOGOTÁ")
		if !drawn(bogota) {
			t.Error("an incident edited back into q=bogota is not drawn")
		}
	})

	t.Run("date", func(t *testing.T) {
		p.open("/#map=6/5.5/-75&from=2024-05&to=2024-05")
		p.wait("both incidents of May 2024 drawn, live", fmt.Sprintf(`window.nexus.incidents.has(%s) && window.nexus.incidents.has(%s) &&
			document.getElementById('live-state').dataset.state === 'live'`, js(bogota), js(medellin)), waitLong)
		if d := eval[string](p, `window.nexus.live.subscription.filter.datetime || ''`); d != "2024-05/2024-05" {
			t.Errorf("the subscription's datetime is %q, want 2024-05/2024-05", d)
		}
		updated(medellin, "Arrest in Medellín, confirmed")
		if !drawn(medellin) {
			t.Error("a live update to an incident of May 2024 removed it from the map filtered to May 2024")
		}
		srv.patch(t, "incidents", medellin, map[string]any{"properties": map[string]any{"date": "2019-01-10", "title": "Arrest in Medellín, 2019"}})
		p.wait("the update in the feed", fmt.Sprintf(`[...document.querySelectorAll('#feed li[data-id=%s] .nx-feed-title')].some((n) => n.textContent === %s)`,
			js(medellin), js("Arrest in Medellín, 2019")), 10*time.Second)
		if drawn(medellin) {
			t.Error("an incident moved out of May 2024 stays on the map")
		}
		if !drawn(bogota) {
			t.Error("the other incident of May 2024 left the map")
		}
	})
	if errs, _, _ := p.seen(); len(errs) > 0 {
		t.Errorf("console errors: %s", strings.Join(errs, "; "))
	}
}
