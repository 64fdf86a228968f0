// Package callback tells a legacy VUCE about every state change of its
// documents, by HTTP POST to a URL it chose, in order and at least once.
//
// The durable machinery is the store's append-only audit trail: a
// dispatcher reads it as a feed from a cursor it keeps in the store, posts
// each matching change, and advances the cursor only after the legacy
// system answered 2xx. A node that dies mid-way resumes from the cursor; a
// legacy system that is down is retried with backoff, and nothing is
// skipped meanwhile.
package callback

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/store"
)

// Feed is what the dispatcher needs of the store.
type Feed interface {
	EventsAfter(ctx context.Context, after int64, limit int) ([]store.Event, error)
	Cursor(ctx context.Context, name string) (int64, error)
	SetCursor(ctx context.Context, name string, id int64) error
}

// Message is the JSON body posted for each change.
type Message struct {
	TrackingID string          `json:"tracking_id"`
	DocumentID string          `json:"document_id"`
	Document   string          `json:"document_type"`
	Direction  string          `json:"direction"`
	Partner    string          `json:"partner"`
	From       lifecycle.State `json:"from,omitempty"`
	State      lifecycle.State `json:"state"`
	Actor      string          `json:"actor"`
	Reason     string          `json:"reason,omitempty"`
	Time       time.Time       `json:"time"`
	Sequence   int64           `json:"sequence"` // increases with every change; lets the receiver drop repeats
}

// Dispatcher posts changes to one URL.
type Dispatcher struct {
	Name   string // cursor name, unique per callback (e.g. the route name)
	URL    string
	Feed   Feed
	Match  func(store.Event) bool // which changes to send; nil sends all
	Client *http.Client
	Logger *slog.Logger
	// Poll is the idle wait (1 s); BackoffMin/Max bound retries (1 s, 5 min).
	Poll, BackoffMin, BackoffMax time.Duration
}

// Run posts changes until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	poll, bmin, bmax := or(d.Poll, time.Second), or(d.BackoffMin, time.Second), or(d.BackoffMax, 5*time.Minute)
	logger := d.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	client := d.Client
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	failures := 0
	for ctx.Err() == nil {
		wait := poll
		sent, err := d.step(ctx, client)
		switch {
		case err != nil:
			failures++
			ceiling := min(bmin<<min(failures-1, 30), bmax)
			wait = ceiling/2 + rand.N(ceiling/2+1)
			logger.Warn("callback failed; will retry", "callback", d.Name, "url", d.URL, "error", err, "retry_in", wait)
		case sent:
			failures, wait = 0, 0
		}
		if wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
	}
}

// step sends the changes after the cursor, up to a batch; it reports
// whether it made progress.
func (d *Dispatcher) step(ctx context.Context, client *http.Client) (bool, error) {
	cur, err := d.Feed.Cursor(ctx, d.Name)
	if err != nil {
		return false, err
	}
	events, err := d.Feed.EventsAfter(ctx, cur, 100)
	if err != nil || len(events) == 0 {
		return false, err
	}
	for _, e := range events {
		if d.Match == nil || d.Match(e) {
			if err := d.post(ctx, client, e); err != nil {
				return false, err
			}
		}
		// Recorded even if ctx ends now: a change the legacy system
		// acknowledged must not be sent again after a clean shutdown.
		if err := d.Feed.SetCursor(context.WithoutCancel(ctx), d.Name, e.ID); err != nil {
			return false, err
		}
	}
	return true, nil
}

func (d *Dispatcher) post(ctx context.Context, client *http.Client, e store.Event) error {
	body, _ := json.Marshal(Message{TrackingID: e.TrackingID, DocumentID: e.DocumentID, Document: e.Type, Direction: e.Direction,
		Partner: e.Partner, From: e.From, State: e.To, Actor: e.Actor, Reason: e.Reason, Time: e.At, Sequence: e.ID})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s answered HTTP %d for change %d of %s", d.URL, resp.StatusCode, e.ID, e.TrackingID)
	}
	return nil
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
