package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/wire"
)

// contractLeases: a claim's token fences every transition made with it.
func contractLeases(t *testing.T, open func(*testing.T) Store) {
	ctx := context.Background()
	t.Run("a lease taken over fences the old holder", func(t *testing.T) {
		s := open(t)
		s.Add(ctx, outbound("L", "d"), "legacy", "")
		first, err := s.Claim(ctx, "MX", t0, time.Minute)
		if err != nil || first == nil || first.Lease == 0 || first.State != lifecycle.Sent {
			t.Fatalf("claim: %+v %v", first, err)
		}
		// The first worker stalls past its lease; a second takes over.
		second, _ := s.Claim(ctx, "MX", t0.Add(2*time.Minute), time.Minute)
		if second == nil || second.Lease == first.Lease {
			t.Fatalf("takeover: %+v", second)
		}
		rc := &wire.Receipt{TrackingID: "CL-L", Outcome: wire.ReceivedCorrectly, Digest: "d"}
		_, err = s.Transition(ctx, "CL-L", t0.Add(3*time.Minute), Change{To: lifecycle.ReceivedCorrectly, Actor: "partner:MX", Receipt: rc, Lease: first.Lease, Recoverable: true})
		if !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("stale lease: %v", err)
		}
		if d, _ := s.Get(ctx, "CL-L"); d.State != lifecycle.Sent || d.Receipt != nil {
			t.Fatalf("the stale worker's verdict was recorded: %+v", d)
		}
		if _, err := s.Transition(ctx, "CL-L", t0.Add(3*time.Minute), Change{To: lifecycle.ReceivedCorrectly, Actor: "partner:MX", Receipt: rc, Lease: second.Lease, Recoverable: true}); err != nil {
			t.Fatalf("current lease: %v", err)
		}
	})
	t.Run("a change from outside ends the lease", func(t *testing.T) {
		s := open(t)
		s.Add(ctx, outbound("M", "d"), "legacy", "")
		held, _ := s.Claim(ctx, "MX", t0, time.Hour)
		now := t0.Add(time.Second)
		if _, err := s.Transition(ctx, "CL-M", now, Change{To: lifecycle.HandledOnPaper, Actor: "operator:ana", NextTry: &time.Time{}}); err != nil {
			t.Fatal(err)
		}
		msg := "timeout"
		next := t0.Add(time.Minute)
		_, err := s.Transition(ctx, "CL-M", now, Change{To: lifecycle.Sent, Actor: "outbox", NextTry: &next, LastError: &msg, Lease: held.Lease})
		if !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("worker after an operator's change: %v", err)
		}
	})
	t.Run("claims and recoverable outcomes do not wait for fsync", func(t *testing.T) {
		s := open(t)
		before := s.Stats()
		s.Add(ctx, outbound("N", "d"), "legacy", "")
		d, _ := s.Claim(ctx, "MX", t0, time.Minute)
		rc := &wire.Receipt{TrackingID: "CL-N", Outcome: wire.ReceivedCorrectly, Digest: "d"}
		if _, err := s.Transition(ctx, "CL-N", t0, Change{To: lifecycle.ReceivedCorrectly, Actor: "partner:MX", Receipt: rc, Lease: d.Lease, Recoverable: true}); err != nil {
			t.Fatal(err)
		}
		after := s.Stats()
		if got := after.Durable - before.Durable; got != 1 {
			t.Errorf("%d durable commits for one delivered document, want 1 (the acceptance)", got)
		}
		if got := after.Relaxed - before.Relaxed; got != 2 {
			t.Errorf("%d relaxed commits, want 2 (claim, verdict)", got)
		}
	})
}

func inbound(tid, id, digest string, at time.Time) *Document {
	return &Document{TrackingID: tid, Partner: "CL", Type: "sps", DocumentID: id, Digest: digest, Body: []byte("<x/>"), Created: at}
}

