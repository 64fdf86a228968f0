package store

import (
	"context"
	"testing"
	"time"

	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/wire"
)

// trafficStore is what contractTraffic needs of an implementation.
type trafficStore interface {
	TrafficSource
	Add(ctx context.Context, d *Document, actor, reason string) (*Document, error)
	Transition(ctx context.Context, trackingID string, at time.Time, c Change) (*Document, error)
}

func TestTraffic(t *testing.T) {
	for name, impl := range implementations(t) {
		t.Run(name, func(t *testing.T) {
			contractTraffic(t, func(t *testing.T) trafficStore {
				s, ok := impl.open(t).(trafficStore)
				if !ok {
					t.Fatalf("the %s store has no Traffic: the console would show no charts", name)
				}
				return s
			})
		})
	}
}

// contractTraffic is the Traffic contract every store implementation
// passes.
func contractTraffic(t *testing.T, open func(*testing.T) trafficStore) {
	ctx := context.Background()
	base := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	s := open(t)
	add := func(tid, dir, docType string, state lifecycle.State, created time.Time) {
		t.Helper()
		d := &Document{TrackingID: tid, Direction: dir, Partner: "MX", Type: docType, DocumentID: tid,
			Digest: "sha256:" + tid, State: state, Body: []byte("<x/>"), Created: created}
		if _, err := s.Add(ctx, d, "legacy", ""); err != nil {
			t.Fatal(err)
		}
	}
	move := func(tid string, at time.Time, to lifecycle.State) {
		t.Helper()
		c := Change{To: to, Actor: "outbox"}
		if to == lifecycle.ReceivedCorrectly || to == lifecycle.ReceivedWithErrors {
			c.Receipt = &wire.Receipt{TrackingID: tid, Outcome: wire.Outcome(to), Time: at}
		}
		if _, err := s.Transition(ctx, tid, at, c); err != nil {
			t.Fatalf("%s → %s: %v", tid, to, err)
		}
	}
	// Delivered in ten minutes.
	add("delivered", Outbound, "sps", lifecycle.Accepted, base)
	move("delivered", base.Add(time.Minute), lifecycle.Sent)
	move("delivered", base.Add(10*time.Minute), lifecycle.ReceivedCorrectly)
	// Given up after two hours.
	add("given-up", Outbound, "sps", lifecycle.Accepted, base.Add(5*time.Minute))
	move("given-up", base.Add(6*time.Minute), lifecycle.Sent)
	move("given-up", base.Add(2*time.Hour), lifecycle.Incomplete)
	// Queued two days ago and still waiting: it counts in the queue today.
	add("old-pending", Outbound, "sps", lifecycle.Accepted, base.Add(-48*time.Hour))
	// Delivered two days ago: nothing to do with today.
	add("old-done", Outbound, "sps", lifecycle.Accepted, base.Add(-48*time.Hour))
	move("old-done", base.Add(-47*time.Hour), lifecycle.Sent)
	move("old-done", base.Add(-47*time.Hour), lifecycle.ReceivedCorrectly)
	// Received, with errors.
	add("in-errors", Inbound, "sps", lifecycle.ReceivedWithErrors, base.Add(3*time.Minute))
	// A status message is not traffic.
	add("status", Outbound, "status", lifecycle.Accepted, base)

	recs, err := s.Traffic(ctx, base.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	got := map[time.Time]TrafficRecord{}
	for _, r := range recs {
		got[r.Created] = r
	}
	if len(recs) != 4 {
		t.Fatalf("%d records, want 4 (delivered, given-up, old-pending, in-errors): %+v", len(recs), recs)
	}
	for _, tt := range []struct {
		name                       string
		created                    time.Time
		dir                        string
		settled, delivered, failed time.Time
	}{
		{"delivered", base, Outbound, base.Add(10 * time.Minute), base.Add(10 * time.Minute), time.Time{}},
		{"given-up", base.Add(5 * time.Minute), Outbound, base.Add(2 * time.Hour), time.Time{}, base.Add(2 * time.Hour)},
		{"old-pending", base.Add(-48 * time.Hour), Outbound, time.Time{}, time.Time{}, time.Time{}},
		{"in-errors", base.Add(3 * time.Minute), Inbound, base.Add(3 * time.Minute), time.Time{}, base.Add(3 * time.Minute)},
	} {
		r, ok := got[tt.created]
		if !ok {
			t.Errorf("%s: missing", tt.name)
			continue
		}
		if r.Direction != tt.dir || r.Partner != "MX" || !r.Settled.Equal(tt.settled) || !r.Delivered.Equal(tt.delivered) || !r.Failed.Equal(tt.failed) {
			t.Errorf("%s: %+v, want settled %v delivered %v failed %v", tt.name, r, tt.settled, tt.delivered, tt.failed)
		}
	}
}
