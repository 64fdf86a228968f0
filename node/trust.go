package node

// Trust: who this node is on the wire (its TLS identity), who signs for
// it (its officials, and its exporters for certificates of origin), and
// whom it believes — each partner's CAs, officials (configured, then the
// partner's published list), revocation policy and credentials — for
// what it receives and for the receipts of what it sends.

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"time"

	"github.com/vucelink/vucelink/access"
	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/config"
	"github.com/vucelink/vucelink/delivery"
	"github.com/vucelink/vucelink/proxy"
	"github.com/vucelink/vucelink/registry"
	"github.com/vucelink/vucelink/statusmsg"
	"github.com/vucelink/vucelink/xmlsafe"
)

// problems collects what New finds wrong, each naming its configuration
// key, so that every problem is reported at once.
type problems []error

// add records err under the configuration key it came from.
func (p *problems) add(key string, err error) { *p = append(*p, fmt.Errorf("%s: %w", key, err)) }

// addErr records an error that already names its key.
func (p *problems) addErr(err error) { *p = append(*p, err) }

// identity is the node's TLS material, re-read when the files change.
type identity struct {
	server, client *keyPair
}

// transportIdentity loads the server and client certificates and builds
// the partner-facing listener's TLS configuration.
func (n *Node) transportIdentity(p *problems) identity {
	cfg := n.Config
	serverCert, err := loadKeyPair(cfg.TLS.Cert, cfg.TLS.Key, n.logger)
	if err != nil {
		p.add("tls.cert", err)
	}
	clientCert, err := loadKeyPair(cfg.TLS.ClientCert, cfg.TLS.ClientKey, n.logger)
	if err != nil {
		p.add("tls.client_cert", err)
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
	return identity{server: serverCert, client: clientCert}
}

// signingKeys are the node's signers by document type: its officials
// and, for certificates of origin, the exporter's key (role exporter).
type signingKeys struct {
	officials, exporters map[string]*signer
}

// signingOfficials loads every configured signing key; an expired
// certificate is a problem.
func (n *Node) signingOfficials(p *problems) signingKeys {
	keys := signingKeys{officials: map[string]*signer{}, exporters: map[string]*signer{}}
	engine := n.signingEngine(p)
	n.engine = engine
	for i, s := range n.Config.Signing {
		signer, err := loadSigner(s.Key, s.Cert, engine, n.logger)
		if err != nil {
			p.add(fmt.Sprintf("signing[%d]", i), err)
			continue
		}
		if c := signer.Certificate(); time.Now().After(c.NotAfter) {
			p.add(fmt.Sprintf("signing[%d].cert", i), fmt.Errorf("certificate %q expired at %s", c.Subject, c.NotAfter.UTC().Format(time.RFC3339)))
		}
		if s.Role == "exporter" {
			for _, d := range s.Documents {
				keys.exporters[d] = signer
			}
			n.watch("exporter-signing", signer.Certificate())
			continue
		}
		for _, d := range s.Documents {
			keys.officials[d] = signer
		}
		n.watch("signing", signer.Certificate())
	}
	return keys
}

// exporterTrust is how this country's exporters' own signatures on their
// certificates of origin are checked (exporters.ca) before the legacy
// VUCE's document is signed and sent; nil when none is configured.
func (n *Node) exporterTrust(limits xmlsafe.Limits, p *problems) *certs.CODVerifier {
	e := n.Config.Exporters
	if len(e.CA) == 0 {
		return nil
	}
	cas, err := certs.LoadCertificates(e.CA...)
	if err != nil {
		p.add("exporters.ca", err)
		return nil
	}
	pool := x509.NewCertPool()
	for _, c := range cas {
		pool.AddCert(c)
		n.watch("exporter-ca", c)
	}
	return &certs.CODVerifier{
		Exporters: &certs.Verifier{
			Roots: pool, Limits: limits, AllowSHA1: e.AcceptSHA1,
			Revocation: &certs.Revocation{CRLs: e.Revocation.CRLs}, RevocationPolicy: revocationPolicy(e.Revocation.Policy),
			Warn: func(msg string) { n.logger.Warn("revocation", "exporters", n.Config.Node.Country, "warning", msg) },
		},
		AllowSHA1: e.AcceptSHA1, Limits: limits,
	}
}

func revocationPolicy(p string) certs.Policy {
	if p == "soft-fail" {
		return certs.SoftFail
	}
	return certs.HardFail
}

// partners builds, for each partner, what the inbound side checks of its
// requests (proxy.Peer) and what delivery needs to reach it.
func (n *Node) partners(limits xmlsafe.Limits, clientCert *keyPair, p *problems) (map[string]*proxy.Peer, map[string]delivery.Partner) {
	peers := map[string]*proxy.Peer{}
	deliveryPartners := map[string]delivery.Partner{}
	for cc, pc := range n.Config.Partners {
		peer := n.peer(cc, pc, limits, clientCert, p)
		if peer == nil {
			continue
		}
		peers[cc] = peer
		deliveryPartners[cc] = delivery.Partner{
			URL: pc.URL, RootCAs: peer.ClientCAs,
			Username: pc.OutboundAuth.Username, Password: pc.OutboundAuth.Password,
			// Receipts come signed by any of the partner's officials.
			Receipts: peer.Verifiers[statusmsg.Type],
		}
	}
	return peers, deliveryPartners
}

// peer is partner cc's trust: its CAs, its officials and their
// authorization, its credentials; nil (with the problem recorded) if its
// CAs or its list's registry cannot be loaded.
func (n *Node) peer(cc string, pc config.Partner, limits xmlsafe.Limits, clientCert *keyPair, p *problems) *proxy.Peer {
	cfg := n.Config
	key := "partners." + cc
	cas, err := certs.LoadCertificates(pc.CA...)
	if err != nil {
		p.add(key+".ca", err)
		return nil
	}
	pool := x509.NewCertPool()
	for _, c := range cas {
		pool.AddCert(c)
		n.watch("partner-ca:"+cc, c)
	}
	authorize, ok := n.partnerOfficials(cc, pc, cas, pool, clientCert, p)
	if !ok {
		return nil
	}
	rev := &certs.Revocation{CRLs: pc.Revocation.CRLs}
	policy := revocationPolicy(pc.Revocation.Policy)
	warn := func(msg string) { n.logger.Warn("revocation", "partner", cc, "warning", msg) }
	peer := &proxy.Peer{
		Country:          cc,
		Revocation:       rev,
		RevocationPolicy: policy,
		Warn:             warn,
		ClientCAs:        pool,
		Credentials:      &access.Basic{Username: pc.InboundAuth.Username, Password: pc.InboundAuth.Password},
		Verifiers:        map[string]proxy.DocumentVerifier{},
	}
	if pc.InboundAuth.PasswordHash != "" {
		peer.Credentials.PasswordHash = []byte(pc.InboundAuth.PasswordHash)
	}
	for docType := range cfg.Documents {
		official := &certs.Verifier{
			Roots:      pool,
			Authorize:  func(c *x509.Certificate) error { return authorize(c, docType) },
			Limits:     limits,
			Revocation: rev, RevocationPolicy: policy, Warn: warn,
			AllowSHA1: pc.AcceptSHA1,
		}
		peer.Verifiers[docType] = official
		if cfg.Documents[docType].Signature == "aladi-cod" {
			// The exporter's certificate must chain to the partner's CAs
			// (and not be revoked); the official's must also be in the
			// partner's repository of officials.
			exporter := &certs.Verifier{Roots: pool, Limits: limits, Revocation: rev, RevocationPolicy: policy, Warn: warn, AllowSHA1: pc.AcceptSHA1}
			peer.Verifiers[docType] = codVerifier{&certs.CODVerifier{Exporters: exporter, Officials: official, AllowSHA1: pc.AcceptSHA1, Limits: limits}}
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
	return peer
}

// partnerOfficials is who may sign partner cc's documents, by type. A
// partner that publishes its officials (officials_url): the fetched list
// decides, and the configured officials only bridge the time until a
// first list has been verified; the list's registry joins n.registries
// for the fetcher. ok is false if that registry cannot be made.
func (n *Node) partnerOfficials(cc string, pc config.Partner, cas []*x509.Certificate, pool *x509.CertPool, clientCert *keyPair, p *problems) (authorize func(*x509.Certificate, string) error, ok bool) {
	key := "partners." + cc
	officials := certs.NewOfficials()
	for i, o := range pc.Officials {
		cs, err := certs.LoadCertificates(o.Cert)
		if err != nil {
			p.add(fmt.Sprintf("%s.officials[%d].cert", key, i), err)
			continue
		}
		for _, c := range cs {
			officials.Add(c, o.Documents...)
			n.watch("partner-official:"+cc, c)
		}
	}
	if pc.OfficialsURL == "" {
		return officials.Authorize, true
	}
	reg, err := registry.New(cc, cas, registry.Options{Grace: n.Config.Officials.Grace})
	if err != nil {
		p.add(key+".officials_url", err)
		return nil, false
	}
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{
		MinVersion: tls.VersionTLS12, RootCAs: pool,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return clientCert.get() },
	}}}
	n.registries = append(n.registries, partnerList{country: cc, url: pc.OfficialsURL, reg: reg, client: client})
	return func(c *x509.Certificate, docType string) error {
		if reg.List() == nil {
			return officials.Authorize(c, docType)
		}
		return reg.Authorize(c, docType, time.Now())
	}, true
}

// deliveryTo builds the HTTPS deliverer to the partners.
func (n *Node) deliveryTo(partners map[string]delivery.Partner, clientCert *keyPair, p *problems) *delivery.HTTPS {
	cfg := n.Config
	deliverer, err := delivery.NewHTTPS(delivery.Options{
		Sender: cfg.Node.Country,
		ClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return clientCert.get()
		},
		Partners:   partners,
		Timeout:    cfg.Delivery.Timeout,
		Retries:    cfg.Delivery.Retries,
		BackoffMin: cfg.Delivery.BackoffMin,
		BackoffMax: cfg.Delivery.BackoffMax,
		Logger:     n.logger.With("component", "delivery"),
	})
	if err != nil {
		p.add("partners", err)
	}
	return deliverer
}
