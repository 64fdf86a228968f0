package proxy

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/beevik/etree"

	"github.com/vucelink/vucelink/access"
	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/mapping"
	"github.com/vucelink/vucelink/schema"
	"github.com/vucelink/vucelink/statusmsg"
	"github.com/vucelink/vucelink/store"
	"github.com/vucelink/vucelink/track"
	"github.com/vucelink/vucelink/wire"
	"github.com/vucelink/vucelink/xmlsafe"
)

// DocumentVerifier checks a signed document and returns only what the
// signature covers. *certs.Verifier implements it.
type DocumentVerifier interface {
	Verify(ctx context.Context, data []byte) (*certs.Verified, error)
}

// ElementMapper translates a verified standard element into the native format.
type ElementMapper interface {
	MapElement(root *etree.Element) (*mapping.Output, error)
}

// Peer is a partner node as seen by the inbound side.
type Peer struct {
	Country string
	// ClientCAs are the partner country's CAs: its TLS client certificate
	// must chain to one of them (and to no other country's).
	ClientCAs *x509.CertPool
	// Credentials are the partner's basic credentials (bcrypt-hashed,
	// the verdict on the right password cached per process).
	Credentials *access.Basic
	// Verifiers by document type: each trusts only this partner's CAs and
	// authorized officials for that document type.
	Verifiers map[string]DocumentVerifier
	// Revocation, if set, checks the TLS client certificate under
	// RevocationPolicy; Warn receives soft-fail warnings.
	Revocation       *certs.Revocation
	RevocationPolicy certs.Policy
	Warn             func(string)
}

// Ledger remembers what this node received, so that a partner's retry of
// a document already handed over gets the original receipt instead of a
// second hand-over, whichever replica it reaches. Every store.Store
// implements it.
type Ledger interface {
	Get(ctx context.Context, trackingID string) (*store.Document, error)
	Find(ctx context.Context, direction, partner, docType, docID string) (*store.Document, error)
	Add(ctx context.Context, d *store.Document, actor, reason string) (*store.Document, error)
	// Receive decides replay, conflict, in doubt, busy or fresh in one
	// transaction (see store.Reception); Release ends a hand-over's lease.
	Receive(ctx context.Context, d *store.Document, hold time.Duration, actor, reason string) (store.Reception, *store.Document, error)
	Release(ctx context.Context, trackingID string, lease int64) error
	Transition(ctx context.Context, trackingID string, at time.Time, c store.Change) (*store.Document, error)
}

// Target is where a verified document type goes in the legacy VUCE.
type Target struct {
	Document string
	Spec     *DocumentSpec
	Mapper   ElementMapper
	// Validator, if set, checks the verified part of every document (in
	// its ancestors, see DocumentSpec.Standalone) before it is mapped: a
	// document that breaks the schema is received with errors and never
	// handed over.
	Validator   Validator
	URL         string // full URL of the legacy endpoint
	Method      string
	ContentType string
	// Charset, if set, is the encoding the legacy VUCE reads its XML in
	// (ISO-8859-1, ISO-8859-15 or windows-1252; xmlsafe.FromUTF8); empty:
	// UTF-8, as mapped.
	Charset string
	// DuplicateStatus is the status with which the legacy VUCE refuses a
	// certificate number it already has (0: it does not); see handOver.
	DuplicateStatus int
}

// HeaderRedelivery marks a hand-over repeated after a crash left the first
// one in doubt.
const HeaderRedelivery = "X-Vucelink-Redelivery"

// Inbound handles documents arriving from partners.
type Inbound struct {
	Country string
	Peers   map[string]*Peer
	Targets map[string]*Target
	// Ledger records every verdict on a verified document (required).
	Ledger Ledger
	// ReceiptSigner signs receipts for verdicts on verified documents
	// (proof of delivery); nil sends them unsigned.
	ReceiptSigner Signer
	// Legacy is the client used to reach the legacy VUCE; nil means a
	// client with a 15 s timeout.
	Legacy *http.Client
	// Recorder receives one event per step; nil records nothing.
	Recorder track.Recorder
	// MaxBodyBytes bounds a document; zero means 8 MiB.
	MaxBodyBytes int64
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// AuthFailuresPerMinute is how many wrong passwords one client
	// certificate of a partner may present in a minute before that
	// certificate is refused outright (429) for the rest of the minute;
	// zero means 20.
	AuthFailuresPerMinute int
	// MaxInflightPerPartner caps the documents one partner may have this
	// node working on at once; more get 503 with Retry-After. Zero means 8.
	MaxInflightPerPartner int

	locks    keyedMutex
	failures failureWindow
	inflight sync.Map // partner → chan struct{} (a counting semaphore)
}

