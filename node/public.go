package node

// The public side of a node: the verification page paper copies name in
// their QR code (listen: public.listen), the codes printed on paper, and
// the evidence bundles operators export. The summaries on paper and the
// bundles' manifests are signed with the document type's signing key —
// the official whose CA the destination already trusts for the electronic
// document — so checking a paper or a bundle needs no new trust anchor.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/vucelink/vucelink/access"
	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/console"
	"github.com/vucelink/vucelink/evidence"
	"github.com/vucelink/vucelink/paper"
	"github.com/vucelink/vucelink/store"
)

// paperSide is what node/public.go adds to a node.
type paperSide struct {
	public   http.Handler // nil until attachPaper
	cert     *keyPair     // public.tls, nil without
	printer  *paper.Printer
	exporter *evidence.Exporter
	mu       sync.Mutex
	keys     map[string]*reloading[paper.Signer] // by signing key file
}

// publicSide serves the public listener: the verification page, nothing
// else (no health checks, no metrics: it faces anyone).
func (n *Node) publicSide() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.paper == nil || n.paper.public == nil {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		n.paper.public.ServeHTTP(w, r)
	})
}

// publicTLS is public.tls, or nil for plain HTTP (a proxy in front
// terminates TLS).
func (n *Node) publicTLS() *tls.Config {
	t := n.Config.Public.TLS
	if !t.Enabled() {
		return nil
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		if n.paper == nil || n.paper.cert == nil {
			return nil, errors.New("public.tls: the certificate did not load (see the log)")
		}
		return n.paper.cert.get()
	}}
}

// attachPaper builds the paper codes, the evidence exporter and the
// public page once the store is open, and hands them to the console and
// the API. Problems are logged, not fatal: the node's work goes on, and
// a paper printed meanwhile says it carries no code.
func (n *Node) attachPaper() {
	cfg := n.Config
	p := &paperSide{keys: map[string]*reloading[paper.Signer]{}}
	if t := cfg.Public.TLS; t.Enabled() {
		kp, err := loadKeyPair(t.Cert, t.Key, n.logger)
		if err != nil {
			n.logger.Error("public.tls: the public page cannot serve HTTPS", "error", err)
		}
		p.cert = kp
	}
	p.exporter = &evidence.Exporter{Country: cfg.Node.Country, Source: n.Store, Signer: n.paperSigner}
	if cfg.Public.Enabled() {
		p.printer = &paper.Printer{Country: cfg.Node.Country, BaseURL: cfg.Public.URL, Signer: n.paperSigner}
		// Validated with the configuration; nil trusts no proxy.
		clients, err := access.NewClientAddr("public.trusted_proxies", cfg.Public.TrustedProxies)
		if err != nil {
			n.logger.Error("public page: every request counts as its socket peer", "error", err)
		}
		p.public = paper.NewPublic(paper.PublicOptions{Country: cfg.Node.Country, Store: n.Store,
			PerMinute: cfg.Public.RatePerMinute, Burst: cfg.Public.Burst, Total: cfg.Public.TotalPerMinute,
			ClientAddr: clients.Of, Logger: n.logger.With("component", "public")})
	}
	n.paper = p
	if n.api != nil {
		n.api.Evidence = p.exporter
	}
	if n.console != nil {
		var code func(context.Context, *store.Document) (*console.PaperCode, error)
		if p.printer != nil {
			code = func(_ context.Context, d *store.Document) (*console.PaperCode, error) {
				text, svg, err := p.printer.Print(d)
				if err != nil {
					return nil, err
				}
				url, _, _ := strings.Cut(text, "#")
				return &console.PaperCode{SVG: template.HTML(svg), URL: url}, nil // SVG: built by paper.SVG, text escaped
			}
		}
		n.console.SetPaper(code, func(ctx context.Context, id, actor string, w io.Writer) error {
			return p.exporter.Export(ctx, id, actor, w)
		})
	}
}

// paperSigner is the key that signs paper summaries and evidence
// manifests of docType: its official signing key, or (a type this node
// only receives) the first official's.
func (n *Node) paperSigner(docType string) (paper.Signer, error) {
	s, ok := n.Config.SigningFor(docType)
	if !ok || s.Role == "exporter" {
		ok = false
		for _, e := range n.Config.Signing {
			if e.Role != "exporter" {
				s, ok = e, true
				break
			}
		}
	}
	if !ok {
		return paper.Signer{}, errors.New("no official signing key is configured (signing)")
	}
	if certs.IsPKCS12(s.Key) {
		return paper.Signer{}, fmt.Errorf("%s: paper summaries and evidence manifests need a PEM key (PKCS#12 is read for XML signatures only)", s.Key)
	}
	n.paper.mu.Lock()
	defer n.paper.mu.Unlock()
	k, ok := n.paper.keys[s.Key]
	if !ok {
		var err error
		k, err = newReloading("paper signing key", n.logger, func() (paper.Signer, error) {
			key, err := certs.LoadPrivateKey(s.Key)
			if err != nil {
				return paper.Signer{}, err
			}
			chain, err := certs.LoadCertificates(s.Cert)
			if err != nil {
				return paper.Signer{}, err
			}
			// The whole file, as the XML signature's KeyInfo has it: the
			// code carries the intermediates while they fit (paper.Printer).
			return paper.Signer{Key: key, Chain: chain}, nil
		}, s.Key, s.Cert)
		if err != nil {
			return paper.Signer{}, err
		}
		n.paper.keys[s.Key] = k
	}
	return k.get()
}
