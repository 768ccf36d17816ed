package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"nexus/geo"
)

// testStatsByPeriod counts incidents by the period their date names, in
// time order, the widest first; routes are refused.
func testStatsByPeriod(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	for i, d := range []string{"2018", "2018-02", "2018-02-14", "2018-02-20", "2017-12-31", "1994-07-18", "1994"} {
		mustCreate(t, db, geo.Incidents, fmt.Sprintf(`{"type":"Feature","geometry":{"type":"Point","coordinates":[%d,1]},"properties":{"title":"x","type":"attack","date":%q}}`, i, d))
	}
	counts, err := db.Stats(context.Background(), geo.Incidents, geo.NewFilter(), "period")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range counts {
		got = append(got, fmt.Sprintf("%s=%d", c.Key, c.Count))
	}
	want := "year:1994=1 day:1994-07=1 day:2017-12=1 year:2018=1 month:2018-02=1 day:2018-02=2"
	if strings.Join(got, " ") != want {
		t.Errorf("got %s\nwant %s", strings.Join(got, " "), want)
	}
	if _, err := db.Stats(context.Background(), geo.Routes, geo.NewFilter(), "period"); geo.ErrorCode(err) != geo.EMALFORMED {
		t.Errorf("routes by period: %v, want a malformed error", err)
	}
}
