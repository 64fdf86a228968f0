package health

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vucelink/vucelink/track"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ok(p string) track.Event {
	return track.Event{Direction: track.Outbound, Partner: p, Step: track.Delivered, Outcome: "received-correctly", Duration: 100 * time.Millisecond}
}

func fail(p string) track.Event {
	return track.Event{Direction: track.Outbound, Partner: p, Step: track.Failed, Code: "delivery.retry", Err: "dial tcp: connection refused"}
}

// A script is a compact history: "s" a success, "f" a failure, "+90s" the
// clock moving on, "tick" a Tick.
func play(t *testing.T, tr *Tracker, c *clock, script string) {
	t.Helper()
	for _, w := range strings.Fields(script) {
		switch {
		case w == "s":
			tr.Record(context.Background(), ok("MX"))
		case w == "f":
			tr.Record(context.Background(), fail("MX"))
		case w == "tick":
			tr.Tick()
		case w[0] == '+':
			d, err := time.ParseDuration(w[1:])
			if err != nil {
				t.Fatal(err)
			}
			c.Add(d)
		case strings.Contains(w, "*"):
			// "f*20/10s": twenty failures ten seconds apart.
			var n int
			var step string
			if _, err := fmt.Sscanf(strings.Replace(w[2:], "/", " ", 1), "%d %s", &n, &step); err != nil {
				t.Fatalf("%s: %v", w, err)
			}
			d, _ := time.ParseDuration(step)
			for i := 0; i < n; i++ {
				play(t, tr, c, w[:1])
				c.Add(d)
			}
		default:
			t.Fatalf("bad script word %q", w)
		}
	}
}

func TestTracker_Rules(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   Options
		script string
		want   string // transitions, "from>to" separated by spaces
		final  State
	}{
		{"nothing yet", Options{}, "", "", Unknown},
		{"first success", Options{}, "s", "unknown>reachable", Reachable},
		{"a blip changes nothing", Options{}, "s +10s f +10s s f +1m s", "unknown>reachable", Reachable},
		{"failures, not long enough", Options{}, "s f*5/10s", "unknown>reachable", Reachable},
		{"too few failures over a long time", Options{}, "s f +5m f +5m s", "unknown>reachable", Reachable},
		{"a clean outage is two transitions", Options{},
			"s +1m f*60/10s s s f +1m s", "unknown>reachable reachable>unreachable unreachable>reachable", Reachable},
		{"partner down from the start", Options{}, "f*20/10s", "unknown>unreachable", Unreachable},
		{"failures must keep coming", Options{}, "s f f f +10m tick", "unknown>reachable", Reachable},
		{"a late failure completes the outage", Options{}, "s f f f +3m f", "unknown>reachable reachable>unreachable", Unreachable},
		{"an outage after a blip is still one transition", Options{},
			"s f s +1m f*30/10s s", "unknown>reachable reachable>unreachable unreachable>reachable", Reachable},
		{"recover after three successes", Options{RecoverAfter: 3},
			"s f*30/10s s s f s s +1s s", "unknown>reachable reachable>unreachable unreachable>reachable", Reachable},
		{"flapping is intermittent", Options{},
			"s +1m f +1m s +1m f +1m s +1m f +1m s", "unknown>reachable reachable>intermittent", Intermittent},
		{"intermittent ends after a quiet window", Options{},
			"s +1m f +1m s +1m f +1m s +1m f +1m s +14m s +1m s s",
			"unknown>reachable reachable>intermittent intermittent>reachable", Reachable},
		{"intermittent ends by tick", Options{},
			"s +1m f +1m s +1m f +1m s +1m f +1m s +15m tick tick",
			"unknown>reachable reachable>intermittent intermittent>reachable", Reachable},
		{"intermittent is unreachable only after a failing window", Options{},
			"s f s f s f +10s f*100/10s",
			"unknown>reachable reachable>intermittent intermittent>unreachable", Unreachable},
		{"a relapse is intermittent, not another outage", Options{},
			"s f*30/10s s +1m f*30/10s s +1m f*30/10s s",
			"unknown>reachable reachable>unreachable unreachable>reachable reachable>unreachable unreachable>intermittent", Intermittent},
		{"custom thresholds", Options{UnreachableAfter: time.Minute, MinFailures: 2},
			"s f +1m f", "unknown>reachable reachable>unreachable", Unreachable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{t: t0}
			tc.opts.Now = c.Now
			tr := New(tc.opts)
			var got []string
			tr.Subscribe(func(ch Change) { got = append(got, string(ch.From)+">"+string(ch.To)) })
			play(t, tr, c, tc.script)
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("transitions\n got %q\nwant %q", g, tc.want)
			}
			if s := tr.Status("MX"); s.State != tc.final {
				t.Errorf("final state %s, want %s", s.State, tc.final)
			}
		})
	}
}

