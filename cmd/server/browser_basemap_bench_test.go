package main

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"nexus/geocode"
)

// BenchmarkBasemapZoom12 opens the map at zoom 12 (1280×800) over Bogotá,
// Tumaco and Bissau and reports, for each, the bytes of the offline
// basemap the view fetched (tiles and labels, as sent) and the time the
// page spent decoding and drawing the land tiles, beside their anchor: the
// Natural Earth layer the tiles replace, fetched whole for every view.
func BenchmarkBasemapZoom12(b *testing.B) {
	srv := startServer(b, filepath.Join(b.TempDir(), "nexus.db"), "127.0.0.1:0")
	p := openTab(b, newBrowser(b), srv.URL)
	p.do(waitLong, chromedp.EmulateViewport(1280, 800))
	anchor := len(geocode.BasemapGeoJSON())
	views := []struct {
		name     string
		lat, lng float64
	}{{"Bogotá", 4.65, -74.08}, {"Tumaco", 1.8, -78.78}, {"Bissau", 11.86, -15.6}}
	for range b.N {
		for _, v := range views {
			p.open(fmt.Sprintf("/#map=12/%.4f/%.4f", v.lat, v.lng))
			p.wait("the basemap drawn", basemapDrawn, waitLong)
			type figures struct {
				Tiles, Labels, TileBytes, LabelBytes int
				DrawMs, LoadMs                       float64
			}
			f := eval[figures](p, `(() => {
				const r = performance.getEntriesByType('resource');
				const of = (part) => r.filter((e) => e.name.includes(part));
				const bytes = (es) => es.reduce((s, e) => s + e.encodedBodySize, 0);
				const t = of('/api/basemap/tiles/');
				const l = of('/api/basemap/labels/');
				const nav = performance.getEntriesByType('navigation')[0];
				return {
					Tiles: t.length, Labels: l.length, TileBytes: bytes(t), LabelBytes: bytes(l),
					DrawMs: window.nexus.basemap.land.stats.ms,
					LoadMs: Math.max(...t.map((e) => e.responseEnd)) - (nav ? nav.startTime : 0),
				};
			})()`)
			total := f.TileBytes + f.LabelBytes
			b.ReportMetric(float64(total), "basemap-bytes/view-"+v.name)
			b.Logf("basemap zoom 12 over %s: %d bytes per view (%d tiles %d B, %d label tiles %d B) vs %d B of Natural Earth (ratio %.3f); decode+draw %.1f ms, tiles in by %.0f ms after navigation",
				v.name, total, f.Tiles, f.TileBytes, f.Labels, f.LabelBytes, anchor, float64(total)/float64(anchor), f.DrawMs, f.LoadMs)
		}
	}
}
