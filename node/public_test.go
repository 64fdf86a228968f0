package node

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vucelink/vucelink/config"
	"github.com/vucelink/vucelink/paper"
)

// A national PKI issues officials from an intermediate CA, and the
// official's certificate file carries it: the paper code and evidence
// manifests carry it too, so that the issuing country's root alone
// checks them (verify-paper --ca).
func TestPaperSigner_CarriesTheIntermediate(t *testing.T) {
	now := time.Now()
	key := func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	serial := int64(0)
	issue := func(tmpl, parent *x509.Certificate, pub *rsa.PublicKey, by *rsa.PrivateKey) *x509.Certificate {
		serial++
		tmpl.SerialNumber, tmpl.NotBefore, tmpl.NotAfter = big.NewInt(serial), now.Add(-time.Hour), now.AddDate(1, 0, 0)
		if parent == nil {
			parent = tmpl
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, by)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ca := x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	rootKey, interKey, officialKey := key(), key(), key()
	root := issue(&x509.Certificate{Subject: pkix.Name{CommonName: "Raíz CL"}, IsCA: true, BasicConstraintsValid: true, KeyUsage: ca}, nil, &rootKey.PublicKey, rootKey)
	inter := issue(&x509.Certificate{Subject: pkix.Name{CommonName: "SAG CA"}, IsCA: true, BasicConstraintsValid: true, KeyUsage: ca}, root, &interKey.PublicKey, rootKey)
	leaf := issue(&x509.Certificate{Subject: pkix.Name{CommonName: "Ana Pérez Soto"}, KeyUsage: x509.KeyUsageDigitalSignature}, inter, &officialKey.PublicKey, interKey)

	dir := t.TempDir()
	keyFile, certFile := filepath.Join(dir, "official.key"), filepath.Join(dir, "official.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(officialKey)}), 0o600); err != nil {
		t.Fatal(err)
	}
	var chain []byte
	for _, c := range []*x509.Certificate{leaf, inter} {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if err := os.WriteFile(certFile, chain, 0o600); err != nil {
		t.Fatal(err)
	}

	n := &Node{
		Config: &config.Config{Signing: []config.Signing{{Documents: []string{"sps"}, Key: keyFile, Cert: certFile, Role: "official"}}},
		paper:  &paperSide{keys: map[string]*reloading[paper.Signer]{}},
		logger: slog.New(slog.DiscardHandler),
	}
	s, err := n.paperSigner("sps")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Chain) != 2 {
		t.Fatalf("the paper signer has %d certificates, want the official's and the intermediate", len(s.Chain))
	}
	signed, err := paper.Sign(s, &paper.Summary{Issuer: "CL", Destination: "MX", Type: "sps", DocumentID: "CL-1", TrackingID: "CL-T1", Issued: now.Unix(), Digest: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root)
	zeros := "sha256:0000000000000000000000000000000000000000000000000000000000000000"
	code := paper.Code(paper.PageURL("https://verificar.example", "CL-T1", zeros), signed)
	if _, err := paper.Verify(code, roots, now); err != nil {
		t.Fatalf("the root alone does not check the code: %v", err)
	}
}
