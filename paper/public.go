package paper

import (
	"context"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/beevik/etree"
	"golang.org/x/time/rate"

	"github.com/vucelink/vucelink/access"
	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/statusmsg"
	"github.com/vucelink/vucelink/store"
	"github.com/vucelink/vucelink/xmlsafe"
)

// Store is what the public page reads.
type Store interface {
	Get(ctx context.Context, trackingID string) (*store.Document, error)
	History(ctx context.Context, trackingID string) ([]store.Transition, error)
}

// PublicOptions configure the public verification page.
type PublicOptions struct {
	Country string // this node's country
	Store   Store
	// PerMinute and Burst limit each client address (default 30 a
	// minute, bursts of 10); Total limits everyone together (default 600
	// a minute), so a crowd of addresses cannot keep the store busy.
	PerMinute, Burst, Total int
	// ClientAddr says whose request it is (access.ClientAddr.Of, which
	// knows the trusted proxies in front); nil: the socket peer.
	ClientAddr func(*http.Request) string
	Logger     *slog.Logger
	Now        func() time.Time
}

// Public serves the public verification page: GET /p/{trackingID}/{key}
// and nothing else. No login: it faces anyone holding the paper. It
// shows what the paper shows plus the document's current status, only
// for documents this node issued, and only to a caller who knows the
// paper's key (the digest's first 128 bits).
type Public struct {
	o       PublicOptions
	mu      sync.Mutex
	clients map[string]*client
	total   *rate.Limiter
}

type client struct {
	lim  *rate.Limiter
	seen time.Time
}

// maxClients bounds the limiter table; past it, the longest idle
// entries go (an idle client's bucket is full again anyway).
const maxClients = 10000

// NewPublic builds the public page.
func NewPublic(o PublicOptions) *Public {
	if o.PerMinute <= 0 {
		o.PerMinute = 30
	}
	if o.Burst <= 0 {
		o.Burst = 10
	}
	if o.Total <= 0 {
		o.Total = 600
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ClientAddr == nil {
		o.ClientAddr = (*access.ClientAddr)(nil).Of // the socket peer
	}
	return &Public{o: o, clients: map[string]*client{},
		total: rate.NewLimiter(rate.Limit(float64(o.Total)/60), max(o.Total/10, o.Burst))}
}

// allow takes a token for the caller's address (and from the total).
func (p *Public) allow(r *http.Request) bool {
	host := p.o.ClientAddr(r)
	now := p.o.Now()
	p.mu.Lock()
	c, ok := p.clients[host]
	if !ok {
		if len(p.clients) >= maxClients {
			p.evict(now)
		}
		c = &client{lim: rate.NewLimiter(rate.Limit(float64(p.o.PerMinute)/60), p.o.Burst)}
		p.clients[host] = c
	}
	c.seen = now
	ok = c.lim.AllowN(now, 1)
	p.mu.Unlock()
	return ok && p.total.AllowN(now, 1)
}

func (p *Public) evict(now time.Time) {
	idle := time.Duration(float64(p.o.Burst)/float64(p.o.PerMinute)*float64(time.Minute)) + time.Second
	for k, c := range p.clients {
		if now.Sub(c.seen) > idle {
			delete(p.clients, k)
		}
	}
	if len(p.clients) >= maxClients { // all busy: start over rather than grow
		clear(p.clients)
	}
}

func (p *Public) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store") // the status changes
	if !p.allow(r) {
		h.Set("Retry-After", "60")
		http.Error(w, "Demasiadas consultas; espere un minuto. / Too many requests; wait a minute.", http.StatusTooManyRequests)
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if (r.Method != http.MethodGet && r.Method != http.MethodHead) || len(parts) != 3 || parts[0] != "p" || r.URL.RawQuery != "" {
		notFound(w)
		return
	}
	p.page(w, r, parts[1], parts[2])
}

func notFound(w http.ResponseWriter) {
	http.Error(w, "No existe. / Not found.", http.StatusNotFound)
}

// Status is a document's current status as the public page says it.
type Status struct {
	Code       string // valid, used, withdrawn, replaced, replacement-requested, refused
	ReplacedBy string
}

// StatusOf reads the public status from a document's state and history.
func StatusOf(d *store.Document, hist []store.Transition) Status {
	switch d.State {
	case lifecycle.Used:
		return Status{Code: "used"}
	case lifecycle.Withdrawn:
		return Status{Code: "withdrawn"}
	case lifecycle.ReplacementRequested:
		return Status{Code: "replacement-requested"}
	case lifecycle.ReceivedWithErrors:
		return Status{Code: "refused"}
	case lifecycle.Replaced:
		s := Status{Code: "replaced"}
		for i := len(hist) - 1; i >= 0; i-- {
			if hist[i].To == lifecycle.Replaced {
				r := strings.TrimPrefix(hist[i].Reason, "replaced by ")
				s.ReplacedBy, _, _ = strings.Cut(r, ":")
				break
			}
		}
		return s
	}
	return Status{Code: "valid"}
}

// Facts are what the public page shows: the paper's facts and status.
type Facts struct {
	Summary
	Status Status
}

// SummaryOf is what the paper of d says.
func SummaryOf(country string, d *store.Document) (*Summary, error) {
	dg, err := DigestBytes(d.Digest)
	if err != nil {
		return nil, err
	}
	official := ""
	if c, err := SignerOf(d.Body); err == nil {
		official = c.Subject.String()
	}
	return &Summary{Issuer: country, Destination: d.Partner, Type: d.Type, DocumentID: d.DocumentID,
		TrackingID: d.TrackingID, Official: official, Issued: d.Created.Unix(), Digest: dg}, nil
}

// SignerOf is the certificate of a signed document's last signature in
// document order: the only one of an enveloped signature, the certifying
// official's on a certificate of origin (which follows the exporter's).
func SignerOf(body []byte) (*x509.Certificate, error) {
	doc, err := xmlsafe.Parse(body, xmlsafe.Limits{})
	if err != nil {
		return nil, err
	}
	var last *etree.Element
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		for _, c := range e.ChildElements() {
			if c.Tag == "X509Certificate" {
				if p := c.Parent(); p != nil && p.Tag == "X509Data" {
					if last == nil || !sameSignature(last, c) {
						last = c
					}
				}
			}
			walk(c)
		}
	}
	walk(doc.Root())
	if last == nil {
		return nil, errors.New("the document carries no signing certificate")
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(last.Text()), ""))
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// sameSignature: a later X509Certificate of the same X509Data is a chain
// certificate, not a new signer.
func sameSignature(a, b *etree.Element) bool { return a.Parent() == b.Parent() }