// An episode's changes carry its start, so a notifier can key on it.
func TestTracker_ChangeDetails(t *testing.T) {
	c := &clock{t: t0}
	tr := New(Options{Now: c.Now})
	var got []Change
	tr.Subscribe(func(ch Change) { got = append(got, ch) })
	play(t, tr, c, "s +1m")
	start := c.Now()
	play(t, tr, c, "f*20/10s +5s s")
	if len(got) != 3 {
		t.Fatalf("changes %+v", got)
	}
	down, up := got[1], got[2]
	if down.To != Unreachable || !down.Episode.Equal(start) || down.At.Sub(start) != 2*time.Minute || down.LastError != "dial tcp: connection refused" {
		t.Errorf("unreachable change %+v", down)
	}
	if up.To != Reachable || !up.Episode.Equal(down.Episode) {
		t.Errorf("recovery change %+v should carry episode %s", up, down.Episode)
	}
}

func TestTracker_Status(t *testing.T) {
	c := &clock{t: t0}
	tr := New(Options{Now: c.Now})
	ctx := context.Background()
	for _, d := range []time.Duration{100, 200, 600} {
		e := ok("PE")
		e.Duration = d * time.Millisecond
		tr.Record(ctx, e)
	}
	c.Add(time.Second)
	tr.Record(ctx, fail("CO"))
	// Not delivery attempts: ignored.
	tr.Record(ctx, track.Event{Direction: track.Inbound, Partner: "PE", Step: track.Failed, Code: "signature.untrusted"})
	tr.Record(ctx, track.Event{Direction: track.Outbound, Partner: "PE", Step: track.Failed, Code: "mapping.failed"})
	tr.Record(ctx, track.Event{Direction: track.Outbound, Partner: "PE", Step: track.Queued})
	inc := fail("CO")
	inc.Code, inc.Err = "delivery.incomplete", "gave up"
	tr.Record(ctx, inc)

	pe := tr.Status("PE")
	// EWMA: 100, then 100+(200-100)/5 = 120, then 120+(600-120)/5 = 216.
	if pe.State != Reachable || pe.Latency != 600*time.Millisecond || pe.AvgLatency != 216*time.Millisecond ||
		!pe.LastSuccess.Equal(t0) || !pe.Since.Equal(t0) || pe.ConsecutiveFailures != 0 || !pe.LastFailure.IsZero() {
		t.Errorf("PE %+v", pe)
	}
	co := tr.Status("CO")
	if co.State != Unknown || co.ConsecutiveFailures != 2 || co.LastError != "gave up" || !co.LastFailure.Equal(t0.Add(time.Second)) {
		t.Errorf("CO %+v", co)
	}
	if s := tr.Status("AR"); s.State != Unknown || s.Partner != "AR" {
		t.Errorf("never seen: %+v", s)
	}
	all := tr.All()
	if len(all) != 2 || all[0].Partner != "CO" || all[1].Partner != "PE" {
		t.Errorf("All %+v", all)
	}
}

// Many workers record at once: every subscriber sees each partner's
// changes in order, and the race detector sees no shared state unguarded.
func TestTracker_Concurrent(t *testing.T) {
	c := &clock{t: t0}
	tr := New(Options{Now: c.Now, UnreachableAfter: time.Nanosecond})
	var mu sync.Mutex
	seen := map[string][]Change{}
	tr.Subscribe(func(ch Change) {
		mu.Lock()
		seen[ch.Partner] = append(seen[ch.Partner], ch)
		mu.Unlock()
		tr.Status(ch.Partner) // a subscriber may call back in: no lock held
	})
	partners := []string{"CO", "MX", "PE"}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				p := partners[(w+i)%3]
				if (i/20)%2 == 0 {
					tr.Record(context.Background(), ok(p))
				} else {
					tr.Record(context.Background(), fail(p))
				}
				c.Add(time.Second)
				if i%50 == 0 {
					tr.All()
					tr.Tick()
				}
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for _, p := range partners {
		changes := seen[p]
		if len(changes) == 0 {
			t.Errorf("%s: no changes", p)
			continue
		}
		prev := Unknown
		for _, ch := range changes {
			if ch.From != prev {
				t.Fatalf("%s: change %s>%s after %s: out of order", p, ch.From, ch.To, prev)
			}
			prev = ch.To
		}
		if st := tr.Status(p).State; st != prev {
			t.Errorf("%s: last change to %s, state %s", p, prev, st)
		}
	}
}
