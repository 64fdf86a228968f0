package outbox

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vucelink/vucelink/delivery"
	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/store"
	"github.com/vucelink/vucelink/store/storetest"
	"github.com/vucelink/vucelink/track"
	"github.com/vucelink/vucelink/wire"
)

// stalling is a Deliverer that announces each call and answers only when
// the test lets it, with what the test says.
type stalling struct {
	entered chan string
	release chan error
	receipt *wire.Receipt
}

func (s *stalling) Deliver(ctx context.Context, d *delivery.Document) (*wire.Receipt, error) {
	s.entered <- d.TrackingID
	select {
	case err := <-s.release:
		if err != nil {
			return nil, err
		}
		return s.receipt, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type counting struct{ n atomic.Int64 }

func (c *counting) Record(context.Context, track.Event) { c.n.Add(1) }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// A worker that stalls past its lease while another (another replica's)
// takes the document over records nothing when it wakes: not its failed
// attempt, not its schedule, and it does not end the new holder's lease,
// whose verdict is the one recorded.
func TestOutbox_StaleWorkerRecordsNothing(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			stA, stB := storetest.Pair(t, kind)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			now := time.Now()
			if _, err := stA.Add(ctx, &store.Document{TrackingID: "CL-1", Direction: store.Outbound, Partner: "MX", Type: "sps",
				DocumentID: "D1", Digest: "sha256:1", State: lifecycle.Accepted, Body: []byte("<x/>"), NextTry: now, Created: now}, "legacy", "accepted"); err != nil {
				t.Fatal(err)
			}
			logs := &syncBuffer{}
			stale := &stalling{entered: make(chan string, 4), release: make(chan error, 1)}
			fresh := &stalling{entered: make(chan string, 4), release: make(chan error, 1),
				receipt: &wire.Receipt{TrackingID: "CL-1", Outcome: wire.ReceivedCorrectly, Digest: "sha256:1"}}
			recA, recB := &counting{}, &counting{}
			a := New("CL", stA, stale, Options{Partners: []string{"MX"}, Concurrency: 1, Lease: 200 * time.Millisecond, Poll: 20 * time.Millisecond},
				recA, slog.New(slog.NewTextHandler(logs, nil)))
			b := New("CL", stB, fresh, Options{Partners: []string{"MX"}, Concurrency: 1, Lease: time.Minute, Poll: 20 * time.Millisecond},
				recB, slog.New(slog.DiscardHandler))
			var wg sync.WaitGroup
			defer wg.Wait()
			defer cancel()
			wg.Go(func() { a.Run(ctx) })
			wait := func(ch chan string, what string) {
				t.Helper()
				select {
				case <-ch:
				case <-time.After(10 * time.Second):
					t.Fatalf("timed out waiting for %s", what)
				}
			}
			wait(stale.entered, "worker A's attempt")
			time.Sleep(300 * time.Millisecond) // A stalls past its lease
			wg.Go(func() { b.Run(ctx) })
			wait(fresh.entered, "worker B to take the document over")

			stale.release <- errors.New("i/o timeout")
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(logs.String(), "another worker took the document over") {
				if time.Now().After(deadline) {
					t.Fatalf("A's outcome was not refused; its log:\n%s", logs)
				}
				time.Sleep(10 * time.Millisecond)
			}
			d, err := stA.Get(ctx, "CL-1")
			if err != nil {
				t.Fatal(err)
			}
			if d.LastError != "" || !d.NextTry.Equal(now.Truncate(0).UTC()) || d.State != lifecycle.Sent || d.Attempts != 2 {
				t.Fatalf("the stale worker's outcome was recorded: state %s, attempts %d, last error %q, next try %v", d.State, d.Attempts, d.LastError, d.NextTry)
			}

			fresh.release <- nil
			for {
				if d, _ = stA.Get(ctx, "CL-1"); d.State == lifecycle.ReceivedCorrectly {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("B's verdict was not recorded: %s", d.State)
				}
				time.Sleep(10 * time.Millisecond)
			}
			h, _ := stA.History(ctx, "CL-1")
			var path []string
			for _, x := range h {
				path = append(path, string(x.To)+"@"+x.Actor)
			}
			if got, want := strings.Join(path, " "), "accepted@legacy sent@outbox received-correctly@partner:MX"; got != want {
				t.Errorf("history %s, want %s", got, want)
			}
			if recA.n.Load() != 0 || recB.n.Load() != 1 {
				t.Errorf("events recorded: A %d (want 0), B %d (want 1)", recA.n.Load(), recB.n.Load())
			}
		})
	}
}
