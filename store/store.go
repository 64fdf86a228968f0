// Package store keeps every document a node handles, its current state and
// its append-only history, durably: a document accepted from the legacy
// VUCE is committed here before the legacy caller gets its answer, the
// outbox delivers from here, and the receiving side remembers here what it
// already handed over, so a retry is answered with the original receipt.
//
// SQLite (pure Go, WAL, fsync on every commit) is the embedded default.
// The SQL is kept portable so a PostgreSQL implementation can follow for
// multi-replica nodes (claiming work there would use FOR UPDATE SKIP LOCKED).
package store

import (
	"errors"
	"time"

	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/wire"
)

// Directions.
const (
	Outbound = "outbound"
	Inbound  = "inbound"
)

// Document is one document on this node.
// UnverifiedPrefix starts the document ID under which a received
// document that failed verification is recorded (with its tracking ID):
// its own ID cannot be trusted, and a later, correctly signed document
// with that ID must not be mistaken for a conflicting copy. Such a
// document is kept as evidence and never shown as content.
const UnverifiedPrefix = "unverified:"

type Document struct {
	Seq        int64  // store's own key
	TrackingID string // unique per node
	Direction  string // Outbound or Inbound
	Partner    string // the other country
	Type       string // document type, e.g. "sps"
	DocumentID string // the document's own ID
	Digest     string // sha256:<hex> of Body
	State      lifecycle.State
	Body       []byte        // signed standard XML, as sent or received
	Receipt    *wire.Receipt // the partner's (outbound) or our (inbound) receipt
	Attempts   int
	NextTry    time.Time // outbound, pending: when the next delivery attempt is due
	LastError  string
	// Contact is where people on this node's side want news of the
	// document (the exporter's email, taken from the native payload). It
	// stays on this node: it is not part of the standard document.
	Contact string
	Created time.Time
	Updated time.Time
}

// Transition is one entry of a document's audit trail.
type Transition struct {
	At     time.Time
	From   lifecycle.State // "" for the first entry
	To     lifecycle.State
	Actor  string // who: "legacy", "outbox", "partner:MX", "operator:alice", …
	Reason string
}

// Filter selects documents for List. Zero fields match everything.
type Filter struct {
	Direction string
	Partner   string
	State     lifecycle.State
	Since     time.Time
	Until     time.Time
	Type      string
	// IDPrefix matches documents whose document ID or tracking ID starts
	// with it (what someone asking "where is my certificate?" knows).
	IDPrefix string
	Limit    int   // default 100, at most 1000
	AfterSeq int64 // paging: only documents with Seq greater than this
	// Newest lists newest first; BeforeSeq then pages (only documents with
	// Seq less than it, when not zero).
	Newest    bool
	BeforeSeq int64
}

var (
	// ErrNotFound: no such document.
	ErrNotFound = errors.New("document not found")
	// ErrConflict: the same document ID arrived with different content.
	ErrConflict = errors.New("same document ID with different content")
)