// failureWindow counts wrong passwords per partner client certificate in
// fixed one-minute windows, so credentials cannot be guessed at speed.
//
// It is keyed by the certificate, not the source address: only a caller
// holding a valid client certificate of the partner reaches the password
// check, so callers without one can neither guess nor lock the partner
// out (from behind the same NAT, say), and the table's keys are bounded
// by the partners' certificates — it cannot be flooded. Should it ever
// fill, it forgets expired windows, never live ones.
type failureWindow struct {
	mu    sync.Mutex
	byKey map[string]*window
}

type window struct {
	start time.Time
	n     int
}

const maxFailureKeys = 10000

func (f *failureWindow) blocked(key string, now time.Time, limit int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := f.byKey[key]
	return w != nil && now.Sub(w.start) < time.Minute && w.n >= limit
}

func (f *failureWindow) add(key string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.byKey == nil {
		f.byKey = map[string]*window{}
	}
	w := f.byKey[key]
	if w == nil || now.Sub(w.start) >= time.Minute {
		if w == nil && len(f.byKey) >= maxFailureKeys {
			for k, old := range f.byKey {
				if now.Sub(old.start) >= time.Minute {
					delete(f.byKey, k)
				}
			}
			if len(f.byKey) >= maxFailureKeys {
				return // every window is live: keep them, count none new
			}
		}
		w = &window{start: now}
		f.byKey[key] = w
	}
	w.n++
}

// acquire takes one of partner's in-flight slots, or reports that all are
// taken; release gives it back.
func (in *Inbound) acquire(partner string) (release func(), ok bool) {
	n := in.MaxInflightPerPartner
	if n <= 0 {
		n = 8
	}
	v, _ := in.inflight.LoadOrStore(partner, make(chan struct{}, n))
	sem := v.(chan struct{})
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, true
	default:
		return nil, false
	}
}

// keyedMutex serializes work on one key (one partner's document), so two
// concurrent deliveries of the same document — a sender's retry racing its
// first attempt — cannot both be handed over.
type keyedMutex struct {
	mu   sync.Mutex
	keys map[string]*keyLock
}

type keyLock struct {
	sync.Mutex
	users int
}

func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.keys == nil {
		k.keys = map[string]*keyLock{}
	}
	l := k.keys[key]
	if l == nil {
		l = &keyLock{}
		k.keys[key] = l
	}
	l.users++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.users--; l.users == 0 {
			delete(k.keys, key)
		}
		k.mu.Unlock()
	}
}

// rejection is a refusal with its HTTP status and reason.
type rejection struct {
	status  int
	outcome wire.Outcome
	reasons []wire.Reason
	// internal is what only this node may know (the legacy VUCE's URL, a
	// dial error, its answer): it goes to this node's log and history,
	// never into the receipt, which carries a reference to it instead.
	internal string
	// retryAfter, in seconds, is sent with a 503 or 429.
	retryAfter int
}

// internalRejection refuses with a public reason that carries a
// reference, keeping the details on this node.
func internalRejection(status int, outcome wire.Outcome, code, public, internal string) *rejection {
	ref := reference()
	return &rejection{status: status, outcome: outcome, internal: "ref " + ref + ": " + internal,
		reasons: []wire.Reason{{Code: code, Message: public + " (reference " + ref + ")"}}}
}

