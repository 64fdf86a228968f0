package paper

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/veraison/go-cose"
)

// nationalPKI is a root, an intermediate and an official's certificate
// the size a national PKI issues (long policies and pointers, 3,072-bit
// official key, 4,096-bit intermediate), unlike devpki's small ones.
type nationalPKI struct {
	roots        *x509.CertPool
	intermediate *x509.Certificate
	key          *rsa.PrivateKey
	interKey     *rsa.PrivateKey
}

func newNationalPKI(t *testing.T) *nationalPKI {
	t.Helper()
	rootKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	interKey, err := rsa.GenerateKey(rand.Reader, 4096)
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		t.Fatal(err)
	}
	root := issue(t, &x509.Certificate{Subject: pkix.Name{Country: []string{"CL"}, Organization: []string{"Raíz Nacional"}, CommonName: "Autoridad Certificadora Raíz"},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}, nil, &rootKey.PublicKey, rootKey)
	roots := x509.NewCertPool()
	roots.AddCert(root)
	inter := issue(t, &x509.Certificate{Subject: pkix.Name{Country: []string{"CL"}, Organization: []string{"Servicio Agrícola y Ganadero"}, CommonName: "Autoridad Certificadora de Firma Avanzada Clase 3"},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		CRLDistributionPoints: []string{"http://crl.raiz.gob.cl.example/raiz-nacional-2026.crl"}}, root, &interKey.PublicKey, rootKey)
	return &nationalPKI{roots: roots, intermediate: inter, key: key, interKey: interKey}
}

// official issues the official's certificate: with the subject,
// pointers and policies a national PKI writes (1.8 KB), or lean (name,
// key usage and OCSP only).
func (p *nationalPKI) official(t *testing.T, lean bool) Signer {
	t.Helper()
	tmpl := &x509.Certificate{
		Subject: pkix.Name{Country: []string{"CL"}, Province: []string{"Región Metropolitana"}, Locality: []string{"Santiago"},
			Organization: []string{"Servicio Agrícola y Ganadero"}, OrganizationalUnit: []string{"División de Protección Agrícola y Forestal", "Certificación Fitosanitaria de Exportaciones"},
			CommonName: "Ana María Inspectora González", SerialNumber: "RUT-12345678-9"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		CRLDistributionPoints: []string{"http://crl.sag.gob.cl.example/firma-avanzada-clase-3/2026/crl.crl", "ldap://ldap.sag.gob.cl.example/cn=Firma%20Avanzada,o=SAG,c=CL?certificateRevocationList"},
		OCSPServer:            []string{"http://ocsp.sag.gob.cl.example/firma-avanzada"},
		IssuingCertificateURL: []string{"http://pki.sag.gob.cl.example/certificados/firma-avanzada-clase-3.cer"},
		PolicyIdentifiers:     []asn1.ObjectIdentifier{{1, 3, 6, 1, 4, 1, 99999, 1, 3, 2}, {2, 23, 140, 1, 5, 1, 1}},
	}
	if lean {
		tmpl.Subject = pkix.Name{Country: []string{"CL"}, CommonName: tmpl.Subject.CommonName}
		tmpl.CRLDistributionPoints, tmpl.IssuingCertificateURL, tmpl.PolicyIdentifiers, tmpl.ExtKeyUsage = nil, nil, nil, nil
	}
	leaf := issue(t, tmpl, p.intermediate, &p.key.PublicKey, p.interKey)
	return Signer{Key: p.key, Chain: []*x509.Certificate{leaf, p.intermediate}}
}

var serial int64

func issue(t *testing.T, tmpl, parent *x509.Certificate, pub any, signer *rsa.PrivateKey) *x509.Certificate {
	t.Helper()
	serial++
	tmpl.SerialNumber = big.NewInt(serial)
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.AddDate(2, 0, 0)
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// carried says how a code names its signer: "chain" (x5chain with the
// intermediate), "leaf" (x5chain, the official's certificate alone) or
// "thumbprint" (x5t).
func carried(t *testing.T, code string) string {
	t.Helper()
	_, enc, _ := strings.Cut(code, "#")
	raw, _ := base64.RawURLEncoding.DecodeString(enc)
	var m cose.Sign1Message
	if err := m.UnmarshalCBOR(raw); err != nil {
		t.Fatal(err)
	}
	switch v := m.Headers.Protected[cose.HeaderLabelX5Chain].(type) {
	case []byte:
		return "leaf"
	case []any:
		return fmt.Sprintf("chain of %d", len(v))
	}
	if _, ok := m.Headers.Protected[cose.HeaderLabelX5T]; ok {
		return "thumbprint"
	}
	return "nothing"
}

// A national PKI's certificates do not fit a QR code the way a test
// PKI's do: the code carries what fits (chain, leaf, thumbprint), prints,
// and verifies against what a checker has.
func TestPrint_NationalPKISizes(t *testing.T) {
	p := newNationalPKI(t)
	for _, tc := range []struct {
		name    string
		lean    bool
		carries string
	}{
		{"lean certificate and an intermediate", true, "leaf"},
		{"typical certificate and an intermediate", false, "thumbprint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := p.official(t, tc.lean)
			t.Logf("official's certificate %d bytes, intermediate %d bytes", len(s.Chain[0].Raw), len(s.Chain[1].Raw))
			pr := &Printer{Country: "CL", BaseURL: "https://verificar.vuce.cl.example/", Signer: func(string) (Signer, error) { return s, nil }}
			code, svg, err := pr.Print(sampleDoc())
			if err != nil {
				t.Fatal(err)
			}
			if got := carried(t, code); got != tc.carries {
				t.Fatalf("the code carries %s, want %s (%d bytes)", got, tc.carries, len(code))
			}
			img := rasterize(t, svg)
			if got, err := Decode(img); err != nil || got != code {
				t.Fatalf("ZXing: %v", err)
			}
			if z := zbarDecode(t, img); z != "" && z != code {
				t.Fatalf("ZBar read %d characters, want %d", len(z), len(code))
			}
			if _, err := Verify(code, p.roots, now); err == nil {
				t.Fatal("verified without the certificates the code does not carry")
			} else {
				t.Logf("roots alone: %v", err)
			}
			c, err := VerifyWith(code, VerifyOptions{Roots: p.roots, Certificates: s.Chain, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if c.Signer.Subject.CommonName != "Ana María Inspectora González" || c.Summary.TrackingID != sampleDoc().TrackingID {
				t.Fatalf("signed by %s: %+v", c.Signer.Subject, c.Summary)
			}
			if tc.carries == "thumbprint" {
				other := p.official(t, false) // same name and key, another certificate
				if _, err := VerifyWith(code, VerifyOptions{Roots: p.roots, Certificates: []*x509.Certificate{other.Chain[0], p.intermediate}, Now: now}); !errors.Is(err, ErrSignerNotGiven) {
					t.Fatalf("another certificate of the same official: %v", err)
				}
			}
		})
	}
}