func (p *Public) page(w http.ResponseWriter, r *http.Request, trackingID, key string) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	d, err := p.o.Store.Get(ctx, trackingID)
	// Only documents this node issued, never a status message or an
	// unverified arrival, and only with the paper's key: anything else
	// is the same "not found", so the page tells nothing about what
	// exists.
	if err != nil || d.Direction != store.Outbound || d.Type == statusmsg.Type ||
		strings.HasPrefix(d.DocumentID, store.UnverifiedPrefix) ||
		subtle.ConstantTimeCompare([]byte(Key(d.Digest)), []byte(key)) != 1 || len(key) != 32 {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			p.o.Logger.Error("public page: store", "error", err)
			http.Error(w, "Error del nodo; intente más tarde. / Node error; try later.", http.StatusServiceUnavailable)
			return
		}
		notFound(w)
		return
	}
	hist, err := p.o.Store.History(ctx, trackingID)
	if err != nil {
		p.o.Logger.Error("public page: history", "tracking_id", trackingID, "error", err)
		http.Error(w, "Error del nodo; intente más tarde. / Node error; try later.", http.StatusServiceUnavailable)
		return
	}
	sum, err := SummaryOf(p.o.Country, d)
	if err != nil {
		p.o.Logger.Error("public page: summary", "tracking_id", trackingID, "error", err)
		notFound(w)
		return
	}
	f := Facts{Summary: *sum, Status: StatusOf(d, hist)}
	p.o.Logger.Info("public page: consulted", "tracking_id", trackingID, "status", f.Status.Code)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := publicPage.Execute(w, f); err != nil {
		p.o.Logger.Error("public page: render", "error", err)
	}
}

var statusText = map[string][2]string{
	"valid":                 {"VIGENTE", "VALID"},
	"used":                  {"UTILIZADO", "USED"},
	"withdrawn":             {"RETIRADO por el emisor: no tiene validez", "WITHDRAWN by the issuer: not valid"},
	"replaced":              {"REEMPLAZADO", "REPLACED"},
	"replacement-requested": {"VIGENTE, con reemplazo solicitado", "VALID, replacement requested"},
	"refused":               {"RECHAZADO por el nodo de destino", "REFUSED by the destination's node"},
}

var publicPage = template.Must(template.New("public").Funcs(template.FuncMap{
	"es":   func(code string) string { return statusText[code][0] },
	"en":   func(code string) string { return statusText[code][1] },
	"date": func(s Summary) string { return s.IssuedAt().Format("2006-01-02 15:04 UTC") },
	"n":    strconv.Itoa,
}).Parse(`<!doctype html>
<html lang="es">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.DocumentID}} · {{es .Status.Code}}</title></head>
<body>
<main>
<h1 id="status" data-status="{{.Status.Code}}">{{es .Status.Code}}{{with .Status.ReplacedBy}} por {{.}}{{end}} <span lang="en">/ {{en .Status.Code}}{{with .Status.ReplacedBy}} by {{.}}{{end}}</span></h1>
<p>Verificación del nodo vucelink de {{.Issuer}}. <span lang="en">Checked by the vucelink node of {{.Issuer}}.</span></p>
<dl>
<dt>Número <span lang="en">/ Number</span></dt><dd id="number">{{.DocumentID}}</dd>
<dt>Tipo <span lang="en">/ Type</span></dt><dd>{{.Type}}</dd>
<dt>Emisor <span lang="en">/ Issuer</span></dt><dd>{{.Issuer}}</dd>
<dt>Destino <span lang="en">/ Destination</span></dt><dd>{{.Destination}}</dd>
<dt>Firmado por <span lang="en">/ Signed by</span></dt><dd>{{.Official}}</dd>
<dt>Fecha de emisión <span lang="en">/ Issued</span></dt><dd>{{date .Summary}}</dd>
<dt>Seguimiento <span lang="en">/ Tracking ID</span></dt><dd>{{.TrackingID}}</dd>
<dt>Resumen criptográfico del documento firmado <span lang="en">/ Digest of the signed document</span></dt><dd><code>{{.DigestHex}}</code></dd>
</dl>
<p>Compare estos datos con el papel. <span lang="en">Compare these with the paper.</span></p>
</main>
</body>
</html>
`))
