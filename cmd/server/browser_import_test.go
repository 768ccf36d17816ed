package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// download clicks the button and returns the name and content of the file
// the page downloads.
func download(t *testing.T, p *tab, button string) (string, []byte) {
	t.Helper()
	dir := t.TempDir()
	callTab(p, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: new(true),
	})
	ctx, cancel := context.WithTimeout(p.ctx, waitLong)
	defer cancel()
	begins := chromedp.Events(ctx, browser.DownloadWillBegin)
	progress := chromedp.Events(ctx, browser.DownloadProgress)
	p.do(waitLong, chromedp.Click(chromedp.ID(button)))
	var name string
	for ev, err := range begins {
		if err != nil {
			t.Fatalf("no download began: %v\npage: %s", err, p.state())
		}
		name = ev.SuggestedFilename
		break
	}
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("download did not complete: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			b, err := os.ReadFile(filepath.Join(dir, ev.GUID))
			if err != nil {
				t.Fatal(err)
			}
			return name, b
		}
	}
	return name, nil
}

// TestImportFromTheMap: an editor picks a GeoJSON file, then drops an
// ACLED CSV on the map; each time the page shows the progress and the
// report (with the rejected row's line and reason, downloadable), and the
// new records are on the map.
func TestImportFromTheMap(t *testing.T) {
	srv, p := openSample(t)
	p.open("/#map=6/4.6/-74.1&token=" + srv.token)
	p.wait("the map, live, the import button", `document.body.dataset.ready === '1' &&
		document.getElementById('live-state').dataset.state === 'live' &&
		!document.getElementById('import').hidden`, waitLong)
	// Every status line the page shows during the imports.
	eval[bool](p, `(() => {
		window.importStatuses = [];
		const status = document.getElementById('import-status');
		new MutationObserver(() => window.importStatuses.push(status.textContent))
			.observe(status, { childList: true, characterData: true, subtree: true });
		return true;
	})()`)

	// Pick a file: three incidents near Bogotá and one without a type, on
	// line 5.
	var gj strings.Builder
	gj.WriteString(`{"type":"FeatureCollection","features":[` + "\n")
	for i := range 4 {
		if i > 0 {
			gj.WriteString(",\n")
		}
		typ := `"type":"seizure",`
		if i == 3 {
			typ = ""
		}
		fmt.Fprintf(&gj, `{"type":"Feature","geometry":{"type":"Point","coordinates":[%v,4.6]},"properties":{"title":"Picked import %d",%s"date":"2024-06-0%d","external_id":"picked:%d"}}`,
			-74.2+float64(i)/10, i, typ, i+1, i)
	}
	gj.WriteString("\n]}\n")
	file := filepath.Join(t.TempDir(), "picked.geojson")
	if err := os.WriteFile(file, []byte(gj.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	p.do(waitLong, chromedp.SetUploadFiles(chromedp.ID("import-file"), []string{file}))
	p.wait("the report of the picked file", `document.body.dataset.importState === 'done'`, waitLong)
	counts := func() string {
		return eval[string](p, `Array.from(document.querySelectorAll('#import-report [data-count]')).map((li) => li.dataset.count + '=' + li.querySelector('strong').textContent).join(' ')`)
	}
	if got := counts(); got != "created=3 updated=0 unchanged=0 rejected=1" {
		t.Errorf("report counts %q", got)
	}
	row := eval[[]string](p, `Array.from(document.querySelectorAll('.import-rejected tbody td')).map((td) => td.textContent)`)
	if len(row) != 3 || row[0] != "5" || row[1] != "type" || row[2] == "" {
		t.Errorf("rejected row %q, want line 5, field type and a reason", row)
	}
	status := eval[string](p, `document.getElementById('import-status').textContent`)
	if !strings.Contains(status, "4 rows") || !strings.Contains(status, "rows/s") {
		t.Errorf("final status %q, want the rows and the rate", status)
	}
	if bar := eval[bool](p, `(() => { const b = document.getElementById('import-bar'); return b.value === b.max && b.max > 1; })()`); !bar {
		t.Error("the progress bar did not reach its end")
	}
	seen := eval[[]string](p, `window.importStatuses`)
	progressed := false
	for _, s := range seen {
		progressed = progressed || strings.HasSuffix(s, " %")
	}
	if !progressed {
		t.Errorf("no progress of the upload shown; statuses %q", seen)
	}
	name, csv := download(t, p, "import-report-csv")
	if !strings.HasSuffix(name, ".csv") || !strings.HasPrefix(string(csv), "line,field,reason\n5,type,") {
		t.Errorf("downloaded %q: %q", name, csv)
	}
	picked, _ := srv.items(t, "incidents", "q=Picked")
	if len(picked) != 3 {
		t.Fatalf("the API holds %d picked incidents, want 3", len(picked))
	}
	for _, id := range picked {
		p.wait("picked incident "+id+" on the map", fmt.Sprintf(`window.nexus.incidents.has(%s)`, js(id)), waitLong)
	}

	// Drop a file: two ACLED events, one of them again (an update).
	p.do(waitLong, chromedp.Click(chromedp.ID("import-close")))
	csvFile := "event_id_cnty,event_date,year,time_precision,event_type,sub_event_type,actor1,actor2,iso,country,admin1,location,latitude,longitude,geo_precision,source,notes,fatalities\n" +
		"COL7001,2024-06-10,2024,1,Battles,Armed clash,Military Forces of Colombia,ELN,170,Colombia,Cundinamarca,Dropped town,4.7,-74.0,1,El Tiempo,Dropped clash.,2\n" +
		"COL7002,2024-06-11,2024,1,Riots,Mob violence,Rioters (Colombia),,170,Colombia,Cundinamarca,Dropped village,4.5,-73.9,1,El Tiempo,Dropped riot.,0\n"
	eval[bool](p, fmt.Sprintf(`(() => {
		const dt = new DataTransfer();
		dt.items.add(new File([%s], 'acled-dropped.csv', { type: 'text/csv' }));
		const map = document.getElementById('map');
		map.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
		map.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
		return true;
	})()`, js(csvFile)))
	p.wait("the report of the dropped file", `document.body.dataset.importState === 'done' &&
		document.getElementById('import-title').textContent.includes('acled-dropped.csv')`, waitLong)
	if got := counts(); got != "created=2 updated=0 unchanged=0 rejected=0" {
		t.Errorf("report counts of the dropped file %q", got)
	}
	dropped, _ := srv.items(t, "incidents", "q=Dropped")
	if len(dropped) != 2 {
		t.Fatalf("the API holds %d dropped incidents, want 2", len(dropped))
	}
	for _, id := range dropped {
		p.wait("dropped incident "+id+" on the map", fmt.Sprintf(`window.nexus.incidents.has(%s)`, js(id)), 10*time.Second)
	}
}