// contractReceive: the inbound decision, in one store operation.
func contractReceive(t *testing.T, open func(*testing.T) Store) {
	ctx := context.Background()
	t.Run("receive decides fresh, busy, in doubt, replay and conflict", func(t *testing.T) {
		s := open(t)
		hold := time.Minute
		v, first, err := s.Receive(ctx, inbound("CL-1", "R1", "d1", t0), hold, "partner:CL", "verified")
		if err != nil || v != Fresh || first.Lease == 0 {
			t.Fatalf("first: %v %+v %v", v, first, err)
		}
		if v, _, _ := s.Receive(ctx, inbound("CL-2", "R1", "d1", t0.Add(time.Second)), hold, "partner:CL", ""); v != Busy {
			t.Fatalf("while handed over: %v, want busy", v)
		}
		v, again, err := s.Receive(ctx, inbound("CL-3", "R1", "d1", t0.Add(2*time.Minute)), hold, "partner:CL", "")
		if err != nil || v != InDoubt || again.TrackingID != "CL-1" || again.Lease == first.Lease {
			t.Fatalf("after the holder died: %v %+v %v", v, again, err)
		}
		rc := &wire.Receipt{TrackingID: "CL-1", Outcome: wire.ReceivedCorrectly, Digest: "d1"}
		_, err = s.Transition(ctx, "CL-1", t0, Change{To: lifecycle.ReceivedCorrectly, Actor: "legacy", Receipt: rc, Lease: first.Lease})
		if !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("the dead holder's verdict: %v", err)
		}
		if _, err := s.Transition(ctx, "CL-1", t0, Change{To: lifecycle.ReceivedCorrectly, Actor: "legacy", Receipt: rc, Lease: again.Lease}); err != nil {
			t.Fatal(err)
		}
		v, replay, err := s.Receive(ctx, inbound("CL-4", "R1", "d1", t0.Add(3*time.Minute)), hold, "partner:CL", "")
		if err != nil || v != Replay || replay.Receipt == nil || replay.Receipt.Digest != "d1" {
			t.Fatalf("retry after the verdict: %v %+v %v", v, replay, err)
		}
		if v, prev, _ := s.Receive(ctx, inbound("CL-5", "R1", "other", t0.Add(3*time.Minute)), hold, "partner:CL", ""); v != Conflict || prev.Digest != "d1" {
			t.Fatalf("other content: %v", v)
		}
		if docs, _ := s.List(ctx, Filter{Direction: Inbound}); len(docs) != 1 {
			t.Errorf("%d inbound documents recorded, want 1", len(docs))
		}
	})
	t.Run("released marker is in doubt at once", func(t *testing.T) {
		s := open(t)
		_, d, _ := s.Receive(ctx, inbound("CL-6", "R2", "d", t0), time.Hour, "partner:CL", "")
		if err := s.Release(ctx, d.TrackingID, d.Lease); err != nil {
			t.Fatal(err)
		}
		if v, _, _ := s.Receive(ctx, inbound("CL-7", "R2", "d", t0.Add(time.Second)), time.Hour, "partner:CL", ""); v != InDoubt {
			t.Fatalf("after release: %v", v)
		}
	})
	t.Run("concurrent receives hand one over", func(t *testing.T) {
		s := open(t)
		var fresh atomic.Int64
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, _, err := s.Receive(ctx, inbound(fmt.Sprintf("CL-c%d", i), "R3", "d", t0), time.Hour, "partner:CL", "")
				if err != nil {
					t.Error(err)
				}
				if v == Fresh || v == InDoubt {
					fresh.Add(1)
				}
			}()
		}
		wg.Wait()
		if fresh.Load() != 1 {
			t.Errorf("%d receivers may hand over, want 1", fresh.Load())
		}
	})
}

// contractOneTransaction: a state change and the status message it sends
// commit together or not at all.
func contractOneTransaction(t *testing.T, open func(*testing.T) Store) {
	ctx := context.Background()
	t.Run("a change and its status message commit together", func(t *testing.T) {
		s := open(t)
		s.Add(ctx, &Document{TrackingID: "MX-9", Direction: Inbound, Partner: "MX", Type: "sps", DocumentID: "U1", Digest: "d", State: lifecycle.ReceivedCorrectly, Created: t0}, "partner:MX", "")
		msg := &Document{TrackingID: "CL-msg", Direction: Outbound, Partner: "MX", Type: "status", DocumentID: "U1/used", Digest: "m", State: lifecycle.Accepted, Body: []byte("<s/>"), NextTry: t0, Created: t0}
		if _, err := s.Transition(ctx, "MX-9", t0, Change{To: lifecycle.Used, Actor: "legacy", Enqueue: []*Document{msg}}); err != nil {
			t.Fatal(err)
		}
		if m, err := s.Get(ctx, "CL-msg"); err != nil || m.State != lifecycle.Accepted {
			t.Fatalf("status message: %+v %v", m, err)
		}
		// A message that cannot be queued undoes the change.
		s.Add(ctx, &Document{TrackingID: "MX-10", Direction: Inbound, Partner: "MX", Type: "sps", DocumentID: "U2", Digest: "d", State: lifecycle.ReceivedCorrectly, Created: t0}, "partner:MX", "")
		clash := &Document{TrackingID: "CL-msg", Direction: Outbound, Partner: "MX", Type: "status", DocumentID: "U2/used", Digest: "m2", State: lifecycle.Accepted, NextTry: t0, Created: t0}
		if _, err := s.Transition(ctx, "MX-10", t0, Change{To: lifecycle.Used, Actor: "legacy", Enqueue: []*Document{clash}}); err == nil {
			t.Fatal("a change whose message was not queued committed")
		}
		if d, _ := s.Get(ctx, "MX-10"); d.State != lifecycle.ReceivedCorrectly {
			t.Fatalf("state changed without its message: %s", d.State)
		}
		if h, _ := s.History(ctx, "MX-10"); len(h) != 1 {
			t.Fatalf("history of an undone change: %v", h)
		}
	})
	t.Run("the audit trail is a feed in commit order", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.Add(ctx, outbound(fmt.Sprintf("F%d", i), "d"), "legacy", "")
			}()
		}
		wg.Wait()
		ev, err := s.EventsAfter(ctx, 0, 100)
		if err != nil || len(ev) != 20 {
			t.Fatalf("%d events, %v", len(ev), err)
		}
		for i := 1; i < len(ev); i++ {
			if ev[i].ID <= ev[i-1].ID {
				t.Fatal("feed out of order")
			}
		}
	})
}