// reference is a short random tag tying a receipt to this node's log.
func reference() string {
	var b [5]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func reject(status int, outcome wire.Outcome, code, format string, args ...any) *rejection {
	return &rejection{status: status, outcome: outcome, reasons: []wire.Reason{{Code: code, Message: fmt.Sprintf(format, args...)}}}
}

// ServeHTTP receives one document from a partner node.
func (in *Inbound) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	docType := strings.TrimPrefix(r.URL.Path, wire.DocumentsPath)
	rc := &wire.Receipt{
		TrackingID:   r.Header.Get(wire.HeaderTrackingID),
		DocumentType: docType,
		From:         r.Header.Get(wire.HeaderSender),
		To:           in.Country,
	}
	ev := track.Event{
		Node: in.Country, TrackingID: rc.TrackingID, Document: docType,
		Direction: track.Inbound, Partner: rc.From, DocumentID: r.Header.Get(wire.HeaderDocumentID),
	}
	var body []byte       // set once read; recorded with every verdict on it
	marker := ""          // tracking ID of this document's hand-over marker in the ledger, if any
	var markerLease int64 // and the lease this request holds on it
	authenticated := false
	answer := func(status int, rj *rejection) {
		internal := ""
		if rj != nil {
			rc.Outcome = rj.outcome
			rc.Reasons = append(rc.Reasons, rj.reasons...)
			status = rj.status
			internal = rj.internal
			ev.Step, ev.Err, ev.Code = track.Failed, rc.Error(), rj.reasons[0].Code
			if internal != "" {
				ev.Err += " [" + internal + "]"
			}
			in.record(r.Context(), ev)
			if rj.retryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(rj.retryAfter))
			}
		}
		rc.Time = in.now().UTC()
		// A verdict on a document an authenticated partner sent is final,
		// whether the document verified or not: it is signed (proof for
		// the sender, which then stops retrying) and remembered before the
		// answer, so that a retry gets this same receipt.
		final := authenticated && rc.Digest != "" && rc.Outcome != wire.Rejected
		if final && in.ReceiptSigner != nil {
			if err := in.signReceipt(rc); err != nil {
				status, rc.Outcome = http.StatusServiceUnavailable, wire.Rejected
				rc.Reasons = []wire.Reason{{Code: "receipt.signing", Message: "the receiving node could not sign its receipt; retry later"}}
				w.Header().Set("Retry-After", "60")
				final = false
			}
		}
		if final {
			// Detached from the request: a sender that hangs up (or dies)
			// mid-request must not leave a handed-over document unrecorded,
			// or its retry would be handed over a second time.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
			defer cancel()
			if err := in.remember(ctx, rc, body, marker, markerLease, internal); err != nil {
				status, rc.Outcome = http.StatusServiceUnavailable, wire.Rejected
				rc.Reasons = []wire.Reason{{Code: "store.unavailable", Message: "the receiving node could not record the document; retry later"}}
				rc.Signed = nil
				w.Header().Set("Retry-After", "60")
			}
		}
		if !final && marker != "" {
			// Not decided now (the legacy VUCE is away, say): the retry,
			// whichever replica it reaches, takes the hand-over in doubt
			// at once instead of waiting for this lease to run out.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
			defer cancel()
			in.Ledger.Release(ctx, marker, markerLease)
		}
		writeReceipt(w, status, rc)
	}

	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, wire.DocumentsPath) || strings.Contains(docType, "/") {
		answer(0, reject(http.StatusNotFound, wire.Rejected, "request.endpoint", "POST %s{document type} is the only endpoint, got %s %s", wire.DocumentsPath, r.Method, r.URL.Path))
		return
	}
	if !validTrackingID(rc.TrackingID) {
		rc.TrackingID = ""
		answer(0, reject(http.StatusBadRequest, wire.Rejected, "request.tracking-id", "header %s must be 1 to 64 letters, digits or dashes", wire.HeaderTrackingID))
		return
	}
	peer, rj := in.authenticate(r)
	if rj != nil {
		answer(0, rj)
		return
	}
	// Past this point only a partner's own, cheap-to-check credentials got
	// through: it may make this node do expensive work, up to its share.
	release, ok := in.acquire(peer.Country)
	if !ok {
		rj := reject(http.StatusServiceUnavailable, wire.Rejected, "request.busy", "%s already has %d documents in progress here; retry later", peer.Country, cap(in.slots(peer.Country)))
		rj.retryAfter = 1
		answer(0, rj)
		return
	}
	defer release()
	if !strings.HasPrefix(rc.TrackingID, peer.Country+"-") {
		answer(0, reject(http.StatusBadRequest, wire.Rejected, "request.tracking-id", "tracking IDs from %s must start with %q", peer.Country, peer.Country+"-"))
		return
	}
	target, ok := in.Targets[docType]
	verifier := peer.Verifiers[docType]
	if docType == statusmsg.Type {
		ok = true
	}
	if !ok || verifier == nil {
		answer(0, reject(http.StatusNotFound, wire.Rejected, "document.type", "document type %q is not accepted from %s", docType, peer.Country))
		return
	}

	body, rj = in.readBody(r)
	if rj != nil {
		answer(0, rj)
		return
	}
	rc.Digest = wire.Digest(body)
	authenticated = true
	ev.Step, ev.Detail = track.Received, fmt.Sprintf("%d bytes, %s", len(body), rc.Digest)
	in.record(r.Context(), ev)

	// A tracking ID names one document for good: the same one again is a
	// retry (same receipt, nothing done twice); another one under it is
	// the sender's mistake, said plainly rather than as "retry later".
	switch prev, err := in.Ledger.Get(r.Context(), rc.TrackingID); {
	case err == nil && (prev.Digest != rc.Digest || prev.Partner != peer.Country || prev.Direction != store.Inbound):
		rc.Digest = "" // nothing of this request is recorded
		answer(0, reject(http.StatusConflict, wire.Rejected, "request.tracking-id-reused",
			"tracking ID %s was already used for another document (%s %s, %s); a new document needs a new tracking ID", rc.TrackingID, prev.Type, strings.TrimPrefix(prev.DocumentID, store.UnverifiedPrefix), prev.Digest))
		return
	case err == nil && prev.Receipt != nil:
		ev.Step, ev.Detail = track.Received, "repeat of "+prev.TrackingID+": original receipt returned, not handed over again"
		in.record(r.Context(), ev)
		replay(w, prev.Receipt)
		return
	case err != nil && !errors.Is(err, store.ErrNotFound):
		rc.Digest = ""
		answer(0, reject(http.StatusServiceUnavailable, wire.Rejected, "store.unavailable", "the receiving node cannot read its records; retry later"))
		return
	}

	start := time.Now()
	verified, err := verifier.Verify(r.Context(), body)
	if err != nil {
		answer(0, verifyRejection(err))
		return
	}
	if docType == statusmsg.Type {
		in.applyStatus(r.Context(), w, peer.Country, verified.Element, rc, &ev, answer)
		return
	}
	// From here on only verified.Element — what the signature covers — is used.
	root := verified.Element
	if err := target.Spec.CheckRoot(root); err != nil {
		answer(0, reject(http.StatusUnprocessableEntity, wire.ReceivedWithErrors, "document.root", "%v", err))
		return
	}
	id, err := target.Spec.ID(root)
	if err != nil {
		answer(0, reject(http.StatusUnprocessableEntity, wire.ReceivedWithErrors, "document.id", "%v", err))
		return
	}
	ev.DocumentID = id
	ev.Step, ev.Detail, ev.Duration = track.Verified, "signed by "+verified.Signer.Subject.String(), time.Since(start)
	in.record(r.Context(), ev)

	unlock := in.locks.lock(peer.Country + "\x00" + docType + "\x00" + id)
	defer unlock()
	// One store operation decides, in one transaction, whatever process
	// (replica) the retry reaches: replay, conflict, in doubt, busy, or
	// fresh (the hand-over marker is then recorded, leased to this request,
	// before the hand-over starts, so if this node dies before recording
	// the verdict, the retry knows).
	inDoubt := false
	reception, prev, err := in.Ledger.Receive(r.Context(), &store.Document{
		TrackingID: rc.TrackingID, Partner: peer.Country, Type: docType, DocumentID: id, Digest: rc.Digest, Body: body, Created: in.now(),
	}, in.handOverHold(), "partner:"+peer.Country, "verified; handing over to the legacy VUCE")
	switch {
	case err != nil:
		answer(0, reject(http.StatusServiceUnavailable, wire.Rejected, "store.unavailable", "the receiving node cannot read its records; retry later"))
		return
	case reception == store.Replay:
		// A retry of a document already decided: same receipt, no second
		// hand-over.
		ev.Step, ev.Detail = track.Received, "repeat of "+prev.TrackingID+": original receipt returned, not handed over again"
		in.record(r.Context(), ev)
		replay(w, prev.Receipt)
		return
	case reception == store.Conflict:
		answer(0, reject(http.StatusConflict, wire.Rejected, "document.conflict",
			"document %s from %s was already received with different content (%s); send a replacement with a new ID", id, peer.Country, prev.Digest))
		return
	case reception == store.Busy:
		rj := reject(http.StatusServiceUnavailable, wire.Rejected, "request.in-progress", "document %s from %s is being handed over right now; retry later", id, peer.Country)
		rj.retryAfter = 5
		answer(0, rj)
		return
	case reception == store.InDoubt:
		// A hand-over was started and never recorded (the node died, or the
		// legacy VUCE failed): whether the legacy VUCE has it is unknown.
		inDoubt = true
	}
	marker, markerLease = prev.TrackingID, prev.Lease
	rc.DocumentID = id

	// A document for another country is refused, however well signed: a
	// partner's certificate addressed to a third country must not reach
	// this country's legacy VUCE.
	if target.Spec.HasDestination() {
		dest, err := target.Spec.Destination(root)
		switch {
		case err != nil:
			answer(0, reject(http.StatusUnprocessableEntity, wire.ReceivedWithErrors, "document.destination", "%v", err))
			return
		case dest != in.Country:
			answer(0, reject(http.StatusUnprocessableEntity, wire.ReceivedWithErrors, "document.destination",
				"%s %s is addressed to %s, not to %s: it was not handed over", docType, id, dest, in.Country))
			return
		}
	}

	if target.Validator != nil {
		start = time.Now()
		if err := target.Validator.ValidateElement(target.Spec.Standalone(root)); err != nil {
			answer(0, schemaRejection(docType, err))
			return
		}
		ev.Step, ev.Detail, ev.Duration = track.Validated, "valid against the "+docType+" schema", time.Since(start)
		in.record(r.Context(), ev)
	}

	start = time.Now()
	out, err := target.Mapper.MapElement(root)
	if err != nil {
		answer(0, mappingRejection(err))
		return
	}
	native, err := out.Bytes()
	if err != nil {
		answer(0, reject(http.StatusUnprocessableEntity, wire.ReceivedWithErrors, "mapping", "%v", err))
		return
	}
	ev.Step, ev.Detail, ev.Duration = track.Mapped, rc.DocumentType+" standard XML → native", time.Since(start)
	in.record(r.Context(), ev)

	start = time.Now()
	// Once started, the hand-over finishes even if the sender goes away.
	hctx, hcancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer hcancel()
	if rj := in.handOver(hctx, target, rc, native, inDoubt); rj != nil {
		answer(0, rj)
		return
	}
	ev.Step, ev.Detail, ev.Duration = track.HandedOver, target.Method+" "+target.URL, time.Since(start)
	in.record(r.Context(), ev)
	rc.Outcome = wire.ReceivedCorrectly
	answer(http.StatusOK, nil)
}

