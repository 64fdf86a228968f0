package config

import (
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Access lists who may call the node's inside: the local API, /metrics,
// and the legacy routes that require a client (routes[].auth.clients).
// Console users log in with passwords (console.users) and have the same
// roles.
type Access struct {
	Clients []AccessClient `yaml:"clients"`
}

// AccessClient is one caller of the inside, identified by a bearer token,
// a TLS client certificate, or either.
type AccessClient struct {
	Name string `yaml:"name"`
	// Role is viewer (reads), operator (reads and acts) or legacy (the
	// legacy VUCE: its routes, and status changes of this node's
	// documents).
	Role string `yaml:"role"`
	// TokenHash is what `vucelink token new` prints beside the token
	// ("sha256:…"); the token itself is never stored.
	TokenHash string `yaml:"token_hash"`
	// CertificateSubject is the subject of the client's TLS certificate
	// (as `openssl x509 -subject -nameopt RFC2253` prints it), which must
	// chain to the listener's client_ca (tls.admin or tls.legacy).
	CertificateSubject string `yaml:"certificate_subject"`
}

// ListenerTLS puts TLS on an inside listener (admin or legacy). With
// ClientCA, clients may also authenticate with certificates issued by it.
type ListenerTLS struct {
	Cert     string   `yaml:"cert"`
	Key      string   `yaml:"key"`
	ClientCA []string `yaml:"client_ca"`
}

// Enabled reports whether TLS is configured.
func (t *ListenerTLS) Enabled() bool { return t != nil && t.Cert != "" }

// RouteAuth is how the legacy VUCE authenticates on a route. Empty: the
// route is open to whoever reaches listen.legacy (only on a segment
// nobody else shares; `vucelink check` warns).
type RouteAuth struct {
	// Clients are access.clients names (role legacy) whose token or
	// certificate this route accepts.
	Clients []string `yaml:"clients"`
	// Basic credentials, for a legacy client that cannot send a token.
	Basic *BasicAuth `yaml:"basic"`
}

// Required reports whether the route asks for credentials.
func (a RouteAuth) Required() bool { return len(a.Clients) > 0 || a.Basic != nil }

// BasicAuth is a username and a bcrypt password hash.
type BasicAuth struct {
	Username     string `yaml:"username"`
	PasswordHash string `yaml:"password_hash"`
}

// Timeouts of the listeners, against slow clients.
type Timeouts struct {
	// ReadHeader bounds the request line and headers.
	ReadHeader time.Duration `yaml:"read_header"`
	// Read bounds a whole request, body included: a body trickled in
	// (slowloris on the body) is cut off after it.
	Read time.Duration `yaml:"read"`
	// Write bounds a response; it must exceed the longest routes[].response.wait.
	Write time.Duration `yaml:"write"`
	// Idle bounds a kept-alive connection between requests.
	Idle time.Duration `yaml:"idle"`
}

func (c *Config) accessDefaults() {
	if c.Listen.Admin == "" {
		c.Listen.Admin = "127.0.0.1:8081"
	}
	t := &c.Listen.Timeouts
	if t.ReadHeader == 0 {
		t.ReadHeader = 10 * time.Second
	}
	if t.Read == 0 {
		t.Read = time.Minute
	}
	if t.Write == 0 {
		t.Write = 2 * time.Minute
	}
	if t.Idle == 0 {
		t.Idle = 2 * time.Minute
	}
	if c.Listen.MaxConnections == 0 {
		c.Listen.MaxConnections = 512
	}
	if c.Limits.MaxElements == 0 {
		c.Limits.MaxElements = 100_000
	}
	if c.Limits.MaxInflightPerPartner == 0 {
		c.Limits.MaxInflightPerPartner = 8
	}
}

// validateAccess checks the inside's listeners, clients and route
// authentication.
func (v *validator) access(c *Config) {
	v.addr("listen.admin", c.Listen.Admin, true)
	if c.Listen.Admin != "" && c.Listen.Admin == c.Listen.Legacy {
		v.addf("listen.admin", "must differ from listen.legacy (the legacy VUCE's listener does not serve the API)")
	}
	for _, l := range []struct {
		key string
		t   *ListenerTLS
	}{{"tls.admin", c.TLS.Admin}, {"tls.legacy", c.TLS.Legacy}} {
		if l.t == nil {
			continue
		}
		v.file(l.key+".cert", l.t.Cert, true)
		v.file(l.key+".key", l.t.Key, true)
		for i, f := range l.t.ClientCA {
			v.file(fmt.Sprintf("%s.client_ca[%d]", l.key, i), f, true)
		}
	}
	if host, _, err := net.SplitHostPort(c.Listen.Admin); err == nil && !c.TLS.Admin.Enabled() && !loopback(host) {
		v.addf("listen.admin", "%s is not a loopback address: give the admin listener TLS (tls.admin) before exposing it", c.Listen.Admin)
	}

	byName := map[string]AccessClient{}
	certClients := false
	for i, cl := range c.Access.Clients {
		k := fmt.Sprintf("access.clients[%d]", i)
		switch {
		case cl.Name == "":
			v.addf(k+".name", "is required")
		case byName[cl.Name].Name != "":
			v.addf(k+".name", "%q is listed twice", cl.Name)
		}
		byName[cl.Name] = cl
		switch cl.Role {
		case "viewer", "operator", "legacy":
		default:
			v.addf(k+".role", "must be viewer, operator or legacy, got %q", cl.Role)
		}
		if cl.TokenHash == "" && cl.CertificateSubject == "" {
			v.addf(k, "give token_hash (from `vucelink token new`) or certificate_subject")
		}
		if cl.TokenHash != "" && !validTokenHash(cl.TokenHash) {
			v.addf(k+".token_hash", `must be "sha256:" and 64 hex digits, as `+"`vucelink token new`"+` prints it`)
		}
		certClients = certClients || cl.CertificateSubject != ""
	}
	if certClients && len(c.TLS.Admin.clientCA()) == 0 && len(c.TLS.Legacy.clientCA()) == 0 {
		v.addf("access.clients", "certificate_subject is used, but neither tls.admin.client_ca nor tls.legacy.client_ca is set")
	}

	for i, r := range c.Routes {
		k := fmt.Sprintf("routes[%d].auth", i)
		for j, name := range r.Auth.Clients {
			cl, ok := byName[name]
			switch {
			case !ok:
				v.addf(fmt.Sprintf("%s.clients[%d]", k, j), "%q is not under access.clients", name)
			case cl.Role != "legacy":
				v.addf(fmt.Sprintf("%s.clients[%d]", k, j), "%q has role %s; a route accepts legacy clients only", name, cl.Role)
			}
		}
		if b := r.Auth.Basic; b != nil {
			if b.Username == "" {
				v.addf(k+".basic.username", "is required")
			}
			if _, err := bcrypt.Cost([]byte(b.PasswordHash)); err != nil {
				v.addf(k+".basic.password_hash", "must be a bcrypt hash (make one with `vucelink hash-password`)")
			}
		}
		if r.Response.Wait >= c.Listen.Timeouts.Write {
			v.addf(fmt.Sprintf("routes[%d].response.wait", i), "%s is not less than listen.timeouts.write (%s): the answer would be cut off; raise listen.timeouts.write", r.Response.Wait, c.Listen.Timeouts.Write)
		}
	}
	t := c.Listen.Timeouts
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"read_header", t.ReadHeader}, {"read", t.Read}, {"write", t.Write}, {"idle", t.Idle}} {
		if d.v < time.Second {
			v.addf("listen.timeouts."+d.key, "must be at least 1s, got %s", d.v)
		}
	}
	if c.Listen.MaxConnections < 1 {
		v.addf("listen.max_connections", "must be at least 1, got %d", c.Listen.MaxConnections)
	}
	if c.Limits.MaxElements < 1000 {
		v.addf("limits.max_elements", "must be at least 1000, got %d", c.Limits.MaxElements)
	}
	if c.Limits.MaxInflightPerPartner < 1 {
		v.addf("limits.max_inflight_per_partner", "must be at least 1, got %d", c.Limits.MaxInflightPerPartner)
	}
}

func (t *ListenerTLS) clientCA() []string {
	if t == nil {
		return nil
	}
	return t.ClientCA
}

func validTokenHash(h string) bool {
	hexSum, ok := strings.CutPrefix(h, "sha256:")
	if !ok || len(hexSum) != 64 {
		return false
	}
	for _, c := range hexSum {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// loopback reports whether host (an IP or a name) is this machine only.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// OpenRoutes names the routes anyone who reaches listen.legacy may use,
// for `vucelink check` to warn about.
func (c *Config) OpenRoutes() []string {
	var out []string
	for _, r := range c.Routes {
		if !r.Auth.Required() {
			out = append(out, r.Name)
		}
	}
	return out
}
