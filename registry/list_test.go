package registry

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/xmlsafe"
)

func TestAuthorize(t *testing.T) {
	p := newPKI(t)
	src := p.clSource(t, t.TempDir())
	revokedAt := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	if _, err := src.Revoke("CL-SAG-2", nil, revokedAt, "left the agency"); err != nil {
		t.Fatal(err)
	}
	signed := p.publish(t, src)
	l, err := Verify(signed, []*x509.Certificate{p.cl.Cert}, VerifyOptions{Country: "CL"})
	if err != nil {
		t.Fatal(err)
	}
	if l.Sequence != 1 || len(l.Officials) != 2 || !l.Signer.Equal(p.cl.Cert) {
		t.Fatalf("list: sequence %d, %d officials, signer %v", l.Sequence, len(l.Officials), l.Signer.Subject)
	}
	ana, _ := l.Lookup(p.ana.Cert)
	if ana == nil || ana.Name != "Ana Pérez Soto" || ana.Agency != "SAG" || strings.Join(ana.Documents, ",") != "sps,cod" {
		t.Fatalf("Ana's entry: %+v", ana)
	}
	from, until := ana.ValidFrom, ana.ValidUntil
	now := time.Now()

	tests := []struct {
		name    string
		cert    *x509.Certificate
		doc     string
		at      time.Time
		want    error
		message string
	}{
		{"authorized", p.ana.Cert, "sps", now, nil, ""},
		{"another document type", p.ana.Cert, "cod", now, nil, ""},
		{"from is inclusive", p.ana.Cert, "sps", from, nil, ""},
		{"not in the list", p.mxOfficial.Cert, "sps", now, ErrNotListed, "María"},
		{"not for the document type", p.jorge.Cert, "cod", now, ErrDocumentType, `"cod", only for sps`},
		{"not yet", p.ana.Cert, "sps", from.Add(-time.Second), ErrNotYetAuthorized, stamp(from)},
		{"until is exclusive", p.ana.Cert, "sps", until, ErrAuthorizationEnded, stamp(until)},
		{"before a scheduled revocation", p.jorge.Cert, "sps", revokedAt.Add(-time.Second), nil, ""},
		{"revoked", p.jorge.Cert, "sps", revokedAt, ErrRevoked, "revoked at " + stamp(revokedAt) + " (left the agency)"},
		{"revoked, whatever the type", p.jorge.Cert, "cod", revokedAt.Add(time.Hour), ErrRevoked, "CL-SAG-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := l.Authorize(tt.cert, tt.doc, tt.at)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tt.want) || !errors.Is(err, certs.ErrNotAuthorized) {
				t.Fatalf("got %v, want %v (and certs.ErrNotAuthorized)", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.message) || !strings.Contains(err.Error(), tt.cert.Subject.CommonName) {
				t.Errorf("error %q does not say %q and the subject", err, tt.message)
			}
		})
	}

	reg, err := New("CL", []*x509.Certificate{p.cl.Cert}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Authorize(p.ana.Cert, "sps", now); !errors.Is(err, ErrNoList) || !errors.Is(err, certs.ErrNotAuthorized) {
		t.Errorf("empty registry: %v", err)
	}
	if !reg.Stale() {
		t.Error("an empty registry is not stale")
	}
}

