package outbox

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vucelink/vucelink/delivery"
	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/store"
	"github.com/vucelink/vucelink/wire"
)

// slowRecords is a Store with endless work whose transitions wait until
// the test releases them.
type slowRecords struct {
	claims              atomic.Int64
	inFlight, maxFlight atomic.Int64
	entered             chan struct{}
	release             chan struct{}
}

func (s *slowRecords) Claim(ctx context.Context, partner string, now time.Time, lease time.Duration) (*store.Document, error) {
	n := s.claims.Add(1)
	return &store.Document{TrackingID: fmt.Sprint("CL-", n), Partner: partner, Type: "sps", DocumentID: fmt.Sprint(n),
		State: lifecycle.Sent, Attempts: 1, Lease: 1, Created: now}, nil
}

func (s *slowRecords) Transition(ctx context.Context, trackingID string, at time.Time, c store.Change) (*store.Document, error) {
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for m := s.maxFlight.Load(); n > m && !s.maxFlight.CompareAndSwap(m, n); m = s.maxFlight.Load() {
	}
	select {
	case s.entered <- struct{}{}:
	default:
	}
	<-s.release // deliberately deaf to ctx: a store slow to answer
	return &store.Document{TrackingID: trackingID, State: c.To}, nil
}

func (s *slowRecords) NextDue(ctx context.Context, partner string) (time.Time, error) {
	return time.Time{}, nil
}

type answering struct{}

func (answering) Deliver(ctx context.Context, d *delivery.Document) (*wire.Receipt, error) {
	return &wire.Receipt{TrackingID: d.TrackingID, Outcome: wire.ReceivedCorrectly}, nil
}

// A worker records its last outcome while it delivers the next document,
// never more than one at a time, and Run returns only once every outcome
// is recorded.
func TestOutbox_OutcomesRecordedOneAtATimeAndBeforeRunReturns(t *testing.T) {
	st := &slowRecords{entered: make(chan struct{}, 1), release: make(chan struct{})}
	ob := New("CL", st, answering{}, Options{Partners: []string{"MX"}, Concurrency: 2}, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var returned atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() { ob.Run(ctx); returned.Store(true) })
	<-st.entered
	time.Sleep(100 * time.Millisecond) // the workers go on delivering meanwhile
	if got := st.maxFlight.Load(); got > 2 {
		t.Errorf("%d outcomes recorded at once by 2 workers, want at most 2", got)
	}
	if got := st.claims.Load(); got > 4 {
		t.Errorf("%d documents claimed while the outcomes hung: a worker went on past its unrecorded outcome", got)
	}
	cancel()
	// Each worker's first outcome is recorded; its second, of the
	// document it delivered meanwhile, is then being recorded.
	st.release <- struct{}{}
	st.release <- struct{}{}
	time.Sleep(100 * time.Millisecond)
	if returned.Load() {
		t.Error("Run returned with outcomes still being recorded")
	}
	close(st.release)
	wg.Wait()
}
