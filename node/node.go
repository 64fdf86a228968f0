// Package node assembles one vucelink node from its configuration: it loads
// keys, certificates and rule files, builds the outbound and inbound proxies
// and runs their listeners until shut down.
//
// Everything that can be checked is checked in New, before any listener
// opens, and reported together with the configuration key it came from, so
// `vucelink check` and `vucelink run` fail the same way.
package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vucelink/vucelink/access"
	"github.com/vucelink/vucelink/api"
	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/config"
	"github.com/vucelink/vucelink/console"
	"github.com/vucelink/vucelink/delivery"
	"github.com/vucelink/vucelink/health"
	"github.com/vucelink/vucelink/metrics"
	"github.com/vucelink/vucelink/notify"
	"github.com/vucelink/vucelink/ops"
	"github.com/vucelink/vucelink/outbox"
	"github.com/vucelink/vucelink/proxy"
	"github.com/vucelink/vucelink/registry"
	"github.com/vucelink/vucelink/rules"
	"github.com/vucelink/vucelink/statusmsg"
	"github.com/vucelink/vucelink/store"
	"github.com/vucelink/vucelink/track"
	"github.com/vucelink/vucelink/xmlsafe"
	"golang.org/x/net/netutil"
)

// Options are what a caller may add to a configuration.
type Options struct {
	// Logger for the node; nil means slog.Default().
	Logger *slog.Logger
	// Recorder receives document events in addition to the log.
	Recorder track.Recorder
	// Listeners, keyed "legacy", "admin", "partners" or "forward_proxy", are used
	// instead of opening the configured address (tests and the demo open
	// them first on port 0, so no port can be taken in between).
	Listeners map[string]net.Listener
}

// Node is one running (or ready to run) vucelink node.
type Node struct {
	Config   *config.Config
	Outbound *proxy.Outbound
	Inbound  *proxy.Inbound
	Store    store.Store
	Outbox   *outbox.Outbox

	deliverer delivery.Deliverer
	recorder  track.Recorder
	signers   map[string]*signer
	api       *api.Handler
	ops       *ops.Service
	console   *console.Console
	rules     *ruleBook
	expiring  []console.Expiring
	watched   []notify.Cert
	health    *health.Tracker
	hub       *hubSide // nil unless config.Hub (hub.go)
	// Partners' published lists of officials, fetched in the background.
	registries []partnerList
	fetcher    *registry.Fetcher
	published  http.Handler     // this node's own list, at registry.Path
	notifier   *notify.Notifier // nil unless notify is configured
	paper      *paperSide       // paper codes, evidence, the public page (public.go)
	notifying  atomic.Bool      // this replica holds the notify role
	metrics    *metrics.Metrics
	stopOutbox context.CancelFunc
	outboxDone chan struct{}

	logger    *slog.Logger
	serverTLS *tls.Config
	// The inside: who may call the API and metrics, what each route asks
	// of the legacy VUCE, and the inside listeners' TLS (nil: plain).
	access              *access.Authenticator
	guards              map[string]*routeGuard
	adminTLS, legacyTLS *tls.Config

	mu        sync.Mutex
	servers   []*http.Server
	listeners map[string]net.Listener
	preopened map[string]net.Listener
	done      chan struct{}
	serveErr  error
}

