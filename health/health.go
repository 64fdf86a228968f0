// Package health says, per partner node, whether it can be reached now —
// from the delivery events the outbox already produces, without probing.
//
// A Tracker is a track.Recorder. It reads only outbound events: a
// track.Delivered step (the partner answered with a receipt, whatever the
// verdict) is a success and its Duration the latency; a track.Failed step
// with code "delivery.retry" or "delivery.incomplete" is a failed attempt.
//
// # States and rules
//
// A partner is in one of four states:
//
//   - unknown: no success yet (a fresh node whose partner fails stays
//     unknown until the unreachable rule below holds);
//   - reachable: it answered, and none of the rules below holds;
//   - unreachable: failures keep coming with no success in between — the
//     current run of failures has at least MinFailures attempts and spans
//     at least UnreachableAfter from its first failure to its latest (a
//     partner already intermittent must fail like that for a whole Window,
//     since it was expected to fail now and then). Time alone does not
//     make a partner unreachable: a failure must arrive to show it;
//   - intermittent (flapping): within the last Window the partner came
//     back after failing at least twice (two "recoveries": a success right
//     after a failure) and at least MinFailures attempts failed.
//
// Leaving a state:
//
//   - unreachable ends after RecoverAfter consecutive successes. The
//     outage's own failures and its recovery are then forgotten, so a
//     clean outage is exactly two transitions: → unreachable, → reachable.
//     If the partner had already left unreachable less than a Window
//     before (a relapse), it goes to intermittent instead, and stays
//     there until it calms down;
//   - intermittent ends (→ reachable) once a full Window has passed with
//     no failure.
//
// Why these rules cannot storm: entering unreachable needs a sustained run
// of failures (count and time); leaving it needs successes; a partner that
// alternates between the two is intermittent, which it leaves only after
// a quiet Window and re-enters unreachable only after a failing Window. A
// single failed attempt (a blip) changes nothing.
//
// Rules are evaluated at every recorded event; Tick evaluates the
// time-only rule (intermittent → reachable after a quiet Window) for a
// partner that has no traffic, and a node may call it every minute.
//
// Latency is the duration of the last successful delivery; AvgLatency is
// an exponentially weighted moving average of it (each new sample weighs
// 1/5), so one slow answer moves it but does not dominate it.
package health

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vucelink/vucelink/track"
)

// State is a partner's reachability.
type State string

// States.
const (
	Unknown      State = "unknown"
	Reachable    State = "reachable"
	Intermittent State = "intermittent"
	Unreachable  State = "unreachable"
)

// Options tune the rules. Zero values take the defaults in parentheses.
type Options struct {
	UnreachableAfter time.Duration    // how long failures must keep coming (2 min)
	MinFailures      int              // consecutive failures for unreachable; failures in Window for intermittent (3)
	Window           time.Duration    // the flapping window, and the quiet time that ends intermittent (15 min)
	RecoverAfter     int              // consecutive successes that end unreachable (1)
	Now              func() time.Time // the clock (time.Now)
}

// Status is what is known of one partner.
type Status struct {
	Partner             string        `json:"partner"`
	State               State         `json:"state"`
	Since               time.Time     `json:"since"` // when it entered State (zero while unknown)
	LastSuccess         time.Time     `json:"last_success"`
	LastFailure         time.Time     `json:"last_failure"`
	LastError           string        `json:"last_error,omitempty"`
	ConsecutiveFailures int           `json:"consecutive_failures"`
	Latency             time.Duration `json:"latency"`     // of the last successful delivery
	AvgLatency          time.Duration `json:"avg_latency"` // EWMA, weight 1/5
}

// Change is one transition of a partner's state.
type Change struct {
	Partner   string
	From, To  State
	At        time.Time
	LastError string
	// Episode is when the partner's current trouble began: the first of
	// the failures that took it from reachable (or unknown) to unreachable
	// or intermittent. It stays the same until the partner is reachable
	// again, and that transition carries the episode it ends. Notifiers
	// key on it so that one episode yields one message per state.
	Episode time.Time
}

// Tracker follows every partner's reachability. It is safe for
// concurrent use.
type Tracker struct {
	opts Options

	mu       sync.Mutex
	partners map[string]*partner
	subs     []func(Change)
}

type partner struct {
	Status
	failingSince   time.Time   // first failure of the current run
	successes      int         // consecutive successes
	failures       []time.Time // the last MinFailures failures, oldest first
	recoveries     []time.Time // the last two successes that followed a failure
	unreachableEnd time.Time   // when it last left unreachable
	episode        time.Time

	// Changes waiting for the subscribers, and whether a goroutine is
	// already handing them out (which keeps them in order per partner).
	pending     []Change
	dispatching bool
}

