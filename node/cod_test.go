package node

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/certs/devpki"
	"github.com/vucelink/vucelink/proxy"
	"github.com/vucelink/vucelink/rules"
	"github.com/vucelink/vucelink/xmlsafe"
)

// How the node signs a certificate of origin: the exporter's signature it
// carries is verified and kept, or one is applied with the exporter key;
// what cannot be done is ErrUnsignable (the legacy VUCE hears 422).
func TestCODSigner(t *testing.T) {
	dir := t.TempDir()
	ca, err := devpki.NewCA("CL")
	if err != nil {
		t.Fatal(err)
	}
	load := func(name string) *signer {
		kp, err := ca.IssueOfficial(name, "test", devpki.Options{})
		if err != nil {
			t.Fatal(err)
		}
		key, cert := filepath.Join(dir, name+".key"), filepath.Join(dir, name+".pem")
		if err := os.WriteFile(key, kp.KeyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cert, kp.CertPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := loadSigner(key, cert, signingEngine{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	official, exporter := load("official"), load("exporter")
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	trust := &certs.CODVerifier{Exporters: &certs.Verifier{Roots: pool}}

	unsigned, err := rules.FS.ReadFile("CL/examples/cod/minimal.standard.xml")
	if err != nil {
		t.Fatal(err)
	}
	exporterSigned, err := exporter.current().SignCODExporter(unsigned)
	if err != nil {
		t.Fatal(err)
	}
	root := func(b []byte) *etree.Element {
		doc, err := xmlsafe.Parse(b, xmlsafe.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		return doc.Root()
	}
	tests := []struct {
		name   string
		s      codSigner
		in     []byte
		want   string // error; "" signs
		signer string // the exporter's certificate in the result
		detail string // what the track is told, with serials made "S"
	}{
		{"no exporter signature: the node's exporter signs", codSigner{official: official, exporter: exporter, exporters: trust}, unsigned, "", "exporter",
			"exporter's signature applied by the node (exporter, serial S); official's signature applied (official, serial S)"},
		{"the exporter's signature is kept", codSigner{official: official, exporters: trust}, exporterSigned, "", "exporter",
			"exporter's signature kept from the payload (verified; exporter, serial S); official's signature applied (official, serial S)"},
		{"kept even with an exporter key at hand", codSigner{official: official, exporter: official, exporters: trust}, exporterSigned, "", "exporter",
			"exporter's signature kept from the payload (verified; exporter, serial S); official's signature applied (official, serial S)"},
		{"no exporter signature and no key", codSigner{official: official, exporters: trust}, unsigned, "carries no exporter's signature and no exporter key is configured to apply one (signing: role exporter)", "", ""},
		{"a signature and no exporters' CA", codSigner{official: official, exporter: exporter}, exporterSigned, "carries the exporter's signature, and no exporters' CA is configured to verify it (exporters.ca)", "", ""},
		{"a signature changed after signing", codSigner{official: official, exporters: trust},
			[]byte(strings.Replace(string(exporterSigned), "<CODSubmitterType>REP<", "<CODSubmitterType>EXP<", 1)), "the exporter's signature it carries: COD exporter: ", "", ""},
	}
	serial := regexp.MustCompile(`serial [0-9a-f]+`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, detail, err := tt.s.SignElementDetail(root(tt.in))
			if tt.want != "" {
				if !errors.Is(err, proxy.ErrUnsignable) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %v, want ErrUnsignable naming %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := serial.ReplaceAllString(detail, "serial S"); got != tt.detail {
				t.Errorf("detail\n %s\nwant\n %s", got, tt.detail)
			}
			doc := etree.NewDocument()
			doc.SetRoot(out)
			b, _ := doc.WriteToBytes()
			full := &certs.CODVerifier{Exporters: &certs.Verifier{Roots: pool}, Officials: &certs.Verifier{Roots: pool}}
			got, err := full.Verify(context.Background(), b)
			if err != nil {
				t.Fatalf("the signed certificate does not verify: %v", err)
			}
			if cn := got.Exporter.Signer.Subject.CommonName; cn != tt.signer {
				t.Errorf("exporter's signature by %q, want %q", cn, tt.signer)
			}
			if cn := got.Official.Signer.Subject.CommonName; cn != "official" {
				t.Errorf("official's signature by %q", cn)
			}
		})
	}
}