// The registry plugs into certs.Verifier: a document signed by a listed
// official verifies, and once the official is revoked it is refused with
// an error that says so.
func TestAuthorize_InCertsVerifier(t *testing.T) {
	p := newPKI(t)
	src := p.clSource(t, t.TempDir())
	reg, err := New("CL", []*x509.Certificate{p.cl.Cert}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := reg.Accept(p.publish(t, src)); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(p.cl.Cert)
	v := &certs.Verifier{Roots: pool, Authorize: func(c *x509.Certificate) error { return reg.Authorize(c, "sps", time.Now()) }}
	doc, err := p.anaSigner.Sign([]byte(`<SPSCertificate xmlns="urn:x"><ID>CL-1</ID></SPSCertificate>`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), doc); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Revoke("", p.ana.Cert, time.Now().Add(-time.Minute), "key compromise"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := reg.Accept(p.publish(t, src)); err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(context.Background(), doc)
	if !errors.Is(err, certs.ErrNotAuthorized) || !errors.Is(err, ErrRevoked) || !strings.Contains(err.Error(), "key compromise") {
		t.Fatalf("after revocation: %v", err)
	}
}

func TestVerify_Rejects(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	src := p.clSource(t, dir)
	good := p.publish(t, src)
	cl := []*x509.Certificate{p.cl.Cert}

	unsigned, err := src.Build(7, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	plain, err := unsigned.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	sign := func(s *certs.Signer, data []byte) []byte {
		t.Helper()
		out, err := s.Sign(data)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	replace := func(old, new string) []byte {
		t.Helper()
		if !bytes.Contains(good, []byte(old)) {
			t.Fatalf("the list has no %q", old)
		}
		return bytes.Replace(good, []byte(old), []byte(new), 1)
	}
	writeFile(t, filepath.Join(dir, "mx", "maria.pem"), p.mxOfficial.CertPEM)
	mxSrc, err := NewSource(filepath.Join(dir, "mx", "officials.yaml"), "MX")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mxSrc.Add(SourceOfficial{Cert: "maria.pem", Name: "María", Agency: "SENASICA", Documents: []string{"sps"}}); err != nil {
		t.Fatal(err)
	}
	mxList, _, err := Publish(mxSrc, p.mxSigner, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		data  []byte
		roots []*x509.Certificate
		opts  VerifyOptions
		want  error
	}{
		{"content tampered", replace("Jorge Soto", "Jorge Sotx"), cl, VerifyOptions{}, certs.ErrBadSignature},
		{"document type added", replace("<Document>sps</Document>\n    </Documents>\n    <ValidFrom>", "<Document>sps</Document><Document>cod</Document>\n    </Documents>\n    <ValidFrom>"), cl, VerifyOptions{}, certs.ErrBadSignature},
		{"signed by another country's root", sign(p.mxSigner, plain), cl, VerifyOptions{}, certs.ErrUntrustedSigner},
		{"signed by an official who chains to the root", sign(p.anaSigner, plain), cl, VerifyOptions{}, certs.ErrUntrustedSigner},
		{"another country's list", mxList, []*x509.Certificate{p.cl.Cert, p.mx.Cert}, VerifyOptions{Country: "CL"}, ErrWrongCountry},
		{"rollback", good, cl, VerifyOptions{MinSequence: 2}, ErrRollback},
		{"unsigned", plain, cl, VerifyOptions{}, certs.ErrNoSignature},
		{"signed twice", sign(p.clSigner, good), cl, VerifyOptions{}, certs.ErrMultipleSignatures},
		{"element after the signature", replace("</OfficialsList>", "<Country>CL</Country></OfficialsList>"), cl, VerifyOptions{}, certs.ErrReference},
		{"reference to an ID", replace(`URI=""`, `URI="#list"`), cl, VerifyOptions{}, certs.ErrReference},
		{"SHA-1 digest", replace("xmlenc#sha256", "xmldsig#sha1"), cl, VerifyOptions{}, certs.ErrAlgorithm},
		{"comment in SignedInfo", replace("<ds:SignatureMethod", "<!-- x --><ds:SignatureMethod"), cl, VerifyOptions{}, certs.ErrMalformed},
		{"ds:Object", replace("</ds:KeyInfo>", "</ds:KeyInfo><ds:Object>x</ds:Object>"), cl, VerifyOptions{}, certs.ErrMalformed},
		{"DOCTYPE", replace("<OfficialsList", "<!DOCTYPE x><OfficialsList"), cl, VerifyOptions{}, xmlsafe.ErrDTD},
		{"root expired", good, cl, VerifyOptions{Now: time.Now().AddDate(20, 0, 0)}, certs.ErrExpired},
		{"unknown element, signed", sign(p.clSigner, bytes.Replace(plain, []byte("</OfficialsList>"), []byte("<Extra>1</Extra></OfficialsList>"), 1)), cl, VerifyOptions{}, ErrInvalidList},
		{"attribute, signed", sign(p.clSigner, bytes.Replace(plain, []byte("<Name>"), []byte(`<Name lang="es">`), 1)), cl, VerifyOptions{}, ErrInvalidList},
		{"other root element, signed", sign(p.clSigner, []byte(`<Other xmlns="urn:vucelink:officials:1"/>`)), cl, VerifyOptions{}, ErrInvalidList},
		{"duplicate certificate, signed", sign(p.clSigner, bytes.Replace(plain, []byte(base64Of(p.jorge.Cert)), []byte(base64Of(p.ana.Cert)), 1)), cl, VerifyOptions{}, ErrInvalidList},
		{"no roots", good, nil, VerifyOptions{}, certs.ErrUntrustedSigner},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Verify(tt.data, tt.roots, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v (list %v), want %v", err, l != nil, tt.want)
			}
		})
	}

	// Comments are not signed, and not read: the text around one is what
	// was signed.
	commented := replace("<Name>Jorge Soto</Name>", "<Name>Jorge <!-- Sotomayor -->Soto</Name>")
	l, err := Verify(commented, cl, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Officials[1].Name != "Jorge Soto" {
		t.Errorf("name %q", l.Officials[1].Name)
	}
	// Inspect checks integrity, not trust.
	if _, err := Inspect(sign(p.mxSigner, plain)); err != nil {
		t.Errorf("Inspect of an intact list: %v", err)
	}
	if _, err := Inspect(replace("Jorge Soto", "Jorge Sotx")); !errors.Is(err, certs.ErrBadSignature) {
		t.Errorf("Inspect of a tampered list: %v", err)
	}
}

func base64Of(c *x509.Certificate) string { return base64.StdEncoding.EncodeToString(c.Raw) }

// A list longer than goxmldsig's 1,000-element search still verifies.
func TestVerify_LongList(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	src, err := NewSource(filepath.Join(dir, "officials.yaml"), "CL")
	if err != nil {
		t.Fatal(err)
	}
	var last *x509.Certificate
	for i := range 150 {
		last = p.cheapOfficial(t, fmt.Sprintf("Official %d", i))
		name := fmt.Sprintf("o%d.pem", i)
		writeFile(t, filepath.Join(dir, name), certPEM(last))
		if _, err := src.Add(SourceOfficial{Cert: name, Name: fmt.Sprintf("Official %d", i), Agency: "SAG", Documents: []string{"sps"}}); err != nil {
			t.Fatal(err)
		}
	}
	signed := p.publish(t, src)
	doc, err := xmlsafe.Parse(signed, xmlsafe.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(doc.FindElements("//*")); n < 1200 {
		t.Fatalf("only %d elements", n)
	}
	l, err := Verify(signed, []*x509.Certificate{p.cl.Cert}, VerifyOptions{Country: "CL"})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Authorize(last, "sps", time.Now()); err != nil {
		t.Error(err)
	}
	if _, err := Verify(bytes.Replace(signed, []byte("Official 7<"), []byte("Official 8<"), 1), []*x509.Certificate{p.cl.Cert}, VerifyOptions{}); !errors.Is(err, certs.ErrBadSignature) {
		t.Errorf("tampered long list: %v", err)
	}
}

func TestRegistry_AcceptAndStale(t *testing.T) {
	p := newPKI(t)
	src := p.clSource(t, t.TempDir())
	src.ValidFor = 24 * time.Hour
	v1 := p.publish(t, src)
	now := time.Now()
	reg, err := New("CL", []*x509.Certificate{p.cl.Cert}, Options{Grace: time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, changed, err := reg.Accept(v1); err != nil || !changed {
		t.Fatalf("first: changed %v, %v", changed, err)
	}
	if _, changed, err := reg.Accept(v1); err != nil || changed {
		t.Errorf("the same list again: changed %v, %v", changed, err)
	}
	src.Sequence = 0 // an operator's mistake: sequence 1 again, other content
	src.Officials[1].Name = "Jorge Soto Soto"
	if _, _, err := reg.Accept(p.publish(t, src)); !errors.Is(err, ErrSequenceReused) {
		t.Errorf("sequence reused: %v", err)
	}
	if reg.Stale() {
		t.Error("stale at once")
	}
	// Past NextUpdate plus grace: stale, and still in force.
	now = now.Add(26 * time.Hour)
	if !reg.Stale() {
		t.Error("not stale past next update and grace")
	}
	if err := reg.Authorize(p.ana.Cert, "sps", now); err != nil {
		t.Errorf("a stale list no longer answers: %v", err)
	}
	if !bytes.Equal(reg.Bytes(), v1) {
		t.Error("Bytes is not the list in force")
	}
}
