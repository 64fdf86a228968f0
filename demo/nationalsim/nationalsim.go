// Package nationalsim simulates the national systems of the IPPC ePhyto
// Hub's members that do not run vucelink (the demo's associated states:
// Australia, Canada, New Zealand, Singapore). Each speaks SOAP to the hub
// with its own client certificate, as a real national system does:
//
//   - Send: a certificate in the country's native format (legacysim) →
//     SPS 17A by the country's rule files (rules/<CC>/sps17a.outbound.yaml)
//     → valid against the 17A profile → signed by the NPPO's official →
//     DeliverEnvelope.
//   - Pull: GetImportEnvelopeHeaders → PULLSingleImportEnvelope → the
//     signature verified against the sender's certificates on the hub's
//     list (GetActiveNppos) → 17A → native (rules/<CC>/sps17a.inbound.yaml)
//     → recorded by the country's legacysim.Server, which decodes it with
//     the hand-written codec → AcknowledgeEnvelopeReceipt, or
//     AcknowledgeFailedEnvelopeReceipt with the reason.
//
// Scaffolding beside legacysim and hubsim, not production: nothing in the
// production path imports it. It keeps no durable state: a certificate
// number its legacysim.Server already holds is acknowledged, not recorded
// again.
package nationalsim

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/demo/legacysim"
	"github.com/vucelink/vucelink/hub"
	"github.com/vucelink/vucelink/mapping"
	"github.com/vucelink/vucelink/rules"
	"github.com/vucelink/vucelink/schema"
	"github.com/vucelink/vucelink/track"
	"github.com/vucelink/vucelink/xmlsafe"
)

// System is one member's national system.
type System struct {
	Country string
	Client  *hub.Client
	Signer  *certs.Signer
	// Legacy records what the system takes from the hub, decoded by the
	// country's own codec (Received, Duplicates).
	Legacy *legacysim.Server
	// Recorder, if set, receives the system's steps (the demo's trace),
	// under the tracking ID hub.TrackingID(sender, envelope).
	Recorder track.Recorder

	format  legacysim.Format
	out, in *mapping.Rules
	profile *schema.Schema

	mu    sync.Mutex
	trust map[string]*x509.CertPool // from GetActiveNppos
	taken map[string]string         // envelope ID → how it was acknowledged
}

// New returns the national system of country, calling the hub with
// client and signing with signer.
func New(country string, client *hub.Client, signer *certs.Signer) (*System, error) {
	f, err := legacysim.FormatFor(country)
	if err != nil {
		return nil, err
	}
	s := &System{Country: country, Client: client, Signer: signer, Legacy: legacysim.NewServer(country), format: f, taken: map[string]string{}}
	if s.out, err = mapping.Load(rules.FS, country+"/sps17a.outbound.yaml"); err != nil {
		return nil, err
	}
	if s.in, err = mapping.Load(rules.FS, country+"/sps17a.inbound.yaml"); err != nil {
		return nil, err
	}
	if s.profile, err = profile(); err != nil {
		return nil, err
	}
	return s, nil
}

var profile = sync.OnceValues(func() (*schema.Schema, error) {
	return schema.Load(rules.FS, "documents/sps-17a/SPSCertificate_17p0.xsd")
})

// Certificate17A is c as the system sends it: native → 17A, validated,
// signed.
func (s *System) Certificate17A(c legacysim.Certificate) ([]byte, error) {
	native, err := s.format.Encode(c)
	if err != nil {
		return nil, err
	}
	o, err := s.out.Map(native)
	if err != nil {
		return nil, fmt.Errorf("%s national system: mapping %s to 17A: %w", s.Country, c.ID, err)
	}
	if err := s.profile.ValidateElement(o.XML.Root()); err != nil {
		return nil, fmt.Errorf("%s national system: %s is not valid 17A: %w", s.Country, c.ID, err)
	}
	b, err := o.Bytes()
	if err != nil {
		return nil, err
	}
	return s.Signer.Sign(b)
}

// Send delivers c to the hub, addressed to c.ImportCountry, and returns
// the hub's envelope ID.
func (s *System) Send(ctx context.Context, c legacysim.Certificate) (string, error) {
	signed, err := s.Certificate17A(c)
	if err != nil {
		return "", err
	}
	h, err := s.Client.DeliverEnvelope(ctx, hub.Envelope{Header: hub.Header{
		From: s.Country, To: c.ImportCountry, CertificateType: 851, CertificateStatus: 70, NPPOCertificateNumber: c.ID,
	}, Content: string(signed)})
	if err != nil {
		return "", err
	}
	s.record(ctx, track.Event{TrackingID: hub.TrackingID(s.Country, h.HubDeliveryNumber), DocumentID: c.ID, Direction: track.Outbound,
		Partner: c.ImportCountry, Step: track.Delivered, Detail: fmt.Sprintf("national system: native → 17A, signed, DeliverEnvelope: envelope %s, %s", h.HubDeliveryNumber, h.HUBTrackingInfo)})
	return h.HubDeliveryNumber, nil
}

