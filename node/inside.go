package node

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"github.com/vucelink/vucelink/access"
	"github.com/vucelink/vucelink/api"
	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/config"
	"github.com/vucelink/vucelink/console"
	"github.com/vucelink/vucelink/proxy"
)

// The inside of a node is two listeners: listen.legacy, where the legacy
// VUCE posts documents on its routes (and nothing else), and listen.admin,
// where operators and their tools reach the console, the API and
// /metrics. Every caller of either authenticates: API clients with a
// token or a client certificate (package access), console users with
// their password, the legacy VUCE as each route requires (routes[].auth).

// buildInside sets up who may call the inside: the API and metrics
// clients, each route's guard, and the inside listeners' TLS.
func (n *Node) buildInside(p *problems) {
	cfg := n.Config
	clients := make([]access.Client, len(cfg.Access.Clients))
	for i, c := range cfg.Access.Clients {
		clients[i] = access.Client{Name: c.Name, Role: access.Role(c.Role), TokenHash: c.TokenHash, CertificateSubject: c.CertificateSubject}
	}
	var err error
	if n.access, err = access.New(clients); err != nil {
		p.addErr(err)
	}
	n.guards = guards(cfg)
	for _, l := range []struct {
		key string
		t   *config.ListenerTLS
		dst **tls.Config
	}{{"tls.admin", cfg.TLS.Admin, &n.adminTLS}, {"tls.legacy", cfg.TLS.Legacy, &n.legacyTLS}} {
		c, watched, err := insideTLS(l.key, l.t, n.logger)
		if err != nil {
			p.addErr(err)
			continue
		}
		*l.dst = c
		for _, w := range watched {
			n.watch(l.key, w)
		}
	}
}

// routeGuard is what one route asks of the legacy VUCE.
type routeGuard struct {
	route   string
	clients []string // access client names (role legacy) the route accepts
	basic   *access.Basic
}

// guards builds each route's guard from the configuration; a route
// without auth has none (nil).
func guards(cfg *config.Config) map[string]*routeGuard {
	out := map[string]*routeGuard{}
	for _, r := range cfg.Routes {
		if !r.Auth.Required() {
			continue
		}
		g := &routeGuard{route: r.Name, clients: r.Auth.Clients}
		if b := r.Auth.Basic; b != nil {
			g.basic = &access.Basic{Username: b.Username, PasswordHash: []byte(b.PasswordHash)}
		}
		out[r.Name] = g
	}
	return out
}

// check authenticates the legacy VUCE on g's route: a token or
// certificate of one of its clients, or its basic credentials (in
// Authorization, or in Proxy-Authorization when it comes through the
// forward proxy with credentials in HTTP_PROXY).
func (g *routeGuard) check(auth *access.Authenticator, r *http.Request) (access.Identity, error) {
	if g.basic != nil {
		for _, h := range []string{"Authorization", "Proxy-Authorization"} {
			if user, pass, ok := parseBasic(r.Header.Get(h)); ok {
				if !g.basic.Check(user, pass) {
					return access.Identity{}, fmt.Errorf("route %s: wrong username or password", g.route)
				}
				return access.Identity{Name: user, Role: access.Legacy, Method: "basic"}, nil
			}
		}
	}
	if len(g.clients) > 0 {
		id, err := auth.Authenticate(r)
		if err != nil {
			return access.Identity{}, fmt.Errorf("route %s: %w", g.route, err)
		}
		if !slices.Contains(g.clients, id.Name) {
			return access.Identity{}, fmt.Errorf("route %s: client %q is not one this route accepts", g.route, id.Name)
		}
		return id, nil
	}
	return access.Identity{}, fmt.Errorf("route %s: basic credentials are required", g.route)
}

func parseBasic(h string) (user, pass string, ok bool) {
	r := http.Request{Header: http.Header{"Authorization": {h}}}
	return r.BasicAuth()
}

// refuse answers a failed route authentication.
// Through the forward proxy it is 407 with Proxy-Authenticate, so that a
// client with credentials in HTTP_PROXY sends them.
func (g *routeGuard) refuse(w http.ResponseWriter, err error, viaProxy bool) {
	header, status := "WWW-Authenticate", http.StatusUnauthorized
	if viaProxy {
		header, status = "Proxy-Authenticate", http.StatusProxyAuthRequired
	}
	if g.basic != nil {
		w.Header().Set(header, `Basic realm="vucelink `+g.route+`", charset="UTF-8"`)
	} else {
		w.Header().Set(header, `Bearer realm="vucelink"`)
	}
	access.Problem(w, status, err.Error())
}

// legacySide serves listen.legacy: the configured routes, each behind its
// guard, and /healthz for a load balancer. Nothing else: the API, the
// console and the metrics are on the admin listener.
func (n *Node) legacySide() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" && r.Method == http.MethodGet {
			healthz(w)
			return
		}
		route := n.Outbound.Route(r.Method, r.URL.Path)
		if route == "" {
			// The outbound handler says what routes there are.
			n.Outbound.ServeHTTP(w, r)
			return
		}
		if !n.guardRoute(w, r, route, false) {
			return
		}
		n.Outbound.ServeHTTP(w, r)
	})
}