// partnerMay lists the status changes a partner may make to a document,
// by which side of it this node is on: the importing country reports use
// and asks for replacements of what we sent; the issuing country
// withdraws or replaces what we received.
var partnerMay = map[string][]lifecycle.State{
	store.Outbound: {lifecycle.Used, lifecycle.ReplacementRequested},
	store.Inbound:  {lifecycle.Withdrawn, lifecycle.Replaced},
}

// applyStatus applies a verified status message from partner to the
// document it concerns.
func (in *Inbound) applyStatus(ctx context.Context, w http.ResponseWriter, partner string, el *etree.Element, rc *wire.Receipt, ev *track.Event, answer func(int, *rejection)) {
	m, err := statusmsg.Parse(el)
	if err != nil {
		answer(0, reject(http.StatusUnprocessableEntity, wire.ReceivedWithErrors, "status.invalid", "%v", err))
		return
	}
	id := m.ID()
	unlock := in.locks.lock(partner + "\x00" + statusmsg.Type + "\x00" + id)
	defer unlock()
	if prev, err := in.Ledger.Find(ctx, store.Inbound, partner, statusmsg.Type, id); err == nil && prev.Receipt != nil {
		if prev.Digest != rc.Digest {
			answer(0, reject(http.StatusConflict, wire.Rejected, "document.conflict", "status message %s was already received with different content", id))
			return
		}
		replay(w, prev.Receipt)
		return
	}
	rc.DocumentID, ev.DocumentID = id, id
	var d *store.Document
	for _, dir := range []string{store.Outbound, store.Inbound} {
		if d, err = in.Ledger.Find(ctx, dir, partner, m.DocumentType, m.DocumentID); err == nil {
			break
		}
	}
	if d == nil {
		answer(0, reject(http.StatusUnprocessableEntity, wire.ReceivedWithErrors, "status.unknown-document",
			"no %s document %s exchanged with %s", m.DocumentType, m.DocumentID, partner))
		return
	}
	allowed := false
	for _, s := range partnerMay[d.Direction] {
		allowed = allowed || s == m.State
	}
	if !allowed {
		answer(0, reject(http.StatusUnprocessableEntity, wire.ReceivedWithErrors, "status.not-allowed",
			"%s may not set %s document %s to %s (allowed: %v)", partner, d.Direction, m.DocumentID, m.State, partnerMay[d.Direction]))
		return
	}
	reason := m.Reason
	if m.State == lifecycle.Replaced {
		// The replacement must be here already: the old document then
		// points at a document both sides hold.
		if m.ReplacedBy == "" {
			answer(0, reject(http.StatusUnprocessableEntity, wire.ReceivedWithErrors, "status.replacement-unknown", "a replaced status must name the replacement"))
			return
		}
		if _, err := in.Ledger.Find(ctx, d.Direction, partner, m.DocumentType, m.ReplacedBy); err != nil {
			answer(0, reject(http.StatusUnprocessableEntity, wire.ReceivedWithErrors, "status.replacement-unknown",
				"replacement %s %s has not been received from %s", m.DocumentType, m.ReplacedBy, partner))
			return
		}
		reason = strings.TrimSuffix("replaced by "+m.ReplacedBy+": "+reason, ": ")
	}
	if _, err := in.Ledger.Transition(ctx, d.TrackingID, in.now(), store.Change{To: m.State, Actor: "partner:" + partner, Reason: reason}); err != nil {
		answer(0, reject(http.StatusUnprocessableEntity, wire.ReceivedWithErrors, "status.illegal", "%v", err))
		return
	}
	ev.Step, ev.Detail = track.HandedOver, fmt.Sprintf("%s %s is now %s", m.DocumentType, m.DocumentID, m.State)
	in.record(ctx, *ev)
	rc.Outcome = wire.ReceivedCorrectly
	answer(http.StatusOK, nil)
}