// New loads everything the configuration refers to and builds the node.
func New(cfg *config.Config, opts Options) (*Node, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("node", cfg.Node.Country)
	mx := metrics.New()
	tracker := health.New(health.Options{UnreachableAfter: cfg.Notify.UnreachableAfter, MinFailures: cfg.Notify.MinFailures})
	recorder := track.Recorder(track.Multi{track.Log{Logger: logger}, mx, tracker})
	if opts.Recorder != nil {
		recorder = track.Multi{recorder, opts.Recorder}
	}
	n := &Node{Config: cfg, logger: logger, listeners: map[string]net.Listener{}, preopened: opts.Listeners, recorder: recorder, metrics: mx, health: tracker}
	var errs []error
	fail := func(key string, err error) { errs = append(errs, fmt.Errorf("%s: %w", key, err)) }

	var rulesFS fs.FS = rules.FS
	if cfg.RulesDir != "" {
		rulesFS = os.DirFS(cfg.RulesDir)
	}
	n.rules = &ruleBook{fsys: rulesFS, dir: cfg.RulesDir, logger: logger.With("component", "rules")}
	n.rules.count(mx)

	specs := map[string]*proxy.DocumentSpec{}
	for name, d := range cfg.Documents {
		s, err := proxy.NewDocumentSpec(name, d.Root, d.Signed, d.ID, d.Destination, d.Namespaces)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		specs[name] = s
		if d.Schema == "" {
			logger.Warn("document type has no schema: its documents are not validated", "document", name, "key", "documents."+name+".schema")
			continue
		}
		n.rules.addSchema(name, "documents."+name+".schema", d.Schema, d.RootName(), d.SignedName())
	}

	// Transport identity.
	serverCert, err := loadKeyPair(cfg.TLS.Cert, cfg.TLS.Key, logger)
	if err != nil {
		fail("tls.cert", err)
	}
	clientCert, err := loadKeyPair(cfg.TLS.ClientCert, cfg.TLS.ClientKey, logger)
	if err != nil {
		fail("tls.client_cert", err)
	}
	for kind, kp := range map[string]*keyPair{"tls-server": serverCert, "tls-client": clientCert} {
		if kp != nil {
			if c, err := kp.get(); err == nil && c.Leaf != nil {
				n.watch(kind, c.Leaf)
			}
		}
	}
	n.serverTLS = &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Re-read on change: certificates rotate without a restart.
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return serverCert.get() },
		// The TLS layer only asks for a certificate (and checks the client
		// holds its key); proxy.Inbound then checks it chains to the CA of
		// the very partner the request claims to come from, which a single
		// pool of all partners' CAs could not express.
		ClientAuth: tls.RequestClientCert,
	}

	// Signing officials.
	signers := map[string]*signer{}
	exporters := map[string]*signer{} // role exporter: the exporter's signature on a COD
	for i, s := range cfg.Signing {
		signer, err := loadSigner(s.Key, s.Cert, logger)
		if err != nil {
			fail(fmt.Sprintf("signing[%d]", i), err)
			continue
		}
		if c := signer.Certificate(); time.Now().After(c.NotAfter) {
			fail(fmt.Sprintf("signing[%d].cert", i), fmt.Errorf("certificate %q expired at %s", c.Subject, c.NotAfter.UTC().Format(time.RFC3339)))
		}
		if s.Role == "exporter" {
			for _, d := range s.Documents {
				exporters[d] = signer
			}
			n.watch("exporter-signing", signer.Certificate())
			continue
		}
		for _, d := range s.Documents {
			signers[d] = signer
		}
		n.watch("signing", signer.Certificate())
	}

	limits := xmlsafe.Limits{MaxBytes: cfg.Limits.MaxBodyBytes, MaxDepth: cfg.Limits.MaxDepth, MaxElements: cfg.Limits.MaxElements}

	// The inside.
	clients := make([]access.Client, len(cfg.Access.Clients))
	for i, c := range cfg.Access.Clients {
		clients[i] = access.Client{Name: c.Name, Role: access.Role(c.Role), TokenHash: c.TokenHash, CertificateSubject: c.CertificateSubject}
	}
	if n.access, err = access.New(clients); err != nil {
		errs = append(errs, err)
	}
	n.guards = guards(cfg)
	for _, l := range []struct {
		key string
		t   *config.ListenerTLS
		dst **tls.Config
	}{{"tls.admin", cfg.TLS.Admin, &n.adminTLS}, {"tls.legacy", cfg.TLS.Legacy, &n.legacyTLS}} {
		c, watched, err := insideTLS(l.key, l.t, logger)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		*l.dst = c
		for _, w := range watched {
			n.watch(l.key, w)
		}
	}

	// This country's exporters, who may sign their certificates of origin
	// before the legacy VUCE sends them: their signatures are verified
	// against exporters.ca and kept.
	var exporterTrust *certs.CODVerifier
	if e := cfg.Exporters; len(e.CA) > 0 {
		cas, err := certs.LoadCertificates(e.CA...)
		if err != nil {
			fail("exporters.ca", err)
		} else {
			pool := x509.NewCertPool()
			for _, c := range cas {
				pool.AddCert(c)
				n.watch("exporter-ca", c)
			}
			policy := certs.HardFail
			if e.Revocation.Policy == "soft-fail" {
				policy = certs.SoftFail
			}
			exporterTrust = &certs.CODVerifier{
				Exporters: &certs.Verifier{
					Roots: pool, Limits: limits, AllowSHA1: e.AcceptSHA1,
					Revocation: &certs.Revocation{CRLs: e.Revocation.CRLs}, RevocationPolicy: policy,
					Warn: func(msg string) { logger.Warn("revocation", "exporters", cfg.Node.Country, "warning", msg) },
				},
				AllowSHA1: e.AcceptSHA1, Limits: limits,
			}
		}
	}

	// Partners.
	peers := map[string]*proxy.Peer{}
	deliveryPartners := map[string]delivery.Partner{}
	for cc, p := range cfg.Partners {
		key := "partners." + cc
		cas, err := certs.LoadCertificates(p.CA...)
		if err != nil {
			fail(key+".ca", err)
			continue
		}
		pool := x509.NewCertPool()
		for _, c := range cas {
			pool.AddCert(c)
			n.watch("partner-ca:"+cc, c)
		}
		officials := certs.NewOfficials()
		for i, o := range p.Officials {
			cs, err := certs.LoadCertificates(o.Cert)
			if err != nil {
				fail(fmt.Sprintf("%s.officials[%d].cert", key, i), err)
				continue
			}
			for _, c := range cs {
				officials.Add(c, o.Documents...)
				n.watch("partner-official:"+cc, c)
			}
		}
		// A partner that publishes its officials: the fetched list decides,
		// and the configured officials only bridge the time until a first
		// list has been verified.
		authorize := officials.Authorize
		if p.OfficialsURL != "" {
			reg, err := registry.New(cc, cas, registry.Options{Grace: cfg.Officials.Grace})
			if err != nil {
				fail(key+".officials_url", err)
				continue
			}
			client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{
				MinVersion: tls.VersionTLS12, RootCAs: pool,
				GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return clientCert.get() },
			}}}
			n.registries = append(n.registries, partnerList{country: cc, url: p.OfficialsURL, reg: reg, client: client})
			authorize = func(c *x509.Certificate, docType string) error {
				if reg.List() == nil {
					return officials.Authorize(c, docType)
				}
				return reg.Authorize(c, docType, time.Now())
			}
		}
		rev := &certs.Revocation{CRLs: p.Revocation.CRLs}
		policy := certs.HardFail
		if p.Revocation.Policy == "soft-fail" {
			policy = certs.SoftFail
		}
		warn := func(msg string) { logger.Warn("revocation", "partner", cc, "warning", msg) }
		peer := &proxy.Peer{
			Country:          cc,
			Revocation:       rev,
			RevocationPolicy: policy,
			Warn:             warn,
			ClientCAs:        pool,
			Credentials:      &access.Basic{Username: p.InboundAuth.Username, Password: p.InboundAuth.Password},
			Verifiers:        map[string]proxy.DocumentVerifier{},
		}
		if p.InboundAuth.PasswordHash != "" {
			peer.Credentials.PasswordHash = []byte(p.InboundAuth.PasswordHash)
		}
		for docType := range cfg.Documents {
			docType := docType
			official := &certs.Verifier{
				Roots:      pool,
				Authorize:  func(c *x509.Certificate) error { return authorize(c, docType) },
				Limits:     limits,
				Revocation: rev, RevocationPolicy: policy, Warn: warn,
				AllowSHA1: p.AcceptSHA1,
			}
			peer.Verifiers[docType] = official
			if cfg.Documents[docType].Signature == "aladi-cod" {
				// The exporter's certificate must chain to the partner's CAs
				// (and not be revoked); the official's must also be in the
				// partner's repository of officials.
				exporter := &certs.Verifier{Roots: pool, Limits: limits, Revocation: rev, RevocationPolicy: policy, Warn: warn, AllowSHA1: p.AcceptSHA1}
				peer.Verifiers[docType] = codVerifier{&certs.CODVerifier{Exporters: exporter, Officials: official, AllowSHA1: p.AcceptSHA1, Limits: limits}}
			}
		}
		// A status message may be signed by any of the partner's officials.
		peer.Verifiers[statusmsg.Type] = &certs.Verifier{
			Roots: pool,
			Authorize: func(c *x509.Certificate) error {
				var err error
				for docType := range cfg.Documents {
					if err = authorize(c, docType); err == nil {
						return nil
					}
				}
				return err
			},
			Limits:     limits,
			Revocation: rev, RevocationPolicy: policy, Warn: warn,
		}
		peers[cc] = peer
		deliveryPartners[cc] = delivery.Partner{
			URL: p.URL, RootCAs: pool,
			Username: p.OutboundAuth.Username, Password: p.OutboundAuth.Password,
			// Receipts come signed by any of the partner's officials.
			Receipts: peer.Verifiers[statusmsg.Type],
		}
	}

	deliverer, err := delivery.NewHTTPS(delivery.Options{
		Sender: cfg.Node.Country,
		ClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return clientCert.get()
		},
		Partners:   deliveryPartners,
		Timeout:    cfg.Delivery.Timeout,
		Retries:    cfg.Delivery.Retries,
		BackoffMin: cfg.Delivery.BackoffMin,
		BackoffMax: cfg.Delivery.BackoffMax,
		Logger:     logger.With("component", "delivery"),
	})
	if err != nil {
		fail("partners", err)
	}

	// Outbound routes.
	var routes []*proxy.Route
	for i, r := range cfg.Routes {
		key := fmt.Sprintf("routes[%d]", i)
		rt := &proxy.Route{
			Name: r.Name, Document: r.Document, Method: r.Method, Path: r.Path,
			ForwardHosts: r.ForwardHosts, Partner: r.Partner, Wait: r.Response.Wait,
			Signer: routeSigner(cfg.Documents[r.Document].Signature, signers[r.Document], exporters[r.Document], exporterTrust), Spec: specs[r.Document],
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
			rt.ByDestination = n.hubRoute(key, rt, h, specs[h.Document], routeSigner(cfg.Documents[h.Document].Signature, signers[h.Document], exporters[h.Document], exporterTrust))
		}
		routes = append(routes, rt)
	}

	// Inbound targets.
	targets := map[string]*proxy.Target{}
	for i, in := range cfg.Legacy.Inbound {
		key := fmt.Sprintf("legacy.inbound[%d]", i)
		t := &proxy.Target{
			Document: in.Document, Spec: specs[in.Document],
			URL: cfg.Legacy.BaseURL + in.Path, Method: in.Method, ContentType: in.ContentType, DuplicateStatus: in.DuplicateStatus,
		}
		n.rules.add(key+".rules", in.Rules, in.Document, "inbound")
		t.Mapper = n.rules.mapper(in.Rules)
		if cfg.Documents[in.Document].Schema != "" {
			t.Validator = n.rules.validator(in.Document)
		}
		targets[in.Document] = t
	}

	if err := n.rules.start(); err != nil {
		errs = append(errs, err)
	}
	if cfg.Officials.Published != "" {
		n.published = registry.NewHandler(cfg.Officials.Published, logger.With("component", "officials"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	known := map[string]bool{}
	for cc := range cfg.Partners {
		known[cc] = true
	}
	n.deliverer = deliverer
	n.signers = signers

	n.Outbound = &proxy.Outbound{
		Country: cfg.Node.Country, Routes: routes, Partners: known, Recorder: recorder,
		MaxBodyBytes: cfg.Limits.MaxBodyBytes, Logger: logger.With("component", "outbound"),
	}
	n.Inbound = &proxy.Inbound{
		// Receipts are signed by this node's first configured official.
		ReceiptSigner: firstOfficial(cfg, signers),
		Country:       cfg.Node.Country, Peers: peers, Targets: targets, Recorder: recorder,
		MaxBodyBytes:          cfg.Limits.MaxBodyBytes,
		MaxInflightPerPartner: cfg.Limits.MaxInflightPerPartner,
		Legacy: &http.Client{
			Timeout:   cfg.Legacy.Timeout,
			Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16},
		},
	}
	if err := n.setupHub(); err != nil {
		return nil, err
	}
	return n, nil
}

// Start opens the listeners and serves in the background. It returns once
// every listener is open, so callers (and tests) may connect immediately.
func (n *Node) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.done != nil {
		return errors.New("node already started")
	}
	type srv struct {
		name, addr string
		handler    http.Handler
		tls        *tls.Config
	}
	list := []srv{
		{"legacy", n.Config.Listen.Legacy, n.legacySide(), n.legacyTLS},
		{"admin", n.Config.Listen.Admin, n.adminSide(), n.adminTLS},
		{"partners", n.Config.Listen.Partners, n.partnerSide(), n.serverTLS},
	}
	if n.Config.Listen.ForwardProxy != "" {
		list = append(list, srv{"forward_proxy", n.Config.Listen.ForwardProxy, n.forwardSide(), nil})
	}
	if n.Config.Public.Enabled() {
		list = append(list, srv{"public", n.Config.Public.Listen, n.publicSide(), n.publicTLS()})
	}
	timeouts := n.Config.Listen.Timeouts
	for _, s := range list {
		ln, err := n.preopened[s.name], error(nil)
		if ln == nil {
			ln, err = net.Listen("tcp", s.addr)
		}
		if err != nil {
			for _, l := range n.listeners {
				l.Close()
			}
			return fmt.Errorf("listen.%s: %w", s.name, err)
		}
		// A cap on connections, so that a flood of slow clients cannot
		// take every file descriptor; past it, connections wait in the
		// kernel's accept queue.
		ln = netutil.LimitListener(ln, n.Config.Listen.MaxConnections)
		if s.tls != nil {
			ln = tls.NewListener(ln, s.tls)
		}
		n.listeners[s.name] = ln
		n.servers = append(n.servers, &http.Server{
			Handler:           s.handler,
			ReadHeaderTimeout: timeouts.ReadHeader,
			// The whole request, body included, within Read: a body
			// trickled in a byte at a time is cut off.
			ReadTimeout:    timeouts.Read,
			WriteTimeout:   timeouts.Write,
			IdleTimeout:    timeouts.Idle,
			MaxHeaderBytes: 64 << 10,
			ErrorLog:       slog.NewLogLogger(n.logger.Handler(), slog.LevelWarn),
		})
	}
	if err := n.openStore(); err != nil {
		for _, l := range n.listeners {
			l.Close()
		}
		return err
	}
	n.attachPaper()
	octx, cancel := context.WithCancel(context.Background())
	n.stopOutbox, n.outboxDone = cancel, make(chan struct{})
	go func() { defer close(n.outboxDone); n.runBackground(octx) }()

	n.done = make(chan struct{})
	var wg sync.WaitGroup
	for i, s := range list {
		wg.Add(1)
		go func(hs *http.Server, ln net.Listener, name string) {
			defer wg.Done()
			if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				n.logger.Error("server stopped", "listener", name, "error", err)
				n.mu.Lock()
				n.serveErr = errors.Join(n.serveErr, fmt.Errorf("listen.%s: %w", name, err))
				n.mu.Unlock()
			}
		}(n.servers[i], n.listeners[s.name], s.name)
		n.logger.Info("listening", "listener", s.name, "addr", n.listeners[s.name].Addr().String())
	}
	go func() { wg.Wait(); close(n.done) }()
	return nil
}

