package node

// The IPPC ePhyto Hub as a partner (config.Hub, package hub): documents
// for hub countries leave through the hub's DeliveryService instead of a
// partner node, through the same outbox (retries, pause, resend, paper);
// what the hub holds for this country is pulled by a poller, one replica
// at a time.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/vucelink/vucelink/api"
	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/config"
	"github.com/vucelink/vucelink/hub"
	"github.com/vucelink/vucelink/proxy"
	"github.com/vucelink/vucelink/store"
	"github.com/vucelink/vucelink/track"
	"github.com/vucelink/vucelink/xmlsafe"
)

// hubSide is what the node keeps of the hub.
type hubSide struct {
	client    *hub.Client
	deliverer *hub.Deliverer
	roots     map[string][]*x509.Certificate
}

// setupHub wires the hub in, after the partners: documents for hub
// countries go to it, and those countries are partners of the outbound
// side. Called at the end of New.
func (n *Node) setupHub() error {
	h := n.Config.Hub
	if h == nil {
		return nil
	}
	kp, err := loadKeyPair(h.ClientCert, h.ClientKey, n.logger)
	if err != nil {
		return fmt.Errorf("hub.client_cert: %w", err)
	}
	if c, err := kp.get(); err == nil && c.Leaf != nil {
		n.watch("hub-client", c.Leaf)
	}
	var pool *x509.CertPool
	if len(h.CA) > 0 {
		if pool, err = certs.LoadPool(h.CA...); err != nil {
			return fmt.Errorf("hub.ca: %w", err)
		}
	}
	roots := map[string][]*x509.Certificate{}
	for cc, files := range h.Trust {
		cs, err := certs.LoadCertificates(files...)
		if err != nil {
			return fmt.Errorf("hub.trust.%s: %w", cc, err)
		}
		roots[cc] = cs
		for _, c := range cs {
			n.watch("hub-trust:"+cc, c)
		}
	}
	limits := xmlsafe.Limits{MaxBytes: n.Config.Limits.MaxBodyBytes, MaxDepth: n.Config.Limits.MaxDepth, MaxElements: n.Config.Limits.MaxElements}
	client := &hub.Client{URL: h.URL, SOAP12: h.SOAP12, Limits: limits,
		HTTP: hub.NewHTTPClient(pool, func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return kp.get() }, h.Timeout)}
	countries := map[string]bool{}
	for _, cc := range h.Countries {
		countries[cc] = true
		n.Outbound.Partners[cc] = true
	}
	d := &hub.Deliverer{Client: client, NPPO: h.NPPO, Countries: countries, Limits: limits}
	n.hub = &hubSide{client: client, deliverer: d, roots: roots}
	n.deliverer = hub.Router{Hub: d, Direct: n.deliverer}
	// The hub holding a document is not a failed delivery: the outbox asks
	// again later, but health and alerts must not count it.
	n.recorder = pendingAtHub{n.recorder, countries}
	return nil
}

// hubRoute gives a route its document for hub countries (routes[].hub):
// a copy of the route with the hub's document type, rules (checked and
// reloaded like the route's own), schema and signer, taken when the
// destination is reached through the hub.
func (n *Node) hubRoute(key string, base *proxy.Route, h *config.RouteHub, spec *proxy.DocumentSpec, signer proxy.Signer) func(string) *proxy.Route {
	alt := *base
	alt.Name, alt.Document, alt.Spec, alt.Signer, alt.Validator = base.Name+" (hub)", h.Document, spec, signer, nil
	n.rules.add(key+".hub.rules", h.Rules, h.Document, "outbound")
	alt.Mapper = n.rules.mapper(h.Rules)
	if n.Config.Documents[h.Document].Schema != "" {
		alt.Validator = n.rules.validator(h.Document)
	}
	return func(cc string) *proxy.Route {
		if n.Config.ViaHub(cc) {
			return &alt
		}
		return nil
	}
}