// forwardSide is the forward proxy with each route's guard in front.
func (n *Node) forwardSide() http.Handler {
	proxy := n.Outbound.ForwardProxy()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if route := n.Outbound.ForwardRoute(r.URL.Host, r.Method, r.URL.Path); route != "" && !n.guardRoute(w, r, route, true) {
			return
		}
		proxy.ServeHTTP(w, r)
	})
}

// guardRoute authenticates the caller of a route, answering 401 if it
// cannot; it reports whether to go on.
func (n *Node) guardRoute(w http.ResponseWriter, r *http.Request, route string, viaProxy bool) bool {
	g := n.guards[route]
	if g == nil {
		return true
	}
	id, err := g.check(n.access, r)
	if err != nil {
		n.logger.Warn("legacy route authentication failed", "route", route, "source", r.RemoteAddr, "error", err)
		g.refuse(w, err, viaProxy)
		return false
	}
	n.logger.Debug("legacy route authenticated", "route", route, "client", id.Name, "method", id.Method)
	return true
}

// adminSide serves listen.admin.
func (n *Node) adminSide() http.Handler {
	metrics := n.access.Protect(n.metrics.Handler(), readersOnly)
	mux := http.NewServeMux()
	// n.api is built when the store opens, after this handler.
	mux.Handle(api.Prefix, n.access.Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.api.ServeHTTP(w, r)
	}), api.Permit))
	mux.Handle("/metrics", metrics)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { healthz(w) })
	mux.HandleFunc("GET /readyz", n.ready)
	mux.HandleFunc("/console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, console.Prefix, http.StatusMovedPermanently)
	})
	mux.Handle(console.Prefix, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.console == nil {
			access.Problem(w, http.StatusNotFound, "the console is off: no console.users are configured")
			return
		}
		n.console.ServeHTTP(w, r)
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		access.Problem(w, http.StatusNotFound, fmt.Sprintf("nothing at %s on the admin listener (the console is at %s, the API at %s, metrics at /metrics)", r.URL.Path, console.Prefix, api.Prefix))
	})
	return mux
}

// readersOnly lets viewers and operators read metrics; the legacy VUCE's
// credentials are for its routes and status reports.
func readersOnly(id access.Identity, r *http.Request) error {
	if id.Role == access.Viewer || id.Role == access.Operator {
		return nil
	}
	return fmt.Errorf("%w: metrics are for viewers and operators", access.ErrForbidden)
}

func healthz(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain")
	w.Write([]byte("ok\n"))
}

// readyBody writes /readyz's answer: to an authenticated viewer or
// operator every check with its detail (which rule file failed where);
// to anyone else — a probe — only whether the node is ready.
func (n *Node) readyBody(w http.ResponseWriter, r *http.Request, status int, ok bool, checks map[string]string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body := map[string]any{"ready": ok}
	if id, err := n.access.Authenticate(r); err == nil && readersOnly(id, r) == nil {
		body["checks"] = checks
	}
	json.NewEncoder(w).Encode(body)
}

// insideTLS is the TLS configuration of an inside listener (nil: plain
// HTTP). Client certificates are asked for, and verified against
// client_ca when given; a request without one authenticates otherwise.
func insideTLS(key string, t *config.ListenerTLS, logger *slog.Logger) (*tls.Config, []*x509.Certificate, error) {
	if !t.Enabled() {
		return nil, nil, nil
	}
	kp, err := loadKeyPair(t.Cert, t.Key, logger)
	if err != nil {
		return nil, nil, fmt.Errorf("%s.cert: %w", key, err)
	}
	c := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return kp.get() },
	}
	var watched []*x509.Certificate
	if cur, err := kp.get(); err == nil && cur.Leaf != nil {
		watched = append(watched, cur.Leaf)
	}
	if len(t.ClientCA) > 0 {
		cas, err := certs.LoadCertificates(t.ClientCA...)
		if err != nil {
			return nil, nil, fmt.Errorf("%s.client_ca: %w", key, err)
		}
		pool := x509.NewCertPool()
		for _, ca := range cas {
			pool.AddCert(ca)
		}
		c.ClientCAs, c.ClientAuth = pool, tls.VerifyClientCertIfGiven
		watched = append(watched, cas...)
	}
	return c, watched, nil
}

// firstOfficial is the signer of receipts: the first configured official
// (never an exporter's key), or nil if there is none — a nil interface,
// not a typed nil pointer, which would pass `!= nil` and panic on the
// first verified document.
func firstOfficial(cfg *config.Config, signers map[string]*signer) proxy.Signer {
	for _, s := range cfg.Signing {
		if s.Role == "exporter" {
			continue
		}
		for _, d := range s.Documents {
			if sg := signers[d]; sg != nil {
				return sg
			}
		}
	}
	return nil
}