// Addr returns the address a listener ("legacy", "admin", "partners",
// "forward_proxy") is bound to, or "" if it is not open.
func (n *Node) Addr(name string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if ln, ok := n.listeners[name]; ok {
		return ln.Addr().String()
	}
	return ""
}

// Shutdown stops accepting requests and waits for in-flight ones until ctx
// ends.
func (n *Node) Shutdown(ctx context.Context) error {
	n.mu.Lock()
	servers, done := n.servers, n.done
	n.mu.Unlock()
	if done == nil {
		return nil
	}
	var errs []error
	for _, s := range servers {
		if err := s.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, ctx.Err())
	}
	// The outbox stops after the listeners: nothing new can be accepted,
	// and documents in flight keep their state in the store.
	n.stopOutbox()
	select {
	case <-n.outboxDone:
	case <-ctx.Done():
	}
	n.mu.Lock()
	errs = append(errs, n.serveErr)
	n.mu.Unlock()
	errs = append(errs, n.Store.Close())
	return errors.Join(errs...)
}

// watchExpiry checks, at start and every hour, everything that expires:
// own and partner certificates and partners' officials lists. Each one
// due within console.expiry_warning is logged as a warning; with
// notifications on, certificates also get one email per threshold.
func (n *Node) watchExpiry(ctx context.Context, nt *notify.Notifier) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		now := time.Now()
		for _, e := range n.expiry() {
			warn := n.Config.Console.ExpiryWarning
			if e.WarnWithin > 0 {
				warn = e.WarnWithin
			}
			if left := e.NotAfter.Sub(now); left < warn {
				n.logger.Warn("expires soon", "what", e.Kind, "subject", e.Subject,
					"not_after", e.NotAfter.UTC().Format(time.RFC3339), "days_left", int(left.Hours()/24))
			}
		}
		if nt != nil {
			if _, err := nt.CheckCertificates(ctx, n.watched); err != nil {
				n.logger.Error("checking certificate expiry", "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RefreshOfficials fetches every partner's list of officials now, instead
// of at the next scheduled fetch (after a partner announces a revocation).
func (n *Node) RefreshOfficials(ctx context.Context) error {
	if n.fetcher == nil {
		return errors.New("no partner publishes its officials (partners.*.officials_url)")
	}
	return n.fetcher.FetchAll(ctx)
}

// Officials reports where each partner's list of officials stands.
func (n *Node) Officials() []registry.Status {
	if n.fetcher == nil {
		return nil
	}
	return n.fetcher.Status()
}

// officialsListWarning: a partner's list this close to its next update
// (it republishes well before, normally) is worth an operator's look.
const officialsListWarning = 7 * 24 * time.Hour

// partnerList is a partner's published list of officials.
type partnerList struct {
	country, url string
	reg          *registry.Registry
	client       *http.Client
}

// expiry lists what the node depends on that expires: certificates, and
// partners' officials lists (due for their next update).
func (n *Node) expiry() []console.Expiring {
	out := slices.Clone(n.expiring)
	if n.fetcher != nil {
		for _, s := range n.fetcher.Status() {
			if !s.NextUpdate.IsZero() {
				out = append(out, console.Expiring{Kind: "officials-list:" + s.Country,
					Subject: fmt.Sprintf("sequence %d, %d officials", s.Sequence, s.Officials), NotAfter: s.NextUpdate,
					WarnWithin: officialsListWarning})
			}
		}
	}
	return out
}

// partnerSide serves the partner-facing listener: documents and status
// messages, and this country's published list of officials.
func (n *Node) partnerSide() http.Handler {
	if n.published == nil {
		return n.Inbound
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == registry.Path {
			n.published.ServeHTTP(w, r)
			return
		}
		n.Inbound.ServeHTTP(w, r)
	})
}

// partnerHealth is the health tracker's view, for the console.
func (n *Node) partnerHealth() []console.PartnerHealth {
	var out []console.PartnerHealth
	for _, s := range n.health.All() {
		out = append(out, console.PartnerHealth{Partner: s.Partner, State: string(s.State), Since: s.Since,
			LastSuccess: s.LastSuccess, LastFailure: s.LastFailure, LastError: s.LastError,
			ConsecutiveFailures: s.ConsecutiveFailures, Latency: s.AvgLatency})
	}
	return out
}

// watch adds a certificate to what is watched for expiry (metrics gauge,
// console, notifications).
func (n *Node) watch(kind string, c *x509.Certificate) {
	n.metrics.WatchCertificate(kind, c)
	n.expiring = append(n.expiring, console.CertificateExpiry(kind, c)...)
	n.watched = append(n.watched, notify.Cert{Kind: kind, Certificate: c})
}

// ready reports whether the node can do its work: the store takes writes,
// every signing key is loaded and its certificate current. (Rule files and
// trust material were checked when the node was built.)
func (n *Node) ready(w http.ResponseWriter, r *http.Request) {
	checks := map[string]string{}
	ok := true
	if err := n.Store.Ping(r.Context()); err != nil {
		checks["store"], ok = "not writable: "+err.Error(), false
	} else {
		checks["store"] = "ok"
	}
	for doc, s := range n.signers {
		c := s.Certificate()
		switch {
		case time.Now().After(c.NotAfter):
			checks["signing:"+doc], ok = "certificate expired at "+c.NotAfter.UTC().Format(time.RFC3339), false
		default:
			checks["signing:"+doc] = "ok"
		}
	}
	// A node with a bad rule file never starts, and a bad change is not
	// put in force: the rules in force are always good, so this reports
	// (not fails on) a change that did not load.
	checks["rules"] = n.rules.status()
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	n.readyBody(w, r, status, ok, checks)
}

// Run starts the node and serves until ctx is cancelled, then shuts down
// gracefully, giving in-flight documents up to grace to finish.
func (n *Node) Run(ctx context.Context, grace time.Duration) error {
	if err := n.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	n.logger.Info("shutting down", "grace", grace)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	return n.Shutdown(sctx)
}
