package hub

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/vucelink/vucelink/delivery"
	"github.com/vucelink/vucelink/store"
	"github.com/vucelink/vucelink/wire"
	"github.com/vucelink/vucelink/xmlsafe"
)

// ErrPending means the hub holds the envelope and the importing NPPO has
// not taken it yet (PendingDelivery): the document stays sent, and the
// outbox asks again later, with its backoff. It wraps
// delivery.ErrUnavailable only in the sense that no verdict exists yet.
var ErrPending = errors.New("at the hub, not yet delivered")

// Deliverer hands documents for hub countries to the hub and follows them
// there. It implements delivery.Deliverer for the outbox, which keeps its
// durable queue, retries, pause, resend and give-up: each attempt either
// delivers the envelope (the first), or asks the hub how it stands.
//
// The envelope's ID is committed to the store (Records) as soon as the
// hub gives it, before anything else, so a later attempt — in this process
// or after a restart — tracks that envelope instead of delivering the
// certificate a second time.
type Deliverer struct {
	Client  *Client
	Records Records
	// NPPO is this country's code at the hub (From).
	NPPO string
	// Countries are the destinations that route through the hub.
	Countries map[string]bool
	// Limits bound the documents read for their header codes.
	Limits xmlsafe.Limits
	// Now returns the time for receipts; nil means time.Now.
	Now func() time.Time
}

// Routes reports whether a destination goes through the hub.
func (d *Deliverer) Routes(country string) bool { return d.Countries[country] }

// EnvelopeID returns the hub's envelope ID for a document sent through
// the hub ("" if it was not handed over yet).
func (d *Deliverer) EnvelopeID(ctx context.Context, trackingID string) (string, error) {
	b, err := d.Records.Value(ctx, kindEnvelope, trackingID)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return string(b), err
}

// Deliver implements delivery.Deliverer.
func (d *Deliverer) Deliver(ctx context.Context, doc *delivery.Document) (*wire.Receipt, error) {
	if !d.Countries[doc.Partner] {
		return nil, fmt.Errorf("%w %q: not routed through the hub", delivery.ErrUnknownPartner, doc.Partner)
	}
	id, err := d.EnvelopeID(ctx, doc.TrackingID)
	if err != nil {
		return nil, fmt.Errorf("deliver %s to %s via the hub: %w: reading the envelope record: %v", doc.ID, doc.Partner, delivery.ErrUnavailable, err)
	}
	if id == "" {
		typ, status, err := codes(doc.Body, d.Limits)
		if err != nil {
			return nil, fmt.Errorf("deliver %s to %s via the hub: %w", doc.ID, doc.Partner, err)
		}
		h, err := d.Client.DeliverEnvelope(ctx, Envelope{Header: Header{
			From: d.NPPO, To: doc.Partner, CertificateType: typ, CertificateStatus: status, NPPOCertificateNumber: doc.ID,
		}, Content: string(doc.Body)})
		if err != nil {
			return nil, fmt.Errorf("deliver %s to %s via the hub: %w", doc.ID, doc.Partner, err)
		}
		// Detached: once the hub has it, its ID must be kept even if the
		// attempt's context ends now.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := d.Records.Put(pctx, kindEnvelope, doc.TrackingID, []byte(h.HubDeliveryNumber), time.Time{}); err != nil {
			return nil, fmt.Errorf("deliver %s to %s via the hub: the hub took it as envelope %s, but recording that failed: %v", doc.ID, doc.Partner, h.HubDeliveryNumber, err)
		}
		return nil, fmt.Errorf("%w: envelope %s, %s", ErrPending, h.HubDeliveryNumber, orPending(h.HUBTrackingInfo))
	}
	h, err := d.Client.GetEnvelopeTrackingInfo(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("track %s to %s, envelope %s: %w", doc.ID, doc.Partner, id, err)
	}
	rc := &wire.Receipt{TrackingID: doc.TrackingID, DocumentID: doc.ID, DocumentType: doc.Type, From: doc.Partner, To: d.NPPO,
		Digest: wire.Digest(doc.Body), Time: d.now().UTC(), Signer: signerPrefix + id + ": " + h.HUBTrackingInfo}
	msg := h.HubDeliveryError
	switch h.HUBTrackingInfo {
	case PendingDelivery:
		return nil, fmt.Errorf("%w: envelope %s, %s", ErrPending, id, PendingDelivery)
	case Delivered:
		rc.Outcome = wire.ReceivedCorrectly
	case DeliveredWithWarnings:
		rc.Outcome = wire.ReceivedWithErrors
		rc.Reasons = []wire.Reason{{Code: "hub.delivered-with-warnings", Message: orText(msg, "the importing NPPO reported warnings") + " (envelope " + id + ")"}}
	case FailedDelivery:
		rc.Outcome = wire.ReceivedWithErrors
		rc.Reasons = []wire.Reason{{Code: "hub.failed-delivery", Message: orText(msg, "the hub could not deliver it") + " (envelope " + id + ")"}}
	case DeliveredNotReadable:
		rc.Outcome = wire.ReceivedWithErrors
		rc.Reasons = []wire.Reason{{Code: "hub.not-readable", Message: orText(msg, "the importing NPPO could not read it") + " (envelope " + id + ")"}}
	default: // EnvelopeNotExists
		return nil, fmt.Errorf("track %s to %s: the hub says envelope %s does not exist (%s); it is not delivered again on its own: an operator decides (resend or paper)", doc.ID, doc.Partner, id, h.HUBTrackingInfo)
	}
	return rc, nil
}

func (d *Deliverer) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func orPending(s string) string { return orText(s, PendingDelivery) }

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// codes reads the certificate's type and status codes for the envelope
// header (851/70 when it has none).
func codes(body []byte, lim xmlsafe.Limits) (typ, status int, err error) {
	doc, err := xmlsafe.Parse(body, lim)
	if err != nil {
		return 0, 0, err
	}
	typ, status = 851, 70
	ex := child(doc.Root(), "*", "SPSExchangedDocument")
	for _, f := range []struct {
		name string
		dst  *int
	}{{"TypeCode", &typ}, {"StatusCode", &status}} {
		if s := text(child(ex, "*", f.name)); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				return 0, 0, fmt.Errorf("the certificate's %s %q is not a number the hub takes", f.name, s)
			}
			*f.dst = n
		}
	}
	return typ, status, nil
}

// Router sends documents for hub countries to Hub and all others to
// Direct (the partner nodes).
type Router struct {
	Hub    *Deliverer
	Direct delivery.Deliverer
}

// Deliver implements delivery.Deliverer.
func (r Router) Deliver(ctx context.Context, doc *delivery.Document) (*wire.Receipt, error) {
	if r.Hub != nil && r.Hub.Routes(doc.Partner) {
		return r.Hub.Deliver(ctx, doc)
	}
	return r.Direct.Deliver(ctx, doc)
}
