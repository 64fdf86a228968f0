// Package devpki generates a development public-key infrastructure: one CA
// per country, authorized officials' signing certificates, and TLS server
// and client certificates for the nodes.
//
// DEVELOPMENT AND TEST SCAFFOLDING ONLY. Its keys are generated on the spot
// and written to disk unencrypted, its CAs publish no revocation, and
// anyone with the directory can sign as any country's official. In
// production each country's own CA (and HSM) issues this material, and
// vucelink only loads it (certs.LoadSigner, certs.LoadPool).
package devpki

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// KeyPair is a certificate with its private key, parsed and in PEM.
type KeyPair struct {
	Cert    *x509.Certificate
	Key     *rsa.PrivateKey
	CertPEM []byte
	KeyPEM  []byte
}

// TLS returns the pair as a tls.Certificate.
func (k *KeyPair) TLS() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{k.Cert.Raw}, PrivateKey: k.Key, Leaf: k.Cert}
}

// CA is a country's development certificate authority (never a real one).
type CA struct {
	KeyPair
	Country string
}

// Options set a certificate's validity. Zero values mean from an hour ago
// (tolerating clock skew between nodes) to two years from now.
type Options struct {
	NotBefore, NotAfter time.Time
	// CRL and OCSP, if set, are written into the certificate as its CRL
	// distribution point and OCSP responder.
	CRL, OCSP string
}

// revocation adds the options' revocation pointers to a template.
func (o Options) revocation(t *x509.Certificate) *x509.Certificate {
	if o.CRL != "" {
		t.CRLDistributionPoints = []string{o.CRL}
	}
	if o.OCSP != "" {
		t.OCSPServer = []string{o.OCSP}
	}
	return t
}

func (o Options) window() (time.Time, time.Time) {
	nb, na := o.NotBefore, o.NotAfter
	if nb.IsZero() {
		nb = time.Now().Add(-time.Hour)
	}
	if na.IsZero() {
		na = time.Now().AddDate(2, 0, 0)
	}
	return nb, na
}

// keyBits is 2048: the minimum current policies accept, and fast enough for
// a demo that creates dozens of keys at start.
const keyBits = 2048

// NewCA creates a self-signed root for a country (an ISO 3166 alpha-2
// code in capitals), valid for ten years.
func NewCA(country string) (*CA, error) {
	if err := checkCountry(country); err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject: pkix.Name{
			CommonName: country + " Root CA (development)", Organization: []string{"vucelink dev"}, Country: []string{country},
		},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
	}
	kp, err := issue(tmpl, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("CA %s: %w", country, err)
	}
	return &CA{KeyPair: *kp, Country: country}, nil
}

// IssueOfficial issues an authorized official's document-signing
// certificate: CN=name, O=agency, C=the CA's country.
func (ca *CA) IssueOfficial(name, agency string, o Options) (*KeyPair, error) {
	nb, na := o.window()
	return issue(o.revocation(&x509.Certificate{
		Subject:   pkix.Name{CommonName: name, Organization: []string{agency}, Country: []string{ca.Country}},
		NotBefore: nb, NotAfter: na,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}), ca.Cert, ca.Key)
}