// replay answers a retry with the receipt given the first time.
func replay(w http.ResponseWriter, rc *wire.Receipt) {
	status := http.StatusOK
	if rc.Outcome != wire.ReceivedCorrectly {
		status = http.StatusUnprocessableEntity
	}
	writeReceipt(w, status, rc)
}

// writeReceipt sends the signed XML receipt when there is one, else JSON.
func writeReceipt(w http.ResponseWriter, status int, rc *wire.Receipt) {
	if rc.Signed != nil {
		w.Header().Set("Content-Type", wire.ReceiptContentType)
		w.WriteHeader(status)
		w.Write(rc.Signed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(rc)
}

// signReceipt signs the receipt as this node's official: the sender keeps
// it as proof that this node received exactly that digest.
func (in *Inbound) signReceipt(rc *wire.Receipt) error {
	doc := rc.XML()
	signed, err := in.ReceiptSigner.SignElement(doc.Root())
	if err != nil {
		return err
	}
	doc.SetRoot(signed)
	b, err := doc.WriteToBytes()
	if err != nil {
		return err
	}
	rc.Signed = b
	return nil
}

// remember records a verdict. internal, if any, is the detail behind a
// refusal that only this node keeps (in the history's reason).
func (in *Inbound) remember(ctx context.Context, rc *wire.Receipt, body []byte, marker string, lease int64, internal string) error {
	state := lifecycle.ReceivedCorrectly
	reason := "received"
	if rc.Outcome != wire.ReceivedCorrectly {
		state = lifecycle.ReceivedWithErrors
		reason = rc.Error()
		if internal != "" {
			reason += " [" + internal + "]"
		}
	}
	if marker != "" {
		// The hand-over marker exists: the verdict completes it.
		if state == lifecycle.ReceivedCorrectly {
			reason = "handed over"
		}
		_, err := in.Ledger.Transition(ctx, marker, rc.Time, store.Change{To: state, Actor: "legacy", Reason: reason, Receipt: rc, Lease: lease})
		return err
	}
	id := rc.DocumentID
	if id == "" {
		id = store.UnverifiedPrefix + rc.TrackingID
	}
	_, err := in.Ledger.Add(ctx, &store.Document{
		TrackingID: rc.TrackingID, Direction: store.Inbound, Partner: rc.From, Type: rc.DocumentType,
		DocumentID: id, Digest: rc.Digest, State: state, Body: body, Receipt: rc, Created: rc.Time,
	}, "partner:"+rc.From, reason)
	return err
}

// handOverHold is how long a hand-over's marker is held before another
// request (or replica) may take it as in doubt: longer than a hand-over
// can take.
func (in *Inbound) handOverHold() time.Duration {
	if in.Legacy != nil && in.Legacy.Timeout > 0 {
		return in.Legacy.Timeout + 15*time.Second
	}
	return 30 * time.Second
}

// validTrackingID keeps what a partner sends in a header from reaching
// logs and receipts unchecked.
func validTrackingID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// authenticate identifies the calling partner: the sender it claims must
// be configured, its TLS client certificate must chain to that partner's
// CAs, and its basic credentials must match that partner's.
func (in *Inbound) authenticate(r *http.Request) (*Peer, *rejection) {
	sender := r.Header.Get(wire.HeaderSender)
	peer, ok := in.Peers[sender]
	if !ok {
		return nil, reject(http.StatusForbidden, wire.Rejected, "auth.sender", "sender %q is not a configured partner", sender)
	}
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil, reject(http.StatusUnauthorized, wire.Rejected, "auth.client-certificate", "a TLS client certificate issued by %s's CA is required", sender)
	}
	leaf := r.TLS.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range r.TLS.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots: peer.ClientCAs, Intermediates: inter, CurrentTime: in.now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, reject(http.StatusForbidden, wire.Rejected, "auth.client-certificate",
			"client certificate %q does not chain to %s's CA: %v", leaf.Subject.String(), sender, err)
	}
	if peer.Revocation != nil && len(chains[0]) > 1 {
		warning, err := peer.Revocation.Check(r.Context(), leaf, chains[0][1], peer.RevocationPolicy)
		if err != nil {
			return nil, reject(http.StatusForbidden, wire.Rejected, "auth.client-certificate-revoked", "%v", err)
		}
		if warning != "" && peer.Warn != nil {
			peer.Warn(warning)
		}
	}
	// Guessing is limited per client certificate of this partner: see
	// failureWindow.
	fp := sha256.Sum256(leaf.Raw)
	key := sender + "\x00" + string(fp[:])
	limit := in.AuthFailuresPerMinute
	if limit <= 0 {
		limit = 20
	}
	if in.failures.blocked(key, in.now(), limit) {
		return nil, reject(http.StatusTooManyRequests, wire.Rejected, "auth.rate-limited",
			"too many wrong passwords with client certificate %q (serial %s); try again in a minute", leaf.Subject.String(), leaf.SerialNumber.Text(16))
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		in.failures.add(key, in.now())
		return nil, reject(http.StatusUnauthorized, wire.Rejected, "auth.credentials", "basic credentials for %s are required", sender)
	}
	if peer.Credentials == nil || !peer.Credentials.Check(user, pass) {
		in.failures.add(key, in.now())
		return nil, reject(http.StatusUnauthorized, wire.Rejected, "auth.credentials", "wrong username or password for %s", sender)
	}
	return peer, nil
}

