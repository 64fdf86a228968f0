package hub

import (
	"context"
	"errors"
	"strings"

	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/store"
	"github.com/vucelink/vucelink/wire"
)

// Status is where a document stands at the hub: its envelope ID and the
// hub's tracking state (HUBTrackingInfo), for the console and the API.
type Status struct {
	Envelope string `json:"envelope"`
	Status   string `json:"status"`
}

// signerPrefix starts the Signer of every receipt the Deliverer makes:
// "IPPC ePhyto Hub, envelope ID: STATE".
const signerPrefix = "IPPC ePhyto Hub, envelope "

// StatusOf tells where a document exchanged through the hub stands there
// (nil for a document that never went through the hub, or not yet).
//
// Outbound: the envelope ID recorded when the hub took it; the state the
// hub last reported, from the receipt (PendingDelivery until there is
// one; EnvelopeNotExists when the hub said so).
// Inbound (documents the poller took, tracking IDs "<FROM>-HUB-<ID>"):
// the state this node's acknowledgement gives the envelope.
func StatusOf(ctx context.Context, records Records, d *store.Document) (*Status, error) {
	if d.Direction == store.Inbound {
		id, ok := strings.CutPrefix(d.TrackingID, d.Partner+"-HUB-")
		if !ok {
			return nil, nil
		}
		s := &Status{Envelope: id, Status: PendingDelivery}
		switch {
		case d.Receipt == nil:
		case d.Receipt.Outcome == wire.ReceivedCorrectly && len(d.Receipt.Reasons) == 0:
			s.Status = Delivered
		case d.Receipt.Outcome == wire.ReceivedCorrectly:
			s.Status = DeliveredWithWarnings
		default:
			s.Status = FailedDelivery
		}
		return s, nil
	}
	b, err := records.Value(ctx, kindEnvelope, d.TrackingID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s := &Status{Envelope: string(b), Status: PendingDelivery}
	switch {
	case d.Receipt != nil && strings.HasPrefix(d.Receipt.Signer, signerPrefix):
		if _, st, ok := strings.Cut(strings.TrimPrefix(d.Receipt.Signer, signerPrefix), ": "); ok {
			s.Status = st
		}
	case d.State == lifecycle.Incomplete || strings.Contains(d.LastError, EnvelopeNotExists):
		if strings.Contains(d.LastError, EnvelopeNotExists) {
			s.Status = EnvelopeNotExists
		}
	}
	return s, nil
}
