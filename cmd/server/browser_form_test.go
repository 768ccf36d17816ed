package main

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestRecordForm: the one record form serves both collections. An incident
// added with a bad date shows the API's 422 beside the date field, then
// saves; a route opened from its popup shows only the route's fields, a bad
// date shows beside its field, a fixed one saves as the next version with
// its geometry untouched; a route changed by someone else meanwhile answers
// 412 in words that name a route.
func TestRecordForm(t *testing.T) {
	srv, p := openSample(t)
	p.do(waitLong, chromedp.EmulateViewport(1280, 800))
	p.open("/#token=" + srv.token)
	p.wait("signed in", `document.body.dataset.canEdit === '1'`, waitLong)
	p.wait("the map at rest", settled, waitLong)
	// visible is true when the field with that id is shown in the form.
	visible := func(id string) bool {
		return eval[bool](p, fmt.Sprintf(`document.getElementById(%s).closest('[hidden]') === null`, js(id)))
	}
	// emptied clears a field, as a hand selecting its text and deleting it would.
	emptied := func(id string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById(%s).value = ''`, js(id)))
	}
	// errorFor is the message shown beside a field.
	errorFor := func(field string) string {
		return fmt.Sprintf(`document.querySelector('#record-form [data-error-for=%s]').textContent`, js(field))
	}

	// An incident: a month 13 is refused beside the date, then it saves.
	p.do(waitLong, chromedp.Click(chromedp.ID("add-incident")))
	p.wait("the incident form", `!document.getElementById('form-panel').hidden && document.getElementById('record-form').dataset.collection === 'incidents'`, waitLong)
	for id, want := range map[string]bool{"rec-title": true, "rec-lon": true, "rec-killed": true, "rec-name": false, "rec-wp-search": false, "rec-active-from": false} {
		if got := visible(id); got != want {
			t.Errorf("incident form: #%s shown = %v, want %v", id, got, want)
		}
	}
	title := "Form test: cocaine seized in Bissau"
	p.do(waitLong,
		chromedp.SendKeys(chromedp.ID("rec-lon"), "-15.6"),
		chromedp.SendKeys(chromedp.ID("rec-lat"), "11.86"),
		chromedp.SendKeys(chromedp.ID("rec-title"), title),
		chromedp.SetValue(chromedp.ID("rec-type"), "seizure"),
		chromedp.SendKeys(chromedp.ID("rec-date"), "2019-13"),
		chromedp.SendKeys(chromedp.ID("rec-actors"), "Los Zetas, FARC"),
		chromedp.Click(chromedp.ID("rec-save")),
	)
	p.wait("the date refused beside its field", errorFor("date")+` !== '' && document.getElementById('rec-date').getAttribute('aria-invalid') === 'true'`, waitLong)
	if ids, _ := srv.items(t, "incidents", "q=Form+test"); len(ids) != 0 {
		t.Fatalf("a refused incident was stored: %v", ids)
	}
	p.do(waitLong,
		emptied("rec-date"),
		chromedp.SendKeys(chromedp.ID("rec-date"), "2019-03"),
		chromedp.Click(chromedp.ID("rec-save")),
	)
	p.wait("the incident saved and shown", `document.getElementById('form-panel').hidden && `+popupShown+
		` && document.querySelector('.leaflet-popup-content').textContent.includes(`+js(title)+`)`, waitLong)
	ids, _ := srv.items(t, "incidents", "q=Form+test")
	if len(ids) != 1 {
		t.Fatalf("incidents saved by the form: %v, want 1", ids)
	}
	var inc struct {
		Geometry   struct{ Coordinates []float64 }
		Properties struct {
			Title, Type, Date string
			Actors            []string
		}
	}
	getJSON(t, srv.URL+"/api/collections/incidents/items/"+ids[0], &inc)
	if p := inc.Properties; p.Title != title || p.Type != "seizure" || p.Date != "2019-03" || len(p.Actors) != 2 ||
		fmt.Sprint(inc.Geometry.Coordinates) != "[-15.6 11.86]" {
		t.Errorf("stored incident %+v", inc)
	}

	// A route, opened from its popup in the same form.
	routes, _ := srv.items(t, "routes", "")
	if len(routes) == 0 {
		t.Fatal("no route in the sample")
	}
	route := routes[0]
	var before struct {
		Geometry   json.RawMessage
		Properties struct {
			Version int
			Name    string
		}
	}
	getJSON(t, srv.URL+"/api/collections/routes/items/"+route, &before)
	routeName := before.Properties.Name
	openRoute := func() {
		eval[bool](p, `(window.nexus.map.closePopup(), true)`)
		p.wait("no popup", `document.querySelector('.leaflet-popup') === null`, waitLong)
		if !eval[bool](p, fmt.Sprintf(`window.nexus.show(%s, 'routes')`, js(route))) {
			t.Fatal("nexus.show found no route")
		}
		p.wait("the route's popup", popupShown+` && document.querySelector('.leaflet-popup-content').textContent.includes(`+js(routeName)+`)`, waitLong)
		p.do(waitLong, chromedp.Evaluate[chromedp.Void](`document.querySelector('.leaflet-popup-content .nx-edit').click()`))
		p.wait("the route form", `!document.getElementById('form-panel').hidden && document.getElementById('record-form').dataset.collection === 'routes' && document.getElementById('rec-name').value !== ''`, waitLong)
	}
	openRoute()
	for id, want := range map[string]bool{"rec-title": false, "rec-lon": false, "rec-killed": false, "rec-name": true, "rec-wp-search": true, "rec-active-from": true} {
		if got := visible(id); got != want {
			t.Errorf("route form: #%s shown = %v, want %v", id, got, want)
		}
	}
	p.do(waitLong,
		emptied("rec-active-from"),
		chromedp.SendKeys(chromedp.ID("rec-active-from"), "2020-99"),
		chromedp.Click(chromedp.ID("rec-save")),
	)
	p.wait("the route's date refused beside its field", errorFor("active_from")+` !== ''`, waitLong)
	p.do(waitLong,
		emptied("rec-active-from"),
		chromedp.SendKeys(chromedp.ID("rec-active-from"), "2020-05"),
		chromedp.Click(chromedp.ID("rec-save")),
	)
	p.wait("the route saved", `document.getElementById('form-panel').hidden`, waitLong)
	var after struct {
		Geometry   json.RawMessage
		Properties struct {
			Version    int
			ActiveFrom string `json:"active_from"`
		}
	}
	getJSON(t, srv.URL+"/api/collections/routes/items/"+route, &after)
	if after.Properties.Version != before.Properties.Version+1 || after.Properties.ActiveFrom != "2020-05" {
		t.Errorf("route after saving: version %d, active_from %q; want version %d, 2020-05", after.Properties.Version, after.Properties.ActiveFrom, before.Properties.Version+1)
	}
	if string(after.Geometry) != string(before.Geometry) {
		t.Errorf("saving the form changed the route's geometry:\n%s\nwas\n%s", after.Geometry, before.Geometry)
	}

	// Someone else changes the route while the form is open: 412, said of a route.
	openRoute()
	srv.patch(t, "routes", route, map[string]any{"properties": map[string]any{"summary": "changed elsewhere"}})
	p.do(waitLong, chromedp.Click(chromedp.ID("rec-save")))
	p.wait("the conflict said", `document.querySelector('#record-form .form-errors').textContent.includes('changed this route')`, waitLong)
}
