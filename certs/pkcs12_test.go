package certs

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/vucelink/vucelink/certs/devpki"
)

// p12PKI is a CA and an official, shared by the PKCS#12 tests (RSA key
// generation dominates their running time).
var p12PKI struct {
	once     sync.Once
	ca       *devpki.CA
	official *devpki.KeyPair
	err      error
}

func pkcs12Fixture(t *testing.T) (*devpki.CA, *devpki.KeyPair) {
	t.Helper()
	p12PKI.once.Do(func() {
		p12PKI.ca, p12PKI.err = devpki.NewCA("CL")
		if p12PKI.err == nil {
			p12PKI.official, p12PKI.err = p12PKI.ca.IssueOfficial("Ana Pérez Soto", "SAG", devpki.Options{})
		}
	})
	if p12PKI.err != nil {
		t.Fatal(p12PKI.err)
	}
	return p12PKI.ca, p12PKI.official
}

func TestLoadSigner_PKCS12(t *testing.T) {
	ca, official := pkcs12Fixture(t)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	encode := func(leaf *x509.Certificate, cas []*x509.Certificate, password string) []byte {
		t.Helper()
		b, err := pkcs12.Modern.Encode(official.Key, leaf, cas, password)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	withCA := write("official.p12", encode(official.Cert, []*x509.Certificate{ca.Cert}, "s3cret"))
	// Some tools put the CA's certificate first: the key decides which is
	// the signer's.
	caFirst := write("ca-first.PFX", encode(ca.Cert, []*x509.Certificate{official.Cert}, "s3cret"))
	noPassword := write("nopass.p12", encode(official.Cert, nil, ""))
	certPEM := write("official.pem", official.CertPEM)
	store, err := pkcs12.Modern.EncodeTrustStore([]*x509.Certificate{ca.Cert}, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	trustStore := write("truststore.p12", store)

	tests := []struct {
		name, password, key, cert string
		chain                     int    // certificates written into KeyInfo
		err                       string // substring of the error, "" for success
	}{
		{"same file as key and cert", "s3cret", withCA, withCA, 2, ""},
		{"CA first in the file", "s3cret", caFirst, caFirst, 2, ""},
		{"PKCS#12 key, PEM certificate", "s3cret", withCA, certPEM, 1, ""},
		{"no password", "", noPassword, noPassword, 1, ""},
		{"wrong password", "wrong", withCA, withCA, 0, PKCS12PasswordEnv},
		{"unset password", "", withCA, withCA, 0, "password"},
		{"trust store has no key", "s3cret", trustStore, certPEM, 0, "no private key"},
		{"certificate of another key", "s3cret", withCA, trustStore, 0, "does not match"},
		{"missing file", "s3cret", filepath.Join(dir, "absent.p12"), certPEM, 0, "absent.p12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(PKCS12PasswordEnv, tt.password)
			s, err := LoadSigner(tt.key, tt.cert)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("LoadSigner: %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !s.Certificate().Equal(official.Cert) {
				t.Fatalf("signer %q, want the official", s.Certificate().Subject)
			}
			if len(s.der) != tt.chain {
				t.Errorf("%d certificates in KeyInfo, want %d", len(s.der), tt.chain)
			}
			signed, err := s.Sign([]byte(`<r xmlns="urn:x"><v>1</v></r>`))
			if err != nil {
				t.Fatal(err)
			}
			pool := x509.NewCertPool()
			pool.AddCert(ca.Cert)
			v, err := (&Verifier{Roots: pool}).Verify(context.Background(), signed)
			if err != nil {
				t.Fatal(err)
			}
			if !v.Signer.Equal(official.Cert) {
				t.Errorf("verified signer %q", v.Signer.Subject)
			}
		})
	}

	t.Run("LoadSignerPKCS12 takes the password as a value", func(t *testing.T) {
		t.Setenv(PKCS12PasswordEnv, "not this one")
		s, err := LoadSignerPKCS12(withCA, "s3cret")
		if err != nil {
			t.Fatal(err)
		}
		if !s.Certificate().Equal(official.Cert) {
			t.Errorf("signer %q", s.Certificate().Subject)
		}
		if _, err := LoadSignerPKCS12(withCA, "wrong"); !errors.Is(err, pkcs12.ErrIncorrectPassword) {
			t.Errorf("wrong password: %v", err)
		}
	})

	t.Run("a trust store loads as a pool", func(t *testing.T) {
		t.Setenv(PKCS12PasswordEnv, "s3cret")
		cs, err := LoadCertificates(trustStore)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 1 || !cs[0].Equal(ca.Cert) {
			t.Errorf("got %d certificates", len(cs))
		}
	})

	t.Run("PEM files are read as before", func(t *testing.T) {
		keyPEM := write("official.key", official.KeyPEM)
		s, err := LoadSigner(keyPEM, certPEM)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(s.Certificate().Raw, official.Cert.Raw) {
			t.Error("PEM signer is not the official")
		}
		// A PEM file named .p12 is not PEM to the loader: the name decides.
		misnamed := write("official-pem.p12", official.KeyPEM)
		if _, err := LoadPrivateKey(misnamed); err == nil || !strings.Contains(err.Error(), "PKCS#12") {
			t.Errorf("PEM named .p12: %v", err)
		}
	})
}
