package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/proxy"
	"github.com/vucelink/vucelink/store"
	"github.com/vucelink/vucelink/track"
	"github.com/vucelink/vucelink/wire"
	"github.com/vucelink/vucelink/xmlsafe"
)

// Ledger is what the poller needs of the store: the same decisions the
// partner-facing side takes (store.Store implements it).
type Ledger interface {
	Get(ctx context.Context, trackingID string) (*store.Document, error)
	Add(ctx context.Context, d *store.Document, actor, reason string) (*store.Document, error)
	Receive(ctx context.Context, d *store.Document, hold time.Duration, actor, reason string) (store.Reception, *store.Document, error)
	Release(ctx context.Context, trackingID string, lease int64) error
	Transition(ctx context.Context, trackingID string, at time.Time, c store.Change) (*store.Document, error)
}

// Poller takes what the hub holds for this country: it lists the waiting
// envelopes, pulls each, verifies the certificate against the sending
// NPPO's certificates (the hub's list, and configured roots), validates
// it, maps it to the legacy VUCE's format, hands it over, records the
// verdict and only then acknowledges the envelope.
//
// Exactly once. The store keys every envelope by a tracking ID made from
// the hub's envelope ID (TrackingID), and every certificate by its sender
// and number (store.Receive). An envelope whose verdict is recorded is
// never handed over again: if the node dies after the hand-over and before
// the acknowledgement reaches the hub, the hub lists the envelope again,
// and the poller finds the verdict and only acknowledges. A hand-over
// started and never recorded (the node died during it) is repeated as a
// redelivery (proxy.HeaderRedelivery), which the legacy VUCE's duplicate
// status settles, as on the partner-facing side.
type Poller struct {
	Client    *Client
	Ledger    Ledger
	Directory *Directory
	// Country is this node's NPPO code.
	Country string
	// Target is where sps17a documents go in the legacy VUCE (its rules,
	// schema and address).
	Target *proxy.Target
	// Legacy is the client for the legacy VUCE.
	Legacy *http.Client
	// Limits bound every certificate.
	Limits xmlsafe.Limits
	// AllowSHA1 accepts RSA-SHA1 signatures from hub members.
	AllowSHA1 bool
	Recorder  track.Recorder
	Logger    *slog.Logger
	// Hold is how long a hand-over's marker is held (default 45 s).
	Hold time.Duration
	Now  func() time.Time
}

// TrackingID is the tracking ID under which the envelope with the hub's
// ID id, from NPPO from, is recorded.
func TrackingID(from, id string) string {
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return -1
	}, id)
	if clean != id || len(clean) > 48 {
		sum := sha256.Sum256([]byte(id))
		clean = hex.EncodeToString(sum[:12])
	}
	return from + "-HUB-" + clean
}

