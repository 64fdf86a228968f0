// Package outbox delivers committed documents to partner nodes and keeps at
// it until each gets a verdict or is given up.
//
// The store owns the queue: a document is committed there (state accepted,
// due now) before the legacy VUCE gets its answer, so nothing accepted is
// lost if the node dies. Workers — a few per partner, so one slow partner
// cannot starve the others — claim due documents with a lease, deliver
// them through a delivery.Deliverer (which retries briefly within the
// request), and record the outcome: the partner's receipt, or the next try
// after an exponential, jittered backoff, or — past the give-up horizon —
// incomplete, for an operator to handle.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/vucelink/vucelink/delivery"
	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/store"
	"github.com/vucelink/vucelink/track"
	"github.com/vucelink/vucelink/wire"
)

// Store is what the outbox needs of the store. A claim's lease token is
// presented with the outcome, so a worker whose lease was taken over
// (it stalled past it) records nothing.
type Store interface {
	Claim(ctx context.Context, partner string, now time.Time, lease time.Duration) (*store.Document, error)
	Transition(ctx context.Context, trackingID string, at time.Time, c store.Change) (*store.Document, error)
	NextDue(ctx context.Context, partner string) (time.Time, error)
}

// News is what a store shared by several processes tells the outbox of
// the others (store.Postgres): documents they settled, which a caller here
// may be waiting for, and partners with work due. Optional.
type News interface {
	Settled() <-chan string
	Due() <-chan string
	Get(ctx context.Context, trackingID string) (*store.Document, error)
}

// Options tune the outbox. Zero values take the defaults in parentheses.
type Options struct {
	Partners    []string
	Concurrency int           // workers per partner (2)
	Lease       time.Duration // how long a claim lasts (2 min)
	BackoffMin  time.Duration // first wait after a failed attempt (5 s)
	BackoffMax  time.Duration // longest wait (10 min)
	GiveUpAfter time.Duration // from acceptance to incomplete (24 h)
	Poll        time.Duration // longest sleep when idle (1 s)
}

// Outbox runs the delivery workers.
type Outbox struct {
	store     Store
	deliverer delivery.Deliverer
	opts      Options
	recorder  track.Recorder
	logger    *slog.Logger
	country   string
	now       func() time.Time

	wake map[string]chan struct{}

	mu      sync.Mutex
	waiters map[string][]chan *store.Document
}

