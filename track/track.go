// Package track records what happens to each document at each step, so an
// operator (or the demo) can say where a certificate is and why it stopped.
//
// A Recorder is called once per step. This package provides a Recorder that
// writes structured log lines, one that keeps events in memory (for the demo
// and tests), and Multi to use several. The durable store of later issues
// is simply another Recorder.
package track

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Direction of a document relative to the node recording it.
type Direction string

const (
	Outbound Direction = "outbound"
	Inbound  Direction = "inbound"
)

// Step names the stage of the pipeline an event reports.
type Step string

const (
	Accepted   Step = "accepted"    // outbound: received from the legacy VUCE
	Mapped     Step = "mapped"      // translated by rules (either direction)
	Validated  Step = "validated"   // checked against the document type's schema (either direction)
	Signed     Step = "signed"      // outbound: signature applied
	Queued     Step = "queued"      // outbound: committed to the outbox
	Delivered  Step = "delivered"   // outbound: partner answered with a receipt
	Received   Step = "received"    // inbound: request accepted from a partner
	Verified   Step = "verified"    // inbound: signature, chain and official checked
	HandedOver Step = "handed-over" // inbound: legacy VUCE accepted it
	Failed     Step = "failed"      // any direction: the document stopped here (Err says why)
)

// Event is one step of one document on one node.
type Event struct {
	Time       time.Time
	Node       string // country of the node recording the event
	TrackingID string
	DocumentID string
	Document   string // document type
	Direction  Direction
	Partner    string // the other country
	Step       Step
	Detail     string
	Err        string
	Code       string        // reason code of a failure, e.g. "signature.untrusted"
	Outcome    string        // a partner's verdict, on delivered steps
	Duration   time.Duration // time spent in this step, when measured
}

// Recorder records events. Implementations must be safe for concurrent use
// and must not block the document path for long.
type Recorder interface {
	Record(ctx context.Context, e Event)
}

// Log records events as structured log lines.
type Log struct{ Logger *slog.Logger }

// Record implements Recorder.
func (l Log) Record(ctx context.Context, e Event) {
	level := slog.LevelInfo
	attrs := []slog.Attr{
		slog.String("tracking_id", e.TrackingID),
		slog.String("doc_id", e.DocumentID),
		slog.String("document", e.Document),
		slog.String("direction", string(e.Direction)),
		slog.String("partner", e.Partner),
		slog.String("step", string(e.Step)),
	}
	if e.Detail != "" {
		attrs = append(attrs, slog.String("detail", e.Detail))
	}
	if e.Duration > 0 {
		attrs = append(attrs, slog.Duration("duration", e.Duration))
	}
	if e.Err != "" {
		level = slog.LevelWarn
		attrs = append(attrs, slog.String("error", e.Err))
	}
	l.Logger.LogAttrs(ctx, level, "document "+string(e.Step), attrs...)
}

// Memory keeps every event in memory, in order. Meant for the demo and tests.
type Memory struct {
	mu     sync.Mutex
	events []Event
	notify func(Event)
}

// NewMemory returns a Memory that also calls notify (if not nil) for each
// event as it is recorded.
func NewMemory(notify func(Event)) *Memory { return &Memory{notify: notify} }

// Record implements Recorder.
func (m *Memory) Record(_ context.Context, e Event) {
	m.mu.Lock()
	m.events = append(m.events, e)
	m.mu.Unlock()
	if m.notify != nil {
		m.notify(e)
	}
}

// Events returns a copy of the events recorded so far, optionally only those
// of one tracking ID.
func (m *Memory) Events(trackingID string) []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Event
	for _, e := range m.events {
		if trackingID == "" || e.TrackingID == trackingID {
			out = append(out, e)
		}
	}
	return out
}

// Multi records to each recorder in turn.
type Multi []Recorder

// Record implements Recorder.
func (m Multi) Record(ctx context.Context, e Event) {
	for _, r := range m {
		r.Record(ctx, e)
	}
}