// hubOperators names the hub members' operators (hub.operators) as each
// hub country's, for notifications about documents sent there.
func hubOperators(cfg *config.Config, ops map[string][]string) {
	if cfg.Hub == nil {
		return
	}
	for _, cc := range cfg.Hub.Countries {
		ops[cc] = cfg.Hub.Operators
	}
}

// hubAPIStatus is the API's view of where a document stands at the hub
// (nil without a hub).
func (n *Node) hubAPIStatus(records hub.Records) func(context.Context, *store.Document) (*api.HubStatus, error) {
	if n.hub == nil {
		return nil
	}
	return func(ctx context.Context, d *store.Document) (*api.HubStatus, error) {
		s, err := hub.StatusOf(ctx, records, d)
		if s == nil || err != nil {
			return nil, err
		}
		return &api.HubStatus{Envelope: s.Envelope, Status: s.Status}, nil
	}
}

// hubConsoleStatus is the same for the console's document page.
func (n *Node) hubConsoleStatus(records hub.Records) func(context.Context, *store.Document) (string, string, error) {
	if n.hub == nil {
		return nil
	}
	return func(ctx context.Context, d *store.Document) (string, string, error) {
		s, err := hub.StatusOf(ctx, records, d)
		if s == nil || err != nil {
			return "", "", err
		}
		return s.Envelope, s.Status, nil
	}
}

// startHub runs the hub's background work once the store is open: the
// NPPO list and the poller, each a role one replica holds.
func (n *Node) startHub(ctx context.Context, role func(string, func(context.Context))) {
	if n.hub == nil {
		return
	}
	h := n.Config.Hub
	dir := &hub.Directory{Client: n.hub.client, Records: n.Store, Roots: n.hub.roots, Logger: n.logger.With("component", "hub")}
	if err := dir.Load(ctx); err != nil {
		n.logger.Warn("hub: the kept NPPO list could not be read", "error", err)
	}
	role("hub-nppos", func(ctx context.Context) { dir.Run(ctx, h.NPPOInterval) })
	target := n.Inbound.Targets[hubDocument]
	if target == nil {
		n.logger.Warn("hub: no legacy.inbound entry for sps17a: nothing is pulled from the hub", "key", "legacy.inbound")
		return
	}
	p := &hub.Poller{Client: n.hub.client, Ledger: n.Store, Directory: dir, Country: h.NPPO, Target: target,
		Legacy: n.Inbound.Legacy, Limits: n.hub.client.Limits, AllowSHA1: h.AcceptSHA1, Recorder: n.recorder,
		Logger: n.logger.With("component", "hub-poller")}
	role("hub-poll", func(ctx context.Context) { p.Run(ctx, h.PollInterval) })
}

// pendingAtHub turns the outbox's "retry" of a document the hub holds into
// a queued step: the hub answered, nothing failed.
type pendingAtHub struct {
	track.Recorder
	countries map[string]bool
}

func (p pendingAtHub) Record(ctx context.Context, e track.Event) {
	if p.countries[e.Partner] && e.Step == track.Failed && strings.Contains(e.Err, hub.ErrPending.Error()) {
		e.Step, e.Code, e.Detail, e.Err = track.Queued, "hub.pending", e.Err+"; "+e.Detail, ""
	}
	p.Recorder.Record(ctx, e)
}

// hubDocument is the one document type the ePhyto Hub carries.
const hubDocument = "sps17a"

// hubCarries refuses, when a document is accepted, a document type the
// hub does not carry for a country reached through it (a D13B certificate
// from a route without routes[].hub, a certificate of origin): the hub
// would refuse it as "not an SPS 17A certificate" only after the outbox
// had retried it for a day. nil without a hub.
func hubCarries(cfg *config.Config) func(partner, docType string) error {
	if cfg.Hub == nil {
		return nil
	}
	return func(partner, docType string) error {
		if cfg.ViaHub(partner) && docType != hubDocument {
			return fmt.Errorf("%s is reached through the IPPC ePhyto Hub, which carries %s certificates only, not %s (give the route a hub: section mapping to %s)", partner, hubDocument, docType, hubDocument)
		}
		return nil
	}
}
