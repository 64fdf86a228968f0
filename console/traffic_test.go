package console

import (
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vucelink/vucelink/store"
)

func TestComputeTraffic(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 30, 0, 0, time.UTC)
	b := buckets{start: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), n: 3} // 10:00, 11:00, 12:00
	h := func(hh, mm int) time.Time { return time.Date(2026, 11, 25, hh, mm, 0, 0, time.UTC) }
	recs := []store.TrafficRecord{
		// Delivered in 1, 2, … 10 s, all created at 10:05.
		{Direction: store.Outbound, Partner: "MX", Created: h(10, 5), Settled: h(10, 5).Add(1 * time.Second), Delivered: h(10, 5).Add(1 * time.Second)},
		{Direction: store.Outbound, Partner: "MX", Created: h(10, 5), Settled: h(10, 5).Add(9 * time.Second), Delivered: h(10, 5).Add(9 * time.Second)},
		{Direction: store.Outbound, Partner: "MX", Created: h(10, 5), Settled: h(10, 5).Add(10 * time.Second), Delivered: h(10, 5).Add(10 * time.Second)},
		// Queued at 9:00, given up at 11:30: waiting at 10:00's and (not) 11:00's end.
		{Direction: store.Outbound, Partner: "PE", Created: h(9, 0), Settled: h(11, 30), Failed: h(11, 30)},
		// Still waiting since 12:10.
		{Direction: store.Outbound, Partner: "MX", Created: h(12, 10)},
		// Received at 11:15, with errors.
		{Direction: store.Inbound, Partner: "MX", Created: h(11, 15), Settled: h(11, 15), Failed: h(11, 15)},
	}
	for _, tt := range []struct {
		partner                string
		sent, received, failed []float64
		queue, p50, p95        []float64
	}{
		{"", []float64{3, 0, 1}, []float64{0, 1, 0}, []float64{0, 2, 0}, []float64{1, 0, 1}, []float64{9, math.NaN(), math.NaN()}, []float64{10, math.NaN(), math.NaN()}},
		{"PE", []float64{0, 0, 0}, []float64{0, 0, 0}, []float64{0, 1, 0}, []float64{1, 0, 0}, []float64{math.NaN(), math.NaN(), math.NaN()}, []float64{math.NaN(), math.NaN(), math.NaN()}},
	} {
		s := computeTraffic(recs, tt.partner, b, now)
		for name, pair := range map[string][2][]float64{"sent": {s.sent, tt.sent}, "received": {s.received, tt.received},
			"failed": {s.failed, tt.failed}, "queue": {s.queue, tt.queue}, "p50": {s.p50, tt.p50}, "p95": {s.p95, tt.p95}} {
			for i := range pair[1] {
				got, want := pair[0][i], pair[1][i]
				if !(got == want || math.IsNaN(got) && math.IsNaN(want)) {
					t.Errorf("partner %q %s: %v, want %v", tt.partner, name, pair[0], pair[1])
					break
				}
			}
		}
	}
}

// Every chart is an image with a title and a description, and its
// numbers are also a table, one row per hour.
func TestTrafficPage_ChartsAreAccessible(t *testing.T) {
	f := setup(t)
	b := f.browser(t)
	b.login("victor", "viewer-secret")
	for path, rows := range map[string]int{"/console/traffic": 24, "/console/traffic?range=7d&partner=MX": 168} {
		r := b.do("GET", path, nil)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d", path, r.status)
		}
		if n := strings.Count(r.body, `role="img"`); n != 3 {
			t.Errorf("%s: %d charts, want 3", path, n)
		}
		if n := strings.Count(r.body, "<title id="); n != 3 {
			t.Errorf("%s: %d chart titles", path, n)
		}
		if n := strings.Count(r.body, `<th scope="row">`); n != 3*rows {
			t.Errorf("%s: %d table rows, want %d", path, n, 3*rows)
		}
		if strings.Contains(r.body, "<script") {
			t.Errorf("%s: a script", path)
		}
	}
	if r := b.do("GET", "/console/traffic?partner=AR", nil); r.status != http.StatusNotFound {
		t.Errorf("unknown partner: %d", r.status)
	}
}