// IssueServer issues a TLS server certificate for the given hosts: each is
// an IP address SAN if it parses as one, else a DNS name SAN.
func (ca *CA) IssueServer(o Options, hosts ...string) (*KeyPair, error) {
	nb, na := o.window()
	tmpl := &x509.Certificate{
		Subject:   pkix.Name{CommonName: "vucelink " + ca.Country + " server", Organization: []string{"vucelink dev"}, Country: []string{ca.Country}},
		NotBefore: nb, NotAfter: na,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return issue(tmpl, ca.Cert, ca.Key)
}

// IssueClient issues a TLS client certificate (CN=name), the identity a
// node presents to its partners.
func (ca *CA) IssueClient(name string, o Options) (*KeyPair, error) {
	nb, na := o.window()
	return issue(o.revocation(&x509.Certificate{
		Subject:   pkix.Name{CommonName: name, Organization: []string{"vucelink dev"}, Country: []string{ca.Country}},
		NotBefore: nb, NotAfter: na,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}), ca.Cert, ca.Key)
}

// issue signs tmpl with parent (self-signed when parent is nil).
func issue(tmpl, parent *x509.Certificate, parentKey *rsa.PrivateKey) (*KeyPair, error) {
	key, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &KeyPair{
		Cert:    cert,
		Key:     key,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// Officials' names and agencies per country (the national plant protection
// organizations), so the demo's signatures read like the real thing.
// Fictitious people.
var officials = map[string][2]string{
	"CL": {"Ana Pérez Soto", "SAG"},
	"CO": {"Carlos Gómez Ruiz", "ICA"},
	"MX": {"María Hernández López", "SENASICA"},
	"PE": {"Jorge Quispe Mamani", "SENASA"},
}

// Files are the files Init writes per country.
var Files = []string{"ca.pem", "ca.key", "official.pem", "official.key", "server.pem", "server.key", "client.pem", "client.key"}

// Init writes a development PKI for each country under dir/<CC>/ (see
// Files), all PEM, private keys mode 0600: the CA, an official of the
// country's NPPO, a server certificate for 127.0.0.1, ::1 and localhost,
// and a client certificate with CN "vucelink <CC>".
//
// A country whose directory already holds every file is left as it is, so
// a restarted demo keeps its identities (and partners keep trusting them).
// Each file is written whole or not at all, so an interrupted Init leaves a
// country incomplete, to be generated afresh next time, never a truncated
// file that would pass for complete.
func Init(dir string, countries []string) error {
	for _, cc := range countries {
		if err := checkCountry(cc); err != nil {
			return err
		}
		cdir := filepath.Join(dir, cc)
		if complete(cdir) {
			continue
		}
		if err := writeCountry(cdir, cc); err != nil {
			return fmt.Errorf("%s: %w", cc, err)
		}
	}
	return nil
}

func checkCountry(cc string) error {
	if len(cc) != 2 || cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z' {
		return fmt.Errorf("country %q: want an ISO 3166 alpha-2 code in capitals", cc)
	}
	return nil
}

func complete(dir string) bool {
	for _, f := range Files {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return false
		}
	}
	return true
}

func writeCountry(dir, cc string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ca, err := NewCA(cc)
	if err != nil {
		return err
	}
	who, ok := officials[cc]
	if !ok {
		who = [2]string{"Official of " + cc, "NPPO " + cc}
	}
	official, err := ca.IssueOfficial(who[0], who[1], Options{})
	if err != nil {
		return err
	}
	server, err := ca.IssueServer(Options{}, "127.0.0.1", "::1", "localhost")
	if err != nil {
		return err
	}
	client, err := ca.IssueClient("vucelink "+cc, Options{})
	if err != nil {
		return err
	}
	for name, kp := range map[string]*KeyPair{"ca": &ca.KeyPair, "official": official, "server": server, "client": client} {
		if err := writeAtomic(filepath.Join(dir, name+".key"), kp.KeyPEM, 0o600); err != nil {
			return err
		}
		if err := writeAtomic(filepath.Join(dir, name+".pem"), kp.CertPEM, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeAtomic writes data to a temporary file beside name and renames it
// into place. The temporary file is created with mode perm, so a key is
// never readable by others, not even while it is being written.
func writeAtomic(name string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// LoadCA reads a country's CA written by Init under dir, to issue further
// certificates (tests use it for expired or unauthorized signers).
func LoadCA(dir, country string) (*CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, country, "ca.pem"))
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, country, "ca.key"))
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("CA %s: %w", country, err)
	}
	key, ok := pair.PrivateKey.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("CA %s: key is not RSA", country)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, err
	}
	return &CA{KeyPair: KeyPair{Cert: cert, Key: key, CertPEM: certPEM, KeyPEM: keyPEM}, Country: country}, nil
}
