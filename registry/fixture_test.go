package registry

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/certs/devpki"
)

// pki is the development PKI the tests share (RSA key generation dominates
// their running time): CL's root with two officials and a TLS server
// certificate, and MX's root with a TLS client certificate. Tests must not
// change it.
type pki struct {
	cl, mx         *devpki.CA
	ana, jorge     *devpki.KeyPair // CL officials
	mxOfficial     *devpki.KeyPair
	server, client *devpki.KeyPair // CL's server, MX's client
	clSigner       *certs.Signer   // CL's root CA, the list signer
	mxSigner       *certs.Signer   // MX's root CA
	anaSigner      *certs.Signer   // an official: may sign SPS, not lists
}

var (
	shared     *pki
	sharedErr  error
	sharedOnce sync.Once
)

func newPKI(t testing.TB) *pki {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = buildPKI() })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

func buildPKI() (*pki, error) {
	p := &pki{}
	var err error
	steps := []func(){
		func() { p.cl, err = devpki.NewCA("CL") },
		func() { p.mx, err = devpki.NewCA("MX") },
		func() { p.ana, err = p.cl.IssueOfficial("Ana Pérez Soto", "SAG", devpki.Options{}) },
		func() { p.jorge, err = p.cl.IssueOfficial("Jorge Soto", "SAG", devpki.Options{}) },
		func() {
			p.mxOfficial, err = p.mx.IssueOfficial("María Hernández López", "SENASICA", devpki.Options{})
		},
		func() { p.server, err = p.cl.IssueServer(devpki.Options{}, "127.0.0.1") },
		func() { p.client, err = p.mx.IssueClient("vucelink MX", devpki.Options{}) },
		func() { p.clSigner, err = certs.NewSigner(p.cl.Key, p.cl.Cert) },
		func() { p.mxSigner, err = certs.NewSigner(p.mx.Key, p.mx.Cert) },
		func() { p.anaSigner, err = certs.NewSigner(p.ana.Key, p.ana.Cert) },
	}
	for _, step := range steps {
		if step(); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// cheapOfficial issues another certificate for Ana's key: a distinct
// official's certificate without generating a key.
func (p *pki) cheapOfficial(t testing.TB, name string) *x509.Certificate {
	t.Helper()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name, Organization: []string{"SAG"}, Country: []string{"CL"}},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.cl.Cert, &p.ana.Key.PublicKey, p.cl.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mTLS returns CL's list server configuration and MX's client, which
// trust each other's CA.
func (p *pki) mTLS() (*tls.Config, *tls.Config) {
	mxPool := x509.NewCertPool()
	mxPool.AddCert(p.mx.Cert)
	clPool := x509.NewCertPool()
	clPool.AddCert(p.cl.Cert)
	server := &tls.Config{
		Certificates: []tls.Certificate{p.server.TLS()},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    mxPool,
		MinVersion:   tls.VersionTLS12,
	}
	client := &tls.Config{
		Certificates: []tls.Certificate{p.client.TLS()},
		RootCAs:      clPool,
		MinVersion:   tls.VersionTLS12,
	}
	return server, client
}

func writeFile(t testing.TB, path string, data []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// clSource is CL's source in dir: Ana may sign sps and cod, Jorge sps,
// both from an hour ago for a year.
func (p *pki) clSource(t testing.TB, dir string) *Source {
	t.Helper()
	writeFile(t, filepath.Join(dir, "officials", "ana.pem"), p.ana.CertPEM)
	writeFile(t, filepath.Join(dir, "officials", "jorge.pem"), p.jorge.CertPEM)
	src, err := NewSource(filepath.Join(dir, "officials.yaml"), "CL")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	for _, o := range []SourceOfficial{
		{ID: "CL-SAG-1", Cert: "officials/ana.pem", Name: "Ana Pérez Soto", Agency: "SAG", Documents: []string{"sps", "cod"}, From: from, Until: from.AddDate(1, 0, 0)},
		{ID: "CL-SAG-2", Cert: "officials/jorge.pem", Name: "Jorge Soto", Agency: "SAG", Documents: []string{"sps"}, From: from, Until: from.AddDate(1, 0, 0)},
	} {
		if _, err := src.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	return src
}

// publish publishes src as CL and returns the signed list.
func (p *pki) publish(t testing.TB, src *Source) []byte {
	t.Helper()
	signed, _, err := Publish(src, p.clSigner, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return signed
}
