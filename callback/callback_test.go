package callback

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/store"
)

// A real store and a real HTTP server standing in for the legacy VUCE:
// changes arrive in order, a failing receiver is retried without skipping,
// and a restarted dispatcher resumes where it stopped.
func TestDispatcher_InOrderRetriedResumed(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "cb.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Now()
	st.Add(ctx, &store.Document{TrackingID: "CL-1", Direction: store.Outbound, Partner: "MX", Type: "sps", DocumentID: "A", Digest: "d", State: lifecycle.Accepted, Created: t0}, "legacy", "")
	st.Add(ctx, &store.Document{TrackingID: "CL-2", Direction: store.Outbound, Partner: "MX", Type: "cod", DocumentID: "B", Digest: "d", State: lifecycle.Accepted, Created: t0}, "legacy", "")
	st.Transition(ctx, "CL-1", t0, store.Change{To: lifecycle.Sent, Actor: "outbox"})

	var mu sync.Mutex
	var got []Message
	var fail atomic.Int32
	fail.Store(2) // the legacy system is down for the first two calls
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Add(-1) >= 0 {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		var m Message
		json.NewDecoder(r.Body).Decode(&m)
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	}))
	defer srv.Close()

	run := func() context.CancelFunc {
		c, cancel := context.WithCancel(ctx)
		d := &Dispatcher{Name: "sps-out", URL: srv.URL, Feed: st, Poll: 10 * time.Millisecond,
			BackoffMin: 10 * time.Millisecond, BackoffMax: 20 * time.Millisecond,
			Match: func(e store.Event) bool { return e.Type == "sps" && e.Direction == store.Outbound }}
		go d.Run(c)
		return cancel
	}
	waitFor := func(n int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			mu.Lock()
			l := len(got)
			mu.Unlock()
			if l >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d callbacks, want %d", l, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	stop := run()
	waitFor(2)
	stop()
	time.Sleep(50 * time.Millisecond)
	st.Transition(ctx, "CL-1", time.Now(), store.Change{To: lifecycle.ReceivedCorrectly, Actor: "partner:MX", Reason: "receipt"})
	stop = run() // a restarted node resumes from the stored cursor
	defer stop()
	waitFor(3)
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	var states []string
	for _, m := range got {
		if m.TrackingID != "CL-1" {
			t.Errorf("callback for %s (another document type)", m.TrackingID)
		}
		states = append(states, string(m.State))
	}
	if len(got) != 3 || states[0] != "accepted" || states[1] != "sent" || states[2] != "received-correctly" || got[2].Actor != "partner:MX" {
		t.Errorf("callbacks %v, want accepted, sent, received-correctly once each", states)
	}
}
