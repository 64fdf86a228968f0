package demo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/store"
	"github.com/vucelink/vucelink/wire"
)

// seedTraffic fills a node's store with a week of realistic traffic up
// to now, for the charts' screenshots: a working-day rhythm (busy in the
// Americas' office hours, quiet at night), Mexico taking most, inbound
// about 60% of outbound, deliveries in about a second (a tail of several),
// a few refusals, and yesterday afternoon's three-hour outage of Mexico's
// node: its documents queue up, the oldest are given up, and an operator
// resends them when it is back. It returns how many documents it added.
func seedTraffic(t *testing.T, st store.Store, country string, now time.Time) int {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(18, 2026))
	weights := map[string]float64{"MX": 0.45, "PE": 0.30, "CO": 0.25}
	partners := []string{"CO", "MX", "PE"}
	start := now.Truncate(time.Hour).Add(-7 * 24 * time.Hour)
	// Mexico's outage: yesterday 15:00-18:00 UTC.
	day := now.UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour)
	down, up := day.Add(15*time.Hour), day.Add(18*time.Hour)
	latency := func() time.Duration {
		// Log-normal: median about 1.1 s, p95 about 3.5 s.
		return time.Duration(math.Exp(math.Log(1.1)+0.7*rng.NormFloat64()) * float64(time.Second))
	}
	seq, added := 0, 0
	add := func(d *store.Document, steps ...func(tid string)) {
		seq++
		d.TrackingID = fmt.Sprintf("%s-SEED-%05d", country, seq)
		d.DocumentID = fmt.Sprintf("%s-2026-%06d", d.Partner, 100000+seq)
		if d.Direction == store.Outbound {
			d.DocumentID = fmt.Sprintf("%s-2026-%06d", country, 100000+seq)
		}
		d.Type, d.Body = "sps", []byte("<seed/>")
		d.Digest = wire.Digest([]byte(d.TrackingID))
		if _, err := st.Add(ctx, d, "legacy", "accepted from the legacy VUCE"); err != nil {
			t.Fatal(err)
		}
		for _, s := range steps {
			s(d.TrackingID)
		}
		added++
	}
	move := func(at time.Time, to lifecycle.State, actor, reason string) func(string) {
		return func(tid string) {
			c := store.Change{To: to, Actor: actor, Reason: reason, Recoverable: true}
			if to == lifecycle.ReceivedCorrectly || to == lifecycle.ReceivedWithErrors {
				c.Receipt = &wire.Receipt{TrackingID: tid, Outcome: wire.Outcome(to), Time: at}
			}
			if _, err := st.Transition(ctx, tid, at, c); err != nil {
				t.Fatalf("%s → %s: %v", tid, to, err)
			}
		}
	}
	for h := start; h.Before(now); h = h.Add(time.Hour) {
		// Office hours in the Americas: 12:00-23:00 UTC; weekends quieter.
		rate := 3.0
		if hh := h.UTC().Hour(); hh >= 12 && hh < 23 {
			rate = 22 + 8*math.Sin(float64(hh-12)/11*math.Pi)
		}
		if wd := h.UTC().Weekday(); wd == time.Saturday || wd == time.Sunday {
			rate *= 0.35
		}
		for _, p := range partners {
			nOut := poisson(rng, rate*weights[p])
			for range nOut {
				created := h.Add(time.Duration(rng.Float64() * float64(time.Hour)))
				if created.After(now) {
					continue
				}
				d := &store.Document{Direction: store.Outbound, Partner: p, State: lifecycle.Accepted, Created: created}
				sent := created.Add(200 * time.Millisecond)
				switch {
				case p == "MX" && !created.Before(down) && created.Before(up):
					if created.Before(down.Add(time.Hour)) { // given up after two hours, resent by hand
						gaveUp := created.Add(2 * time.Hour)
						resent := up.Add(10 * time.Minute)
						add(d, move(sent, lifecycle.Sent, "outbox", "connection refused"),
							move(gaveUp, lifecycle.Incomplete, "outbox", "gave up after 2h: connection refused"),
							move(resent, lifecycle.Sent, "operator:ana", "resend: Mexico's node is back"),
							move(resent.Add(latency()), lifecycle.ReceivedCorrectly, "partner:MX", ""))
					} else {
						add(d, move(sent, lifecycle.Sent, "outbox", "connection refused"),
							move(up.Add(time.Duration(rng.Float64()*float64(4*time.Minute))), lifecycle.ReceivedCorrectly, "partner:MX", ""))
					}
				case now.Sub(created) < 90*time.Second: // on its way right now
					add(d, move(sent, lifecycle.Sent, "outbox", ""))
				case rng.Float64() < 0.015:
					add(d, move(sent, lifecycle.Sent, "outbox", ""), move(created.Add(latency()), lifecycle.ReceivedWithErrors, "partner:"+p, "schema.invalid"))
				default:
					add(d, move(sent, lifecycle.Sent, "outbox", ""), move(created.Add(latency()), lifecycle.ReceivedCorrectly, "partner:"+p, ""))
				}
			}
			for range poisson(rng, rate*weights[p]*0.6) {
				created := h.Add(time.Duration(rng.Float64() * float64(time.Hour)))
				if created.After(now) {
					continue
				}
				state := lifecycle.ReceivedCorrectly
				if rng.Float64() < 0.01 {
					state = lifecycle.ReceivedWithErrors
				}
				add(&store.Document{Direction: store.Inbound, Partner: p, State: state, Created: created})
			}
		}
	}
	return added
}

// poisson draws from a Poisson distribution (Knuth's method: the rates
// here are small).
func poisson(rng *rand.Rand, mean float64) int {
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}