// New returns a Tracker.
func New(o Options) *Tracker {
	if o.UnreachableAfter <= 0 {
		o.UnreachableAfter = 2 * time.Minute
	}
	if o.MinFailures <= 0 {
		o.MinFailures = 3
	}
	if o.Window <= 0 {
		o.Window = 15 * time.Minute
	}
	if o.RecoverAfter <= 0 {
		o.RecoverAfter = 1
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Tracker{opts: o, partners: map[string]*partner{}}
}

// Subscribe registers f to be called with every change, outside the
// Tracker's lock and in order for each partner. f should return quickly:
// it runs on the goroutine that recorded the event (the delivery path).
func (t *Tracker) Subscribe(f func(Change)) {
	t.mu.Lock()
	t.subs = append(t.subs, f)
	t.mu.Unlock()
}

// Record implements track.Recorder.
func (t *Tracker) Record(_ context.Context, e track.Event) {
	if e.Direction != track.Outbound || e.Partner == "" {
		return
	}
	success := e.Step == track.Delivered
	failure := e.Step == track.Failed && (e.Code == "delivery.retry" || e.Code == "delivery.incomplete")
	if !success && !failure {
		return
	}
	now := t.opts.Now()
	t.mu.Lock()
	p := t.partners[e.Partner]
	if p == nil {
		p = &partner{Status: Status{Partner: e.Partner, State: Unknown}}
		t.partners[e.Partner] = p
	}
	// Time may have ended an intermittent episode before this event.
	t.evaluate(p, now)
	if success {
		t.success(p, now, e.Duration)
	} else {
		t.failure(p, now, e.Err)
	}
	t.evaluate(p, now)
	t.mu.Unlock()
	t.dispatch(p)
}

// Tick applies the rules that depend on time alone, for partners without
// traffic.
func (t *Tracker) Tick() {
	now := t.opts.Now()
	t.mu.Lock()
	var changed []*partner
	for _, p := range t.partners {
		if t.evaluate(p, now) {
			changed = append(changed, p)
		}
	}
	t.mu.Unlock()
	for _, p := range changed {
		t.dispatch(p)
	}
}

func (t *Tracker) success(p *partner, now time.Time, d time.Duration) {
	if p.ConsecutiveFailures > 0 {
		p.recoveries = keepLast(append(p.recoveries, now), 2)
	}
	p.ConsecutiveFailures, p.failingSince = 0, time.Time{}
	p.successes++
	p.LastSuccess = now
	if d > 0 {
		p.Latency = d
		if p.AvgLatency == 0 {
			p.AvgLatency = d
		} else {
			p.AvgLatency += (d - p.AvgLatency) / 5
		}
	}
}

func (t *Tracker) failure(p *partner, now time.Time, err string) {
	if p.ConsecutiveFailures == 0 {
		p.failingSince = now
	}
	p.ConsecutiveFailures++
	p.successes = 0
	p.LastFailure, p.LastError = now, err
	p.failures = keepLast(append(p.failures, now), t.opts.MinFailures)
}

// evaluate moves p to the state the rules give at now, queueing the
// change; it reports whether there was one.
func (t *Tracker) evaluate(p *partner, now time.Time) bool {
	o := t.opts
	to := p.State
	switch p.State {
	case Unreachable:
		if p.successes >= o.RecoverAfter {
			to = Reachable
			if !p.unreachableEnd.IsZero() && now.Sub(p.unreachableEnd) < o.Window {
				to = Intermittent
			}
			p.unreachableEnd = now
			// The outage is over: its failures are no evidence of flapping.
			p.failures, p.recoveries = nil, nil
		}
	default:
		need := o.UnreachableAfter
		if p.State == Intermittent {
			need = max(need, o.Window)
		}
		switch {
		case p.ConsecutiveFailures >= o.MinFailures && p.LastFailure.Sub(p.failingSince) >= need:
			to = Unreachable
		case p.State == Intermittent:
			if now.Sub(p.LastFailure) >= o.Window {
				to = Reachable
			}
		case t.flapping(p, now):
			to = Intermittent
		case !p.LastSuccess.IsZero():
			to = Reachable
		}
	}
	if to == p.State {
		return false
	}
	from := p.State
	if (from == Reachable || from == Unknown) && to != Reachable {
		// The trouble began with the failures that led here, not when
		// they became conclusive.
		p.episode = now
		if to == Unreachable {
			p.episode = p.failingSince
		} else if len(p.failures) > 0 {
			p.episode = p.failures[0]
		}
	}
	c := Change{Partner: p.Partner, From: from, To: to, At: now, LastError: p.LastError, Episode: p.episode}
	p.State, p.Since = to, now
	if to == Reachable {
		p.episode = time.Time{}
	}
	p.pending = append(p.pending, c)
	return true
}

func (t *Tracker) flapping(p *partner, now time.Time) bool {
	since := now.Add(-t.opts.Window)
	return len(p.recoveries) >= 2 && !p.recoveries[0].Before(since) &&
		len(p.failures) >= t.opts.MinFailures && !p.failures[0].Before(since)
}

// dispatch hands p's pending changes to the subscribers. Only one
// goroutine at a time does it for a partner, so they arrive in order; one
// that finds another at work leaves its changes to it.
func (t *Tracker) dispatch(p *partner) {
	t.mu.Lock()
	if p.dispatching || len(p.pending) == 0 {
		t.mu.Unlock()
		return
	}
	p.dispatching = true
	for len(p.pending) > 0 {
		batch, subs := p.pending, slices.Clone(t.subs)
		p.pending = nil
		t.mu.Unlock()
		for _, c := range batch {
			for _, f := range subs {
				f(c)
			}
		}
		t.mu.Lock()
	}
	p.dispatching = false
	t.mu.Unlock()
}

// Status returns what is known of partner (state unknown if nothing).
func (t *Tracker) Status(partner string) Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.partners[partner]; p != nil {
		return p.Status
	}
	return Status{Partner: partner, State: Unknown}
}

// All returns every partner seen so far, sorted by code.
func (t *Tracker) All() []Status {
	t.mu.Lock()
	out := make([]Status, 0, len(t.partners))
	for _, p := range t.partners {
		out = append(out, p.Status)
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b Status) int { return strings.Compare(a.Partner, b.Partner) })
	return out
}

func keepLast(s []time.Time, n int) []time.Time {
	if len(s) > n {
		s = append(s[:0], s[len(s)-n:]...)
	}
	return s
}
