package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

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
