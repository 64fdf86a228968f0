// Package console is the operators' web console of a node: incoming,
// outgoing and incomplete documents with their timelines, partner health,
// certificate expiry, and the contingency actions (resend, pause and
// resume a partner, hand a document over to paper, withdraw, ask for a
// replacement), each recorded in the audit trail under the operator's name.
//
// Pages are rendered on the server from templates embedded in the binary
// and use no JavaScript at all, so the Content-Security-Policy can forbid
// scripts outright. Users log in with a name and a bcrypt-hashed password
// from the configuration; a viewer may look, an operator may also act.
// Every form carries a per-session CSRF token, cross-origin POSTs are
// refused (net/http.CrossOriginProtection), pages may not be framed, and
// sessions end after a period of inactivity and after an absolute maximum.
package console

import (
	"context"
	"crypto/x509"
	"embed"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"

	"github.com/vucelink/vucelink/access"
	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/ops"
	"github.com/vucelink/vucelink/store"
)

// Prefix is where the console is mounted.
const Prefix = "/console/"

//go:embed templates/*.html static/*
var assets embed.FS

// Store is what the console reads.
type Store interface {
	Get(ctx context.Context, trackingID string) (*store.Document, error)
	History(ctx context.Context, trackingID string) ([]store.Transition, error)
	List(ctx context.Context, f store.Filter) ([]*store.Document, error)
	Counts(ctx context.Context) (map[string]map[lifecycle.State]int, error)
	Paused(ctx context.Context) (map[string]bool, error)
	Backlog(ctx context.Context) (map[string]map[lifecycle.State]int, error)
	PartnerEvents(ctx context.Context, partner string) ([]store.PartnerEvent, error)
}

// Role is what a user may do.
type Role string

const (
	Viewer   Role = "viewer"   // reads everything
	Operator Role = "operator" // reads and acts
)

// User is one console account.
type User struct {
	Name string
	Role Role
	// PasswordHash is a bcrypt hash (`vucelink hash-password` makes one).
	PasswordHash []byte
}

// PartnerHealth is how deliveries to a partner are going.
type PartnerHealth struct {
	Partner             string
	State               string // unknown, reachable, intermittent, unreachable
	Since               time.Time
	LastSuccess         time.Time
	LastFailure         time.Time
	LastError           string
	ConsecutiveFailures int
	Latency             time.Duration
}

// Expiring is a certificate (or a signed list) the node depends on.
type Expiring struct {
	Kind     string // "signing", "tls-server", "partner-ca:MX", "officials-list:MX", …
	Subject  string
	NotAfter time.Time
	// WarnWithin overrides Options.ExpiryWarning for this entry (lists are
	// republished often, so only a list close to its end is news).
	WarnWithin time.Duration
}

// CertificateExpiry lists x509 certificates as Expiring entries.
func CertificateExpiry(kind string, certs ...*x509.Certificate) []Expiring {
	out := make([]Expiring, 0, len(certs))
	for _, c := range certs {
		out = append(out, Expiring{Kind: kind, Subject: c.Subject.String(), NotAfter: c.NotAfter})
	}
	return out
}

// Options configure a console.
type Options struct {
	Country  string // this node's country
	Partners []string
	Users    []User
	Store    Store
	Ops      *ops.Service
	// Health reports partner health; nil shows "unknown".
	Health func() []PartnerHealth
	// Expiry lists what expires; nil shows nothing.
	Expiry func() []Expiring
	// ExpiryWarning: entries expiring sooner are highlighted (default 30 days).
	ExpiryWarning time.Duration
	// SessionIdle ends a session after this long without a request
	// (default 15 minutes); SessionMax after this long in any case
	// (default 8 hours).
	SessionIdle, SessionMax time.Duration
	// Sessions keeps the sessions: the node's store, so that any replica
	// serves a logged-in operator. Nil keeps them in this process's memory
	// (tests; one process only).
	Sessions SessionStore
	// InsecureCookies drops the Secure flag, for a console served over
	// plain HTTP on loopback (the demo, tests). Production serves it
	// behind TLS and leaves this false.
	InsecureCookies bool
	// Traffic feeds the charts; nil uses Store if it has the method, and
	// shows no charts otherwise.
	Traffic store.TrafficSource
	// PaperCode, if set, is the verification code printed on a document's
	// paper copy (a QR code and the URL it holds).
	PaperCode func(ctx context.Context, d *store.Document) (*PaperCode, error)
	// Evidence, if set, writes a document's evidence bundle (operators
	// download it from the document's page).
	Evidence func(ctx context.Context, trackingID, actor string, w io.Writer) error
	// Hub, if set, tells a document's envelope at the IPPC ePhyto Hub and
	// the hub's tracking state of it (nil: not through the hub).
	Hub    func(ctx context.Context, d *store.Document) (envelope, status string, err error)
	Logger *slog.Logger
	Now    func() time.Time
	// ClientAddr says whose request a login attempt is (access.ClientAddr.Of,
	// which knows the trusted proxies in front); nil: the socket peer.
	ClientAddr func(*http.Request) string
}