func (in *Inbound) readBody(r *http.Request) ([]byte, *rejection) {
	limit := in.MaxBodyBytes
	if limit <= 0 {
		limit = 8 << 20
	}
	// Refused unread, so Rejected: there is no digest to sign a verdict on.
	if r.ContentLength > limit {
		return nil, reject(http.StatusRequestEntityTooLarge, wire.Rejected, "request.too-large", "document of %d bytes exceeds the limit of %d bytes", r.ContentLength, limit)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, reject(http.StatusBadRequest, wire.Rejected, "request.read", "reading document: %v", err)
	}
	if int64(len(body)) > limit {
		return nil, reject(http.StatusRequestEntityTooLarge, wire.Rejected, "request.too-large", "document exceeds the limit of %d bytes", limit)
	}
	return body, nil
}

// handOver gives the native document to the legacy VUCE (Target.HandOver)
// and turns a failure into a refusal whose receipt says only the public
// part, with a reference to the rest.
func (in *Inbound) handOver(ctx context.Context, t *Target, rc *wire.Receipt, native []byte, redelivery bool) *rejection {
	le := t.HandOver(ctx, in.Legacy, rc.TrackingID, rc.From, rc.DocumentID, native, redelivery)
	switch {
	case le == nil:
		return nil
	case le.Temporary:
		status := http.StatusServiceUnavailable
		if le.Code == "legacy.request" {
			status = http.StatusInternalServerError
		}
		rj := internalRejection(status, wire.Rejected, le.Code, le.Public, le.Internal)
		rj.retryAfter = 30
		return rj
	default:
		return internalRejection(http.StatusUnprocessableEntity, wire.ReceivedWithErrors, le.Code, le.Public, le.Internal)
	}
}

