package pgstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"nexus/geo"
)

// TestAlertsAndDeliveriesOnce: two servers' evaluators save the alerts of
// the same changes; they are stored once. Both servers' deliverers ask
// for due deliveries at once; each delivery goes to one of them, and comes
// back only after its lease when not recorded.
func TestAlertsAndDeliveriesOnce(t *testing.T) {
	a := openDB(t)
	ctx := context.Background()
	b := openURL(t, a.URL())
	w, err := geo.DecodeWatch([]byte(`{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[-80,0],[-70,0],[-70,10],[-80,10],[-80,0]]]},"properties":{"name":"Colombia","webhook":"https://example.org/hook"}}`))
	if err != nil {
		t.Fatal(err)
	}
	sw, err := a.CreateWatch(ctx, "ana", w)
	if err != nil {
		t.Fatal(err)
	}
	if sw.Secret == "" {
		t.Fatal("a watch with a webhook has no secret")
	}
	var alerts []geo.Alert
	var deliveries []geo.Delivery
	for seq := int64(1); seq <= 40; seq++ {
		alerts = append(alerts, geo.Alert{Watch: sw.ID, Seq: seq, Event: "enter", Collection: geo.Incidents, ID: fmt.Sprint("r", seq), Time: time.Now()})
		deliveries = append(deliveries, geo.Delivery{Watch: sw.ID, Seq: seq, URL: "https://example.org/hook", Body: []byte(`{}`)})
	}
	saved := make(chan bool, 2)
	for _, db := range []interface {
		SaveAlerts(context.Context, int64, []geo.Alert, []geo.Delivery) (bool, error)
	}{a, b} {
		go func() {
			ok, err := db.SaveAlerts(ctx, 40, alerts, deliveries)
			if err != nil {
				t.Error(err)
			}
			saved <- ok
		}()
	}
	if s1, s2 := <-saved, <-saved; s1 == s2 {
		t.Fatalf("both evaluators saved: %v %v", s1, s2)
	}
	if ok, err := b.SaveAlerts(ctx, 45, alerts[39:], deliveries[39:]); err != nil || ok {
		t.Fatalf("alerts stored already were stored again: %v %v", ok, err)
	}
	if cur, _ := a.AlertCursor(ctx); cur != 40 {
		t.Fatalf("cursor %d", cur)
	}
	list, _, err := b.Alerts(ctx, geo.AlertQuery{Watch: sw.ID, Limit: 100})
	if err != nil || len(list) != 40 {
		t.Fatalf("%d alerts (%v)", len(list), err)
	}

	now := time.Now()
	got := make([][]geo.Delivery, 2)
	var wg sync.WaitGroup
	for i, db := range []interface {
		DueDeliveries(context.Context, time.Time, int) ([]geo.Delivery, error)
	}{a, b} {
		wg.Go(func() {
			for {
				ds, err := db.DueDeliveries(ctx, now, 5)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ds) == 0 {
					return
				}
				got[i] = append(got[i], ds...)
			}
		})
	}
	wg.Wait()
	seen := map[int64]bool{}
	for _, ds := range got {
		for _, d := range ds {
			if seen[d.Seq] {
				t.Fatalf("delivery of seq %d taken twice", d.Seq)
			}
			seen[d.Seq] = true
			if d.Secret != sw.Secret {
				t.Fatalf("delivery without the watch's secret")
			}
		}
	}
	if len(seen) != 40 {
		t.Fatalf("%d deliveries taken of 40", len(seen))
	}
	d := got[0]
	if len(d) == 0 {
		d = got[1]
	}
	if err := a.RecordAttempt(ctx, d[0].DID, geo.Attempt{Attempt: 1, Time: now, Status: 500}, geo.DeliveryPending, now); err != nil {
		t.Fatal(err)
	}
	again, err := b.DueDeliveries(ctx, now, 100)
	if err != nil || len(again) != 1 || again[0].DID != d[0].DID {
		t.Fatalf("after one failed try, due again: %d (%v)", len(again), err)
	}
	later, err := b.DueDeliveries(ctx, now.Add(3*time.Minute), 100)
	// 39 are due again; one watch gives at most 16 at a time.
	if err != nil || len(later) != 16 {
		t.Fatalf("after the lease, %d deliveries are due again (%v), want 16 of 39", len(later), err)
	}
	logs, err := a.Deliveries(ctx, sw.ID, 100)
	if err != nil || len(logs) != 40 {
		t.Fatalf("%d delivery logs (%v)", len(logs), err)
	}
}