func (s *System) record(ctx context.Context, e track.Event) {
	if s.Recorder != nil {
		e.Node, e.Document, e.Time = s.Country, "sps17a", time.Now()
		s.Recorder.Record(ctx, e)
	}
}

// Tracking asks the hub how an envelope this system sent stands.
func (s *System) Tracking(ctx context.Context, id string) (hub.Header, error) {
	return s.Client.GetEnvelopeTrackingInfo(ctx, id)
}

// RefreshNPPOs fetches the hub's list of members and their signing
// certificates.
func (s *System) RefreshNPPOs(ctx context.Context) error {
	list, err := s.Client.GetActiveNppos(ctx)
	if err != nil {
		return err
	}
	m := map[string]*x509.CertPool{}
	for _, n := range list {
		p := x509.NewCertPool()
		for _, c := range n.Certificates {
			p.AddCert(c)
		}
		m[n.Country] = p
	}
	s.mu.Lock()
	s.trust = m
	s.mu.Unlock()
	return nil
}

// Pull takes every envelope waiting for this country and returns how many
// it acknowledged.
func (s *System) Pull(ctx context.Context) (int, error) {
	headers, err := s.Client.GetImportEnvelopeHeaders(ctx, s.Country)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, h := range headers {
		if err := s.take(ctx, h); err != nil {
			errs = append(errs, fmt.Errorf("envelope %s from %s: %w", h.HubDeliveryNumber, h.From, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// Run pulls every interval until ctx ends.
func (s *System) Run(ctx context.Context, interval time.Duration) {
	for {
		s.Pull(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// Acknowledged returns how the system acknowledged an envelope ("" if it
// did not).
func (s *System) Acknowledged(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.taken[id]
}

func (s *System) take(ctx context.Context, h hub.Header) error {
	id := h.HubDeliveryNumber
	env, err := s.Client.PULLSingleImportEnvelope(ctx, id)
	if err != nil {
		return err
	}
	native, reason := s.read(ctx, h, []byte(env.Content))
	if reason == "" {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, legacysim.InboundPath(s.Country), bytes.NewReader(native))
		req.Header.Set("Content-Type", s.format.ContentType())
		s.Legacy.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusConflict: // taken before: acknowledged again
		case rec.Code/100 != 2:
			reason = fmt.Sprintf("the national system refused it (HTTP %d): %s", rec.Code, bytes.TrimSpace(rec.Body.Bytes()))
		}
	}
	how := "ack"
	ev := track.Event{TrackingID: hub.TrackingID(h.From, id), DocumentID: h.NPPOCertificateNumber, Direction: track.Inbound, Partner: h.From}
	if reason == "" {
		err = s.Client.AcknowledgeEnvelopeReceipt(ctx, id)
		ev.Step, ev.Detail = track.HandedOver, "national system: pulled envelope "+id+", verified, 17A → native, recorded, AcknowledgeEnvelopeReceipt"
	} else {
		how = "failed: " + reason
		err = s.Client.AcknowledgeFailedEnvelopeReceipt(ctx, id, reason)
		ev.Step, ev.Err = track.Failed, "national system: envelope "+id+": "+reason+"; AcknowledgeFailedEnvelopeReceipt"
	}
	if err != nil {
		return err
	}
	s.record(ctx, ev)
	s.mu.Lock()
	s.taken[id] = how
	s.mu.Unlock()
	return nil
}

// read verifies and maps one certificate; reason says why it cannot be
// taken.
func (s *System) read(ctx context.Context, h hub.Header, content []byte) (native []byte, reason string) {
	s.mu.Lock()
	pool := s.trust[h.From]
	s.mu.Unlock()
	if pool == nil {
		if err := s.RefreshNPPOs(ctx); err != nil {
			return nil, "the hub's list of NPPOs could not be read: " + err.Error()
		}
		s.mu.Lock()
		pool = s.trust[h.From]
		s.mu.Unlock()
	}
	if pool == nil {
		return nil, "no signing certificate of " + h.From + " on the hub's list"
	}
	v := &certs.Verifier{Roots: pool, Limits: xmlsafe.Limits{}}
	verified, err := v.Verify(ctx, content)
	if err != nil {
		return nil, "signature not accepted: " + err.Error()
	}
	if err := s.profile.ValidateElement(verified.Element); err != nil {
		return nil, "not valid 17A: " + err.Error()
	}
	o, err := s.in.MapElement(verified.Element)
	if err != nil {
		return nil, "this system's format cannot carry it: " + err.Error()
	}
	b, err := o.Bytes()
	if err != nil {
		return nil, err.Error()
	}
	return b, ""
}