// verifyReasons maps verification failures to reason codes and statuses,
// first match wins (ErrNotYetValid also matches ErrExpired, so it comes
// first).
var verifyReasons = []struct {
	err    error
	code   string
	status int
}{
	{xmlsafe.ErrDTD, "xml.dtd", http.StatusBadRequest},
	{xmlsafe.ErrEntity, "xml.dtd", http.StatusBadRequest},
	{xmlsafe.ErrTooLarge, "xml.limits", http.StatusRequestEntityTooLarge},
	{xmlsafe.ErrTooDeep, "xml.limits", http.StatusRequestEntityTooLarge},
	{xmlsafe.ErrTooManyElements, "xml.limits", http.StatusRequestEntityTooLarge},
	{xmlsafe.ErrTooManyAttrs, "xml.limits", http.StatusRequestEntityTooLarge},
	{xmlsafe.ErrMalformed, "xml.malformed", http.StatusBadRequest},
	{certs.ErrMalformed, "xml.malformed", http.StatusBadRequest},
	{certs.ErrNoSignature, "signature.missing", http.StatusUnprocessableEntity},
	{certs.ErrMultipleSignatures, "signature.multiple", http.StatusUnprocessableEntity},
	{certs.ErrBadSignature, "signature.mismatch", http.StatusUnprocessableEntity},
	{certs.ErrUntrustedSigner, "signature.untrusted", http.StatusUnprocessableEntity},
	{certs.ErrNotYetValid, "signature.not-yet-valid", http.StatusUnprocessableEntity},
	{certs.ErrExpired, "signature.expired", http.StatusUnprocessableEntity},
	{certs.ErrUnsignedContent, "document.unsigned-content", http.StatusUnprocessableEntity},
	{certs.ErrReference, "signature.reference", http.StatusUnprocessableEntity},
	{certs.ErrNotAuthorized, "signature.not-authorized", http.StatusUnprocessableEntity},
	{certs.ErrAlgorithm, "signature.algorithm", http.StatusUnprocessableEntity},
	{certs.ErrRevoked, "signature.revoked", http.StatusUnprocessableEntity},
	{certs.ErrRevocationUnknown, "signature.revocation-unknown", http.StatusServiceUnavailable},
}

