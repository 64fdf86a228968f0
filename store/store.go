// Package store keeps every document a node handles, its current state and
// its append-only history, durably: a document accepted from the legacy
// VUCE is committed here before the legacy caller gets its answer, the
// outbox delivers from here, and the receiving side remembers here what it
// already handed over, so a retry is answered with the original receipt.
//
// Store is the interface every implementation honours, checked by one
// contract suite (contract_test.go) run against each: SQLite (pure Go,
// WAL, one process holding the file) is the embedded default; PostgreSQL
// (pgx) serves any number of replicas of one node.
//
// Two rules keep it correct with more than one worker or process:
//
//   - A claim (Claim, Receive) returns a lease token in Document.Lease,
//     and a Transition that presents it (Change.Lease) is refused with
//     ErrLeaseLost once another worker has taken the document over: a
//     worker whose lease expired cannot move a document someone else now
//     owns.
//   - A state change and what it causes commit in one transaction: the
//     status message it sends (Change.Enqueue) and the audit-trail entry
//     that callbacks and notifications read as their feed.
//
// Durability: a commit that promises something to someone (a document
// accepted from the legacy VUCE, a verdict signed for a partner) waits for
// fsync. A claim, and an outbox transition whose outcome the partner can
// tell again (Change.Recoverable: a repeat gets the same receipt), do not
// wait for their own fsync; the next durable commit carries them. SQLite
// has one writer: writers that queue while it commits share its next
// transaction, and its one fsync (group commit), each answered only once
// that transaction is committed; reads outside transactions do not queue
// behind the writer.
package store

import (
	"context"
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
	// Lease is the fencing token of the claim that returned the document
	// (Claim, Receive); zero otherwise. Present it in Change.Lease.
	Lease int64
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
	// ErrLeaseLost: the transition presented a lease another worker has
	// since taken over; what it wanted to record is not recorded.
	ErrLeaseLost = errors.New("lease lost: the document was taken over by another worker")
	// ErrTrackingID: a new document came with a tracking ID another
	// document already has.
	ErrTrackingID = errors.New("tracking ID already used by another document")
	// ErrInUse: another process holds the store (SQLite).
	ErrInUse = errors.New("store in use by another process")
)

// Change is an update applied together with a state transition.
type Change struct {
	To        lifecycle.State
	Actor     string
	Reason    string
	Receipt   *wire.Receipt // stored if not nil
	NextTry   *time.Time    // set (zero time clears it) if not nil
	LastError *string
	// Lease, when not zero, is the token of the claim this change
	// completes: the change is refused with ErrLeaseLost if the document
	// was claimed again since. A change without a lease (an operator's, a
	// partner's status message) ends any lease held on the document.
	Lease int64
	// Enqueue are new outbound documents (status messages this change
	// tells the partner about) committed in the same transaction.
	Enqueue []*Document
	// Recoverable: what this change records can be learnt again if it is
	// lost (the partner answers a repeat with the same receipt), so its
	// commit does not wait for fsync.
	Recoverable bool
}

// Reception is what Receive decided about a document a partner sent.
type Reception int

const (
	// Fresh: first time here; a hand-over marker is now recorded and
	// leased to the caller, who hands the document over.
	Fresh Reception = iota
	// Replay: already decided; answer with the stored receipt.
	Replay
	// Conflict: the same document ID was received with other content.
	Conflict
	// InDoubt: a hand-over was started and never recorded (its process
	// died or the legacy VUCE failed): the caller now holds the marker and
	// hands over again, flagged as a redelivery.
	InDoubt
	// Busy: another worker (maybe another replica) is handing it over
	// right now; the sender should retry later.
	Busy
)

func (r Reception) String() string {
	return [...]string{"fresh", "replay", "conflict", "in-doubt", "busy"}[r]
}

// Stats counts commits by durability since the store was opened.
type Stats struct {
	Durable int64 // commits that waited for fsync
	Relaxed int64 // commits that did not (claims, recoverable transitions)
	// Shared counts the commits above that shared one transaction, and
	// its one fsync, with other writers' (SQLite's group commit).
	Shared int64
}

// Store is the durable store of a node. Every implementation passes the
// contract suite.
type Store interface {
	// Add stores a new document in its first state (d.State) and records
	// the first transition. If a document with the same direction, partner,
	// type and ID exists, Add returns it unchanged (same digest) or
	// ErrConflict (another digest): the idempotency rule both sides use.
	Add(ctx context.Context, d *Document, actor, reason string) (existing *Document, err error)
	// Receive decides, in one transaction, what to do with a verified
	// inbound document d (tracking ID, partner, type, ID, digest, body):
	// see Reception. For Fresh and InDoubt the returned document carries
	// the lease (held for hold) that the verdict's Transition presents;
	// for Replay, Conflict and Busy it is the stored document.
	Receive(ctx context.Context, d *Document, hold time.Duration, actor, reason string) (Reception, *Document, error)
	// Release ends a lease without a transition (a hand-over that could
	// not be completed now): a retry is then in doubt at once.
	Release(ctx context.Context, trackingID string, lease int64) error
	Get(ctx context.Context, trackingID string) (*Document, error)
	Find(ctx context.Context, direction, partner, docType, docID string) (*Document, error)
	History(ctx context.Context, trackingID string) ([]Transition, error)
	List(ctx context.Context, f Filter) ([]*Document, error)
	Counts(ctx context.Context) (map[string]map[lifecycle.State]int, error)
	// Transition moves a document to c.To if the lifecycle allows it (and
	// the lease, if presented, is still held), applying the rest of the
	// change in the same transaction.
	Transition(ctx context.Context, trackingID string, at time.Time, c Change) (*Document, error)
	// Claim leases the next outbound document due for delivery to partner
	// until now+lease; its attempt count grows, and a document still
	// accepted moves to sent in the same transaction. Nil when none is due.
	Claim(ctx context.Context, partner string, now time.Time, lease time.Duration) (*Document, error)
	NextDue(ctx context.Context, partner string) (time.Time, error)
	EventsAfter(ctx context.Context, after int64, limit int) ([]Event, error)
	Cursor(ctx context.Context, name string) (int64, error)
	SetCursor(ctx context.Context, name string, id int64) error
	Backlog(ctx context.Context) (map[string]map[lifecycle.State]int, error)
	SetPaused(ctx context.Context, partner string, paused bool, at time.Time, actor, reason string) error
	Paused(ctx context.Context) (map[string]bool, error)
	PartnerEvents(ctx context.Context, partner string) ([]PartnerEvent, error)
	ResendIncomplete(ctx context.Context, partner string, at time.Time, actor, reason string) (int, error)
	// Put, Value and Delete keep small records beside the documents
	// (console sessions, fetched officials lists), by kind and key; a
	// record past its expiry (when not zero) reads as absent.
	Put(ctx context.Context, kind, key string, value []byte, expires time.Time) error
	Value(ctx context.Context, kind, key string) ([]byte, error)
	Delete(ctx context.Context, kind, key string) error
	// Singleton runs f while this process holds the named role among all
	// processes sharing the store, and takes the role again when it is
	// free; f's context ends if the role is lost. It returns when ctx ends.
	Singleton(ctx context.Context, name string, f func(ctx context.Context))
	// Settled delivers the tracking IDs of outbound documents that reached
	// a verdict in any process sharing the store (nil channel: only this
	// process's own, which the outbox already knows).
	Settled() <-chan string
	// Due delivers the partners that have new documents due, from any
	// process sharing the store (nil channel: none besides this one's).
	Due() <-chan string
	Stats() Stats
	Ping(ctx context.Context) error
	Close() error
}