// contractRecords: small records beside the documents.
func contractRecords(t *testing.T, open func(*testing.T) Store) {
	ctx := context.Background()
	t.Run("records expire and are replaced", func(t *testing.T) {
		s := open(t)
		if err := s.Put(ctx, "session", "a", []byte("1"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		s.Put(ctx, "session", "a", []byte("2"), time.Now().Add(time.Hour))
		s.Put(ctx, "session", "old", []byte("x"), time.Now().Add(-time.Second))
		s.Put(ctx, "list", "MX", []byte("forever"), time.Time{})
		if v, err := s.Value(ctx, "session", "a"); err != nil || string(v) != "2" {
			t.Fatalf("value %q %v", v, err)
		}
		if _, err := s.Value(ctx, "session", "old"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("expired: %v", err)
		}
		if v, _ := s.Value(ctx, "list", "MX"); string(v) != "forever" {
			t.Fatalf("no expiry: %q", v)
		}
		s.Delete(ctx, "session", "a")
		if _, err := s.Value(ctx, "session", "a"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted: %v", err)
		}
	})
}

// contractProcesses: stores that several processes share.
func contractProcesses(t *testing.T, open func(*testing.T) Store, again func(*testing.T, Store) Store) {
	ctx := context.Background()
	t.Run("two processes never claim one document", func(t *testing.T) {
		a := open(t)
		b := again(t, a)
		for i := range 40 {
			a.Add(ctx, outbound(fmt.Sprintf("P%d", i), "d"), "legacy", "")
		}
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for _, s := range []Store{a, b, a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					d, err := s.Claim(ctx, "MX", t0, time.Hour)
					if err != nil {
						t.Error(err)
						return
					}
					if d == nil {
						return
					}
					mu.Lock()
					seen[d.TrackingID]++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(seen) != 40 {
			t.Errorf("claimed %d, want 40", len(seen))
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("%s claimed %d times", id, n)
			}
		}
	})
	t.Run("news reaches the other process", func(t *testing.T) {
		a := open(t)
		b := again(t, a)
		drain(b.Due())
		a.Add(ctx, outbound("Q", "d"), "legacy", "")
		waitFor(t, b.Due(), "MX")
		d, _ := b.Claim(ctx, "MX", t0, time.Minute)
		rc := &wire.Receipt{TrackingID: "CL-Q", Outcome: wire.ReceivedCorrectly, Digest: "d"}
		if _, err := b.Transition(ctx, "CL-Q", t0, Change{To: lifecycle.ReceivedCorrectly, Actor: "partner:MX", Receipt: rc, Lease: d.Lease, Recoverable: true}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, a.Settled(), "CL-Q")
	})
	t.Run("one process holds a role at a time, and it moves", func(t *testing.T) {
		a := open(t)
		b := again(t, a)
		var holders atomic.Int64
		var max atomic.Int64
		runs := make(chan string, 10)
		role := func(name string) func(context.Context) {
			return func(ctx context.Context) {
				n := holders.Add(1)
				if n > max.Load() {
					max.Store(n)
				}
				runs <- name
				<-ctx.Done()
				holders.Add(-1)
			}
		}
		actx, stopA := context.WithCancel(ctx)
		bctx, stopB := context.WithCancel(ctx)
		defer stopB()
		doneA := make(chan struct{})
		go func() { a.Singleton(actx, "expiry", role("a")); close(doneA) }()
		first := <-runs
		go b.Singleton(bctx, "expiry", role("b"))
		time.Sleep(300 * time.Millisecond)
		if first != "a" || max.Load() != 1 {
			t.Fatalf("first %s, %d holders", first, max.Load())
		}
		stopA()
		<-doneA
		select {
		case who := <-runs:
			if who != "b" {
				t.Fatalf("role moved to %s", who)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the role did not move when its holder stopped")
		}
		if max.Load() != 1 {
			t.Errorf("%d holders at once", max.Load())
		}
	})
}

func drain(ch <-chan string) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

func waitFor(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case got := <-ch:
			if got == want {
				return
			}
		case <-deadline:
			t.Fatalf("no news of %q", want)
		}
	}
}

// A second process opening the same SQLite store is refused, and told
// which process holds it.
func TestSQLite_SecondProcessRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "one.db")
	s, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = OpenSQLite(context.Background(), path)
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "process ") {
		t.Fatalf("second open: %v", err)
	}
	s.Close()
	s2, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatalf("after close: %v", err)
	}
	s2.Close()
}