// Run polls every interval until ctx ends. A failed poll (hub away, a
// fault, a malformed answer) is logged and the next one comes all the same.
func (p *Poller) Run(ctx context.Context, interval time.Duration) {
	for {
		if _, err := p.Poll(ctx); err != nil && ctx.Err() == nil {
			p.logger().Warn("hub poll", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// Poll takes every envelope waiting now and returns how many were
// settled (acknowledged). An envelope that cannot be settled now stays at
// the hub for the next poll; the others go on.
func (p *Poller) Poll(ctx context.Context) (int, error) {
	headers, err := p.Client.GetImportEnvelopeHeaders(ctx, p.Country)
	if err != nil {
		return 0, err
	}
	var errs []error
	n := 0
	for _, h := range headers {
		if ctx.Err() != nil {
			break
		}
		if err := p.take(ctx, h); err != nil {
			errs = append(errs, fmt.Errorf("envelope %s from %s: %w", h.HubDeliveryNumber, h.From, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// refusal is a final verdict against an envelope: public is what the
// sending NPPO is told, internal what only this node keeps.
type refusal struct {
	code, public, internal string
}

// take settles one envelope.
func (p *Poller) take(ctx context.Context, h Header) error {
	id := h.HubDeliveryNumber
	tid := TrackingID(h.From, id)
	ev := track.Event{Node: p.Country, TrackingID: tid, Document: p.Target.Document, Direction: track.Inbound, Partner: h.From,
		DocumentID: h.NPPOCertificateNumber}

	// Decided already (the acknowledgement is what was lost): acknowledge
	// again, hand nothing over.
	switch prev, err := p.Ledger.Get(ctx, tid); {
	case err == nil && prev.Receipt != nil:
		ev.Step, ev.Detail = track.Received, "hub envelope "+id+" again: already "+string(prev.State)+", only acknowledged"
		p.record(ctx, ev)
		return p.acknowledge(ctx, id, prev.Receipt)
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("reading the ledger: %w", err)
	}

	env, err := p.Client.PULLSingleImportEnvelope(ctx, id)
	if err != nil {
		ev.Step, ev.Err, ev.Code = track.Failed, err.Error(), "hub.pull"
		p.record(ctx, ev)
		return err
	}
	body := []byte(env.Content)
	rc := &wire.Receipt{TrackingID: tid, DocumentType: p.Target.Document, From: h.From, To: p.Country, Digest: wire.Digest(body)}
	ev.Step, ev.Detail = track.Received, fmt.Sprintf("hub envelope %s, %d bytes, %s", id, len(body), rc.Digest)
	p.record(ctx, ev)

	// Verified against the sending NPPO's certificates only.
	trust := p.Directory.Trust(h.From)
	if trust == nil {
		// Not on the list in force: it may predate the sender's joining,
		// or not be fetched yet (a node just started). Ask the hub now;
		// without any list at all, nothing can be decided: the envelope
		// waits for the next poll instead of being refused for good.
		if err := p.Directory.Refresh(ctx); err == nil {
			trust = p.Directory.Trust(h.From)
		} else if fetched, _, _ := p.Directory.Status(); fetched.IsZero() && len(p.Directory.Roots[h.From]) == 0 {
			ev.Step, ev.Err, ev.Code = track.Failed, "no NPPO list from the hub yet: "+err.Error(), "hub.nppos"
			p.record(ctx, ev)
			return fmt.Errorf("no list of NPPOs from the hub yet, envelope left for the next poll: %w", err)
		}
	}
	if trust == nil {
		return p.refuseUnverified(ctx, h, rc, body, &ev, refusal{"signature.untrusted",
			"no signing certificate of NPPO " + h.From + " is known here (not on the hub's list, nor configured)", ""})
	}
	v := &certs.Verifier{Roots: trust, Limits: p.Limits, AllowSHA1: p.AllowSHA1}
	start := time.Now()
	verified, err := v.Verify(ctx, body)
	if err != nil {
		return p.refuseUnverified(ctx, h, rc, body, &ev, refusal{proxy.VerifyCode(err), "the certificate's signature was not accepted: " + err.Error(), ""})
	}
	root := verified.Element
	spec := p.Target.Spec
	if err := spec.CheckRoot(root); err != nil {
		return p.refuseUnverified(ctx, h, rc, body, &ev, refusal{"document.root", err.Error(), ""})
	}
	docID, err := spec.ID(root)
	if err != nil {
		return p.refuseUnverified(ctx, h, rc, body, &ev, refusal{"document.id", err.Error(), ""})
	}
	rc.DocumentID, ev.DocumentID = docID, docID
	ev.Step, ev.Detail, ev.Duration = track.Verified, "signed by "+verified.Signer.Subject.String(), time.Since(start)
	p.record(ctx, ev)
	var warnings []wire.Reason
	if h.NPPOCertificateNumber != "" && h.NPPOCertificateNumber != docID {
		warnings = append(warnings, wire.Reason{Code: "hub.header", Message: fmt.Sprintf("the envelope header says certificate %s, the certificate is %s", h.NPPOCertificateNumber, docID)})
	}

	reception, prev, err := p.Ledger.Receive(ctx, &store.Document{
		TrackingID: tid, Partner: h.From, Type: p.Target.Document, DocumentID: docID, Digest: rc.Digest, Body: body, Created: p.now(),
	}, p.hold(), "hub:"+h.From, "verified (hub envelope "+id+"); handing over to the legacy VUCE")
	switch {
	case err != nil:
		return fmt.Errorf("recording the hand-over: %w", err)
	case reception == store.Replay:
		// The same certificate again (under this envelope or another):
		// answered as it was the first time.
		ev.Step, ev.Detail = track.Received, "certificate "+docID+" already received ("+prev.TrackingID+"): not handed over again"
		p.record(ctx, ev)
		return p.acknowledge(ctx, id, prev.Receipt)
	case reception == store.Conflict:
		r := refusal{"document.conflict", fmt.Sprintf("certificate %s from %s was already received with different content; send a replacement with a new number", docID, h.From), ""}
		ev.Step, ev.Err, ev.Code = track.Failed, r.public, r.code
		p.record(ctx, ev)
		rc.Outcome, rc.Reasons = wire.ReceivedWithErrors, []wire.Reason{{Code: r.code, Message: r.public}}
		return p.acknowledge(ctx, id, rc)
	case reception == store.Busy:
		return fmt.Errorf("certificate %s is being handed over by another worker", docID)
	}
	marker, lease, inDoubt := prev.TrackingID, prev.Lease, reception == store.InDoubt

	verdict := func(r *refusal) error {
		rc.Time = p.now().UTC()
		to, reason := lifecycle.ReceivedCorrectly, "handed over"
		rc.Outcome, rc.Reasons = wire.ReceivedCorrectly, warnings
		if r != nil {
			to, rc.Outcome = lifecycle.ReceivedWithErrors, wire.ReceivedWithErrors
			rc.Reasons = append([]wire.Reason{{Code: r.code, Message: r.public}}, warnings...)
			reason = rc.Error()
			if r.internal != "" {
				reason += " [" + r.internal + "]"
			}
			ev.Step, ev.Err, ev.Code = track.Failed, reason, r.code
			p.record(ctx, ev)
		}
		// Detached: a verdict on a handed-over document must be recorded
		// even if the poll is being cancelled.
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, err := p.Ledger.Transition(tctx, marker, rc.Time, store.Change{To: to, Actor: "legacy", Reason: reason + " (hub envelope " + id + ")", Receipt: rc, Lease: lease}); err != nil {
			return fmt.Errorf("recording the verdict: %w", err)
		}
		return p.acknowledge(ctx, id, rc)
	}

	if spec.HasDestination() {
		dest, err := spec.Destination(root)
		switch {
		case err != nil:
			return verdict(&refusal{"document.destination", err.Error(), ""})
		case dest != p.Country:
			return verdict(&refusal{"document.destination", fmt.Sprintf("certificate %s is addressed to %s, not to %s: it was not handed over", docID, dest, p.Country), ""})
		}
	}
	if t := p.Target; t.Validator != nil {
		start = time.Now()
		if err := t.Validator.ValidateElement(spec.Standalone(root)); err != nil {
			return verdict(&refusal{"schema.invalid", "the certificate is not valid against the " + t.Document + " schema: " + err.Error(), ""})
		}
		ev.Step, ev.Detail, ev.Duration = track.Validated, "valid against the "+t.Document+" schema", time.Since(start)
		p.record(ctx, ev)
	}
	start = time.Now()
	out, err := p.Target.Mapper.MapElement(root)
	if err != nil {
		return verdict(&refusal{"mapping", "this country's format cannot carry the certificate: " + err.Error(), ""})
	}
	native, err := out.Bytes()
	if err != nil {
		return verdict(&refusal{"mapping", err.Error(), ""})
	}
	ev.Step, ev.Detail, ev.Duration = track.Mapped, "17A → native", time.Since(start)
	p.record(ctx, ev)

	start = time.Now()
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.hold())
	defer cancel()
	if r, retry := p.handOver(hctx, rc, native, inDoubt); r != nil {
		if retry {
			// Not decided now: the envelope stays at the hub, the next poll
			// takes the hand-over in doubt.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			p.Ledger.Release(rctx, marker, lease)
			ev.Step, ev.Err, ev.Code = track.Failed, r.public+" ["+r.internal+"]", r.code
			p.record(ctx, ev)
			return errors.New(r.internal)
		}
		return verdict(r)
	}
	ev.Step, ev.Detail, ev.Duration = track.HandedOver, p.Target.Method+" "+p.Target.URL, time.Since(start)
	ev.Err, ev.Code = "", ""
	p.record(ctx, ev)
	return verdict(nil)
}

// refuseUnverified records a final refusal of an envelope whose content
// could not be trusted (under store.UnverifiedPrefix: its number cannot
// be believed) and tells the hub.
func (p *Poller) refuseUnverified(ctx context.Context, h Header, rc *wire.Receipt, body []byte, ev *track.Event, r refusal) error {
	rc.Time = p.now().UTC()
	rc.Outcome, rc.Reasons = wire.ReceivedWithErrors, []wire.Reason{{Code: r.code, Message: r.public}}
	ev.Step, ev.Err, ev.Code = track.Failed, r.public, r.code
	p.record(ctx, *ev)
	if _, err := p.Ledger.Add(ctx, &store.Document{
		TrackingID: rc.TrackingID, Direction: store.Inbound, Partner: h.From, Type: p.Target.Document,
		DocumentID: store.UnverifiedPrefix + rc.TrackingID, Digest: rc.Digest, State: lifecycle.ReceivedWithErrors,
		Body: body, Receipt: rc, Created: rc.Time,
	}, "hub:"+h.From, rc.Error()+" (hub envelope "+h.HubDeliveryNumber+")"); err != nil {
		return fmt.Errorf("recording the refusal: %w", err)
	}
	return p.acknowledge(ctx, h.HubDeliveryNumber, rc)
}

// acknowledge tells the hub the verdict: received, received with
// warnings, or failed with the reasons.
func (p *Poller) acknowledge(ctx context.Context, id string, rc *wire.Receipt) error {
	var err error
	var how string
	switch {
	case rc.Outcome == wire.ReceivedCorrectly && len(rc.Reasons) == 0:
		how, err = "AcknowledgeEnvelopeReceipt", p.Client.AcknowledgeEnvelopeReceipt(ctx, id)
	case rc.Outcome == wire.ReceivedCorrectly:
		how, err = "AdvancedAcknowledgeEnvelopeReceipt", p.Client.AdvancedAcknowledgeEnvelopeReceipt(ctx, id, reasonsText(rc.Reasons))
	default:
		how, err = "AcknowledgeFailedEnvelopeReceipt", p.Client.AcknowledgeFailedEnvelopeReceipt(ctx, id, reasonsText(rc.Reasons))
	}
	ev := track.Event{Node: p.Country, TrackingID: rc.TrackingID, DocumentID: rc.DocumentID, Document: rc.DocumentType,
		Direction: track.Inbound, Partner: rc.From, Step: track.Received, Detail: "hub envelope " + id + ": " + how}
	if err != nil {
		ev.Step, ev.Err, ev.Code = track.Failed, how+": "+err.Error(), "hub.acknowledge"
		p.record(ctx, ev)
		return fmt.Errorf("%s: %w (the verdict is kept; the next poll acknowledges again)", how, err)
	}
	p.record(ctx, ev)
	return nil
}

func reasonsText(rs []wire.Reason) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.Code + ": " + r.Message
	}
	return strings.Join(parts, "; ")
}

// handOver gives the native document to the legacy VUCE exactly as the
// partner-facing side does (proxy.Target.HandOver). retry means no
// verdict now.
func (p *Poller) handOver(ctx context.Context, rc *wire.Receipt, native []byte, redelivery bool) (r *refusal, retry bool) {
	le := p.Target.HandOver(ctx, p.Legacy, rc.TrackingID, rc.From, rc.DocumentID, native, redelivery)
	if le == nil {
		return nil, false
	}
	return &refusal{le.Code, le.Public, le.Internal}, le.Temporary
}

func (p *Poller) hold() time.Duration {
	if p.Hold > 0 {
		return p.Hold
	}
	return 45 * time.Second
}

func (p *Poller) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Poller) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (p *Poller) record(ctx context.Context, e track.Event) {
	if p.Recorder != nil {
		e.Time = p.now()
		p.Recorder.Record(ctx, e)
	}
}