// New returns an outbox; call Run to start it.
func New(country string, s Store, d delivery.Deliverer, o Options, rec track.Recorder, logger *slog.Logger) *Outbox {
	if o.Concurrency <= 0 {
		o.Concurrency = 2
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = 5 * time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 10 * time.Minute
	}
	if o.GiveUpAfter <= 0 {
		o.GiveUpAfter = 24 * time.Hour
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ob := &Outbox{store: s, deliverer: d, opts: o, recorder: rec, logger: logger, country: country,
		now: time.Now, wake: map[string]chan struct{}{}, waiters: map[string][]chan *store.Document{}}
	for _, p := range o.Partners {
		ob.wake[p] = make(chan struct{}, 1)
	}
	return ob
}

// Notify tells partner's workers that a document is due now.
func (o *Outbox) Notify(partner string) {
	if ch, ok := o.wake[partner]; ok {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Wait returns a channel that receives the document once delivery to the
// partner reaches a verdict (or gives up), in this process or, with a
// store that has News, in any. It lets a caller answer the legacy VUCE
// synchronously when the partner is quick. Call it before the document is
// queued: a verdict reached in between would otherwise be missed.
func (o *Outbox) Wait(trackingID string) (<-chan *store.Document, func()) {
	ch := make(chan *store.Document, 1)
	o.mu.Lock()
	o.waiters[trackingID] = append(o.waiters[trackingID], ch)
	o.mu.Unlock()
	cancel := func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		list := o.waiters[trackingID]
		for i, c := range list {
			if c == ch {
				o.waiters[trackingID] = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(o.waiters[trackingID]) == 0 {
			delete(o.waiters, trackingID)
		}
	}
	return ch, cancel
}

func (o *Outbox) settle(d *store.Document) {
	o.mu.Lock()
	list := o.waiters[d.TrackingID]
	delete(o.waiters, d.TrackingID)
	o.mu.Unlock()
	for _, ch := range list {
		ch <- d
	}
}

// Run starts the workers and blocks until ctx ends and every worker has
// finished its current attempt.
func (o *Outbox) Run(ctx context.Context) {
	var wg sync.WaitGroup
	if news, ok := o.store.(News); ok && news.Settled() != nil {
		wg.Add(1)
		go func() { defer wg.Done(); o.relay(ctx, news) }()
	}
	for _, p := range o.opts.Partners {
		for i := 0; i < o.opts.Concurrency; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				o.worker(ctx, p)
			}()
		}
	}
	wg.Wait()
}

// relay passes other processes' news on: their verdicts to the callers
// waiting here, their new work to this process's workers.
func (o *Outbox) relay(ctx context.Context, news News) {
	for {
		select {
		case <-ctx.Done():
			return
		case partner := <-news.Due():
			if partner == "" {
				for p := range o.wake {
					o.Notify(p)
				}
				continue
			}
			o.Notify(partner)
		case id := <-news.Settled():
			o.mu.Lock()
			waiting := len(o.waiters[id]) > 0
			o.mu.Unlock()
			if !waiting {
				continue
			}
			if d, err := news.Get(ctx, id); err == nil {
				o.settle(d)
			}
		}
	}
}

func (o *Outbox) worker(ctx context.Context, partner string) {
	// The outcome of a delivery is recorded while the worker claims its
	// next document: the two commits then share the store's next
	// transaction rather than following each other. At most one outcome
	// per worker is being recorded at a time, and the worker returns only
	// once it is.
	recorded := make(chan struct{})
	close(recorded)
	defer func() { <-recorded }()
	for ctx.Err() == nil {
		d, err := o.store.Claim(ctx, partner, o.now(), o.opts.Lease)
		if err != nil {
			if ctx.Err() == nil {
				o.logger.Error("claiming work", "partner", partner, "error", err)
			}
			o.sleep(ctx, partner, o.opts.Poll)
			continue
		}
		if d == nil {
			wait := o.opts.Poll
			if next, err := o.store.NextDue(ctx, partner); err == nil && !next.IsZero() {
				wait = min(wait, max(time.Until(next), time.Millisecond))
			}
			o.sleep(ctx, partner, wait)
			continue
		}
		record := o.attempt(ctx, d)
		<-recorded
		if record == nil {
			continue
		}
		done := make(chan struct{})
		recorded = done
		go func() { defer close(done); record() }()
	}
}

func (o *Outbox) sleep(ctx context.Context, partner string, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-o.wake[partner]:
	case <-t.C:
	}
}

// attempt delivers one claimed document and returns what records the
// outcome (nil if there is nothing to record).
func (o *Outbox) attempt(ctx context.Context, d *store.Document) (record func()) {
	ev := track.Event{Node: o.country, TrackingID: d.TrackingID, DocumentID: d.DocumentID, Document: d.Type,
		Direction: track.Outbound, Partner: d.Partner}
	// The claim recorded the first attempt (accepted → sent).
	start := time.Now()
	receipt, err := o.deliverer.Deliver(ctx, &delivery.Document{
		Partner: d.Partner, Type: d.Type, ID: d.DocumentID, TrackingID: d.TrackingID, Body: d.Body,
	})
	ev.Duration = time.Since(start)
	if ctx.Err() != nil {
		// Shutting down: the lease is released at next start, and the
		// receiving side answers a repeat with its original receipt.
		return nil
	}
	now := o.now()
	var change store.Change
	switch {
	case err == nil:
		to := lifecycle.ReceivedCorrectly
		if receipt.Outcome != wire.ReceivedCorrectly {
			to = lifecycle.ReceivedWithErrors
		}
		empty := ""
		change = store.Change{To: to, Actor: "partner:" + d.Partner, Reason: receiptSummary(receipt), Receipt: receipt,
			NextTry: &time.Time{}, LastError: &empty}
		ev.Step, ev.Detail, ev.Outcome = track.Delivered, "receipt "+string(receipt.Outcome), string(receipt.Outcome)
		if receipt.Outcome != wire.ReceivedCorrectly {
			ev.Err = receipt.Error()
		}
	case errors.Is(err, delivery.ErrUnknownPartner), now.Sub(d.Created) >= o.opts.GiveUpAfter:
		msg := err.Error()
		change = store.Change{To: lifecycle.Incomplete, Actor: "outbox",
			Reason:  fmt.Sprintf("gave up after %d attempts over %s", d.Attempts, now.Sub(d.Created).Round(time.Second)),
			NextTry: &time.Time{}, LastError: &msg}
		ev.Step, ev.Err, ev.Detail, ev.Code = track.Failed, msg, "incomplete", "delivery.incomplete"
	default:
		msg := err.Error()
		next := now.Add(o.backoff(d.Attempts))
		change = store.Change{To: lifecycle.Sent, Actor: "outbox", NextTry: &next, LastError: &msg}
		ev.Step, ev.Err, ev.Code = track.Failed, msg, "delivery.retry"
		ev.Detail = fmt.Sprintf("attempt %d; next at %s", d.Attempts, next.UTC().Format(time.RFC3339))
	}
	// Whatever the outcome, the partner tells it again if it is lost (a
	// repeat gets the original receipt): no need to wait for fsync.
	change.Lease, change.Recoverable = d.Lease, true
	return func() { o.record(ctx, d, now, change, ev) }
}

// record records a delivery's outcome: the document's transition, the
// track event, and the verdict to those waiting for it.
func (o *Outbox) record(ctx context.Context, d *store.Document, now time.Time, change store.Change, ev track.Event) {
	done, terr := o.store.Transition(ctx, d.TrackingID, now, change)
	if errors.Is(terr, store.ErrLeaseLost) {
		o.logger.Warn("delivery outcome not recorded: another worker took the document over", "tracking_id", d.TrackingID, "attempt", d.Attempts)
		return
	}
	if terr != nil {
		o.logger.Error("recording delivery outcome", "tracking_id", d.TrackingID, "error", terr)
		return
	}
	if o.recorder != nil {
		ev.Time = now
		o.recorder.Record(ctx, ev)
	}
	if change.To != lifecycle.Sent {
		o.settle(done)
	}
}

// backoff is exponential in the attempt count with "equal jitter", so
// documents that failed together do not all return together.
func (o *Outbox) backoff(attempt int) time.Duration {
	ceiling := o.opts.BackoffMax
	if attempt < 40 {
		ceiling = min(o.opts.BackoffMin<<max(attempt-1, 0), o.opts.BackoffMax)
	}
	half := ceiling / 2
	return half + rand.N(half+1)
}

func receiptSummary(r *wire.Receipt) string {
	if r.Outcome == wire.ReceivedCorrectly {
		return "receipt: received correctly, digest " + r.Digest
	}
	return "receipt: " + r.Error()
}

// Wake tells partner's workers that work is due now (ops.Waker).
func (o *Outbox) Wake(partner string) { o.Notify(partner) }
