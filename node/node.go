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
	engine     signingEngine // where the signing keys' RSA operations run
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
// Each concern is assembled by its own function — trust.go: the node's
// TLS identity, its signing officials, its exporters' and partners'
// trust; routes.go: the document types, the outbound routes and inbound
// targets, the proxies; inside.go: who may call the inside; hub.go: the
// ePhyto hub — and every problem found is reported together, each with
// its configuration key.
func New(cfg *config.Config, opts Options) (*Node, error) {
	n := newNode(cfg, opts)
	var p problems
	specs := n.documents(&p)
	id := n.transportIdentity(&p)
	keys := n.signingOfficials(&p)
	limits := xmlsafe.Limits{MaxBytes: cfg.Limits.MaxBodyBytes, MaxDepth: cfg.Limits.MaxDepth, MaxElements: cfg.Limits.MaxElements}
	n.buildInside(&p)
	exporterTrust := n.exporterTrust(limits, &p)
	peers, deliveryPartners := n.partners(limits, id.client, &p)
	deliverer := n.deliveryTo(deliveryPartners, id.client, &p)
	routes := n.routes(specs, keys, exporterTrust)
	targets := n.targets(specs)
	if err := n.rules.start(); err != nil {
		p.addErr(err)
	}
	if cfg.Officials.Published != "" {
		n.published = registry.NewHandler(cfg.Officials.Published, n.logger.With("component", "officials"))
	}
	if len(p) > 0 {
		return nil, errors.Join(p...)
	}
	n.deliverer = deliverer
	n.signers = keys.officials
	n.proxies(routes, targets, peers)
	if err := n.setupHub(); err != nil {
		return nil, err
	}
	return n, nil
}

// newNode is a node with its logger, metrics, health tracker, event
// recorder and (empty) rule book: what every other part reports to.
func newNode(cfg *config.Config, opts Options) *Node {
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
	var rulesFS fs.FS = rules.FS
	if cfg.RulesDir != "" {
		rulesFS = os.DirFS(cfg.RulesDir)
	}
	n.rules = &ruleBook{fsys: rulesFS, dir: cfg.RulesDir, logger: logger.With("component", "rules")}
	n.rules.count(mx)
	return n
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
