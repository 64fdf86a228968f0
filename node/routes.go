package node

// Routes and targets: the document types a node knows, the routes on
// which the legacy VUCE posts what it sends (mapped, validated, signed)
// and the targets to which what partners send is handed over (verified,
// validated, mapped back), each reading the rules in force through the
// rule book; and the two proxies built on them.

import (
	"fmt"
	"net/http"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/config"
	"github.com/vucelink/vucelink/proxy"
)

// documents builds each document type's spec and registers its schema
// with the rule book.
func (n *Node) documents(p *problems) map[string]*proxy.DocumentSpec {
	specs := map[string]*proxy.DocumentSpec{}
	for name, d := range n.Config.Documents {
		s, err := proxy.NewDocumentSpec(name, d.Root, d.Signed, d.ID, d.Destination, d.Namespaces)
		if err != nil {
			p.addErr(err)
			continue
		}
		specs[name] = s
		if d.Schema == "" {
			n.logger.Warn("document type has no schema: its documents are not validated", "document", name, "key", "documents."+name+".schema")
			continue
		}
		n.rules.addSchema(name, "documents."+name+".schema", d.Schema, d.RootName(), d.SignedName())
	}
	return specs
}

// routes builds the outbound routes, registering their rule files.
func (n *Node) routes(specs map[string]*proxy.DocumentSpec, keys signingKeys, exporterTrust *certs.CODVerifier) []*proxy.Route {
	cfg := n.Config
	signerFor := func(docType string) proxy.Signer {
		return routeSigner(cfg.Documents[docType].Signature, keys.officials[docType], keys.exporters[docType], exporterTrust)
	}
	var routes []*proxy.Route
	for i, r := range cfg.Routes {
		key := fmt.Sprintf("routes[%d]", i)
		rt := &proxy.Route{
			Name: r.Name, Document: r.Document, Method: r.Method, Path: r.Path,
			ForwardHosts: r.ForwardHosts, Partner: r.Partner, Wait: r.Response.Wait,
			Signer: signerFor(r.Document), Spec: specs[r.Document],
			Status: r.Response.Status, ContentType: r.Response.ContentType,
		}
		n.rules.add(key+".rules", r.Rules, r.Document, "outbound")
		rt.Mapper = n.rules.mapper(r.Rules)
		if cfg.Documents[r.Document].Schema != "" {
			rt.Validator = n.rules.validator(r.Document)
		}
		// Values are escaped for the answer's content type (a certificate
		// number with a quote must not break the legacy system's JSON).
		rt.Body, _ = config.ParseResponseTemplate(key+".response.body", r.Response.ContentType, r.Response.Body)
		rt.ErrorBody, _ = config.ParseResponseTemplate(key+".response.error_body", r.Response.ContentType, r.Response.ErrorBody)
		if h := r.Hub; h != nil { // node/hub.go
			rt.ByDestination = n.hubRoute(key, rt, h, specs[h.Document], signerFor(h.Document))
		}
		routes = append(routes, rt)
	}
	return routes
}

// targets builds where inbound documents are handed over, by document
// type, registering their rule files.
func (n *Node) targets(specs map[string]*proxy.DocumentSpec) map[string]*proxy.Target {
	cfg := n.Config
	targets := map[string]*proxy.Target{}
	for i, in := range cfg.Legacy.Inbound {
		key := fmt.Sprintf("legacy.inbound[%d]", i)
		t := &proxy.Target{
			Document: in.Document, Spec: specs[in.Document],
			URL: cfg.Legacy.BaseURL + in.Path, Method: in.Method, ContentType: in.ContentType, Charset: in.Charset, DuplicateStatus: in.DuplicateStatus,
		}
		n.rules.add(key+".rules", in.Rules, in.Document, "inbound")
		t.Mapper = n.rules.mapper(in.Rules)
		if cfg.Documents[in.Document].Schema != "" {
			t.Validator = n.rules.validator(in.Document)
		}
		targets[in.Document] = t
	}
	return targets
}

// proxies builds the outbound and inbound proxies on the routes, targets
// and peers.
func (n *Node) proxies(routes []*proxy.Route, targets map[string]*proxy.Target, peers map[string]*proxy.Peer) {
	cfg := n.Config
	known := map[string]bool{}
	for cc := range cfg.Partners {
		known[cc] = true
	}
	n.Outbound = &proxy.Outbound{
		Country: cfg.Node.Country, Routes: routes, Partners: known, Recorder: n.recorder,
		MaxBodyBytes: cfg.Limits.MaxBodyBytes, Logger: n.logger.With("component", "outbound"),
		Carries: hubCarries(cfg), // node/hub.go
	}
	n.Inbound = &proxy.Inbound{
		// Receipts are signed by this node's first configured official.
		ReceiptSigner: firstOfficial(cfg, n.signers),
		Country:       cfg.Node.Country, Peers: peers, Targets: targets, Recorder: n.recorder,
		MaxBodyBytes:          cfg.Limits.MaxBodyBytes,
		MaxInflightPerPartner: cfg.Limits.MaxInflightPerPartner,
		Legacy: &http.Client{
			Timeout:   cfg.Legacy.Timeout,
			Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16},
		},
	}
}