// slots is partner's in-flight semaphore.
func (in *Inbound) slots(partner string) chan struct{} {
	v, _ := in.inflight.Load(partner)
	ch, _ := v.(chan struct{})
	return ch
}

// VerifyCode is the reason code of a verification failure
// ("signature.untrusted", "xml.dtd", …; "signature.invalid" when none
// more specific applies), for every side that receives signed documents.
func VerifyCode(err error) string {
	for _, r := range verifyReasons {
		if errors.Is(err, r.err) {
			return r.code
		}
	}
	return "signature.invalid"
}

// verifyRejection turns a verification failure into a specific reason.
func verifyRejection(err error) *rejection {
	for _, r := range verifyReasons {
		if errors.Is(err, r.err) {
			outcome := wire.ReceivedWithErrors
			if r.status == http.StatusServiceUnavailable {
				// No verdict yet (the revocation status could not be had):
				// the sender retries, so nothing is final or signed.
				outcome = wire.Rejected
			}
			return reject(r.status, outcome, r.code, "%v", err)
		}
	}
	return reject(http.StatusUnprocessableEntity, wire.ReceivedWithErrors, "signature.invalid", "%v", err)
}

// schemaRejection gives one reason per violation, with the element's path
// as the field, so the sender sees every place its document breaks the
// schema and what was expected there.
func schemaRejection(docType string, err error) *rejection {
	var ve *schema.ValidationError
	if !errors.As(err, &ve) {
		return reject(http.StatusUnprocessableEntity, wire.ReceivedWithErrors, "schema.invalid", "not validated against the %s schema: %v", docType, err)
	}
	rj := &rejection{status: http.StatusUnprocessableEntity, outcome: wire.ReceivedWithErrors}
	for _, v := range ve.Errors {
		msg := v.Message
		if v.Line > 0 {
			msg = fmt.Sprintf("line %d: %s", v.Line, msg)
		}
		rj.reasons = append(rj.reasons, wire.Reason{Code: "schema.invalid", Field: v.Path, Message: msg})
	}
	if ve.Omitted > 0 {
		rj.reasons = append(rj.reasons, wire.Reason{Code: "schema.invalid", Message: fmt.Sprintf("and %d more violations of the %s schema", ve.Omitted, docType)})
	}
	return rj
}

// mappingRejection gives one reason per failing field, so the sender sees
// exactly which elements of its document could not be translated.
func mappingRejection(err error) *rejection {
	var fe mapping.Errors
	if !errors.As(err, &fe) || len(fe) == 0 {
		return reject(http.StatusUnprocessableEntity, wire.ReceivedWithErrors, "mapping", "%v", err)
	}
	rj := &rejection{status: http.StatusUnprocessableEntity, outcome: wire.ReceivedWithErrors}
	for _, f := range fe {
		rj.reasons = append(rj.reasons, wire.Reason{Code: "mapping.field", Field: f.Source, Message: f.Error()})
	}
	return rj
}

func (in *Inbound) record(ctx context.Context, e track.Event) {
	if in.Recorder != nil {
		e.Time = in.now()
		in.Recorder.Record(ctx, e)
	}
}

func (in *Inbound) now() time.Time {
	if in.Now != nil {
		return in.Now()
	}
	return time.Now()
}