// PaperCode is what the printable page shows so a paper copy can be
// checked: a QR code (inline SVG) and the URL of the public page it holds.
type PaperCode struct {
	SVG template.HTML
	URL string
}

// Console serves the pages.
type Console struct {
	opts     Options
	pages    map[string]*template.Template
	mux      *http.ServeMux
	sessions *sessions
	logins   *limiter
	bundle   *i18n.Bundle
	handler  http.Handler
}

// New builds a console.
func New(o Options) (*Console, error) {
	if o.ClientAddr == nil {
		o.ClientAddr = (*access.ClientAddr)(nil).Of // the socket peer
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ExpiryWarning <= 0 {
		o.ExpiryWarning = 30 * 24 * time.Hour
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = 15 * time.Minute
	}
	if o.SessionMax <= 0 {
		o.SessionMax = 8 * time.Hour
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	bundle, err := loadBundle()
	if err != nil {
		return nil, err
	}
	if o.Traffic == nil {
		o.Traffic, _ = o.Store.(store.TrafficSource)
	}
	c := &Console{opts: o, pages: pages, mux: http.NewServeMux(), bundle: bundle,
		sessions: newSessions(o.Sessions, o.SessionIdle, o.SessionMax, o.Now),
		logins:   newLimiter(10, time.Minute, o.Now, o.Sessions, o.Logger)}
	c.routes()
	// Browsers say where a request comes from (Sec-Fetch-Site, Origin);
	// a cross-origin POST is refused before any handler runs. The CSRF
	// token in every form covers browsers that send neither.
	cop := http.NewCrossOriginProtection()
	c.handler = securityHeaders(cop.Handler(c.mux))
	return c, nil
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.handler.ServeHTTP(w, r) }

func (c *Console) routes() {
	static, _ := fs.Sub(assets, "static")
	c.mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	c.mux.HandleFunc("GET /console/language", c.setLanguage)
	c.mux.HandleFunc("GET /console/login", c.loginPage)
	c.mux.HandleFunc("POST /console/login", c.login)
	c.mux.HandleFunc("POST /console/logout", c.authed(Viewer, c.logout))
	c.mux.HandleFunc("GET /console/{$}", c.authed(Viewer, c.overview))
	c.mux.HandleFunc("GET /console/documents", c.authed(Viewer, c.documents))
	c.mux.HandleFunc("GET /console/documents/{id}", c.authed(Viewer, c.document))
	c.mux.HandleFunc("GET /console/documents/{id}/print", c.authed(Viewer, c.print))
	c.mux.HandleFunc("POST /console/documents/{id}/{action}", c.authed(Operator, c.documentAction))
	c.mux.HandleFunc("GET /console/documents/{id}/evidence", c.authed(Operator, c.evidence))
	c.mux.HandleFunc("GET /console/traffic", c.authed(Viewer, c.trafficPage))
	c.mux.HandleFunc("GET /console/partners", c.authed(Viewer, c.partners))
	c.mux.HandleFunc("POST /console/partners/{cc}/{action}", c.authed(Operator, c.partnerAction))
	c.mux.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, c.tr(r).T("error.noPage"), http.StatusNotFound)
	})
}

// securityHeaders forbids framing (clickjacking), scripts and inline
// styles, sniffing and caching of pages that show trade data.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if r.URL.Path != "/console/static/style.css" {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// SetPaper sets the paper code and evidence hooks (Options.PaperCode,
// Options.Evidence) of a console built before they could be: call it
// before the console serves.
func (c *Console) SetPaper(code func(ctx context.Context, d *store.Document) (*PaperCode, error),
	evidence func(ctx context.Context, trackingID, actor string, w io.Writer) error) {
	c.opts.PaperCode, c.opts.Evidence = code, evidence
}
