package certs

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/vucelink/vucelink/certs/devpki"
	"github.com/vucelink/vucelink/xmlsafe"
)

type fixture struct {
	ca, otherCA               *devpki.CA
	official, expired, notYet *devpki.KeyPair
	stranger, foreign         *devpki.KeyPair
	signer                    *Signer
	officials                 *Officials
	verifier                  *Verifier
	doc                       []byte
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{}
	var err error
	must := func(kp *devpki.KeyPair, err error) *devpki.KeyPair {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return kp
	}
	if f.ca, err = devpki.NewCA("CL"); err != nil {
		t.Fatal(err)
	}
	if f.otherCA, err = devpki.NewCA("PE"); err != nil {
		t.Fatal(err)
	}
	f.official = must(f.ca.IssueOfficial("Ana Pérez", "SAG", devpki.Options{}))
	f.expired = must(f.ca.IssueOfficial("Old Official", "SAG", devpki.Options{NotBefore: time.Now().Add(-72 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}))
	f.notYet = must(f.ca.IssueOfficial("Future Official", "SAG", devpki.Options{NotBefore: time.Now().Add(time.Hour), NotAfter: time.Now().Add(72 * time.Hour)}))
	f.stranger = must(f.ca.IssueOfficial("Not Listed", "SAG", devpki.Options{}))
	f.foreign = must(f.otherCA.IssueOfficial("Jorge Quispe", "SENASA", devpki.Options{}))
	if f.signer, err = NewSigner(f.official.Key, f.official.Cert); err != nil {
		t.Fatal(err)
	}
	f.officials = NewOfficials()
	for _, kp := range []*devpki.KeyPair{f.official, f.expired, f.notYet, f.foreign} {
		f.officials.Add(kp.Cert, "sps")
	}
	roots := x509.NewCertPool()
	roots.AddCert(f.ca.Cert)
	f.verifier = &Verifier{Roots: roots, Authorize: func(c *x509.Certificate) error { return f.officials.Authorize(c, "sps") }}
	if f.doc, err = os.ReadFile("testdata/sps.xml"); err != nil {
		t.Fatal(err)
	}
	return f
}

func signWith(t testing.TB, kp *devpki.KeyPair, doc []byte) []byte {
	t.Helper()
	s, err := NewSigner(kp.Key, kp.Cert)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Sign(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSignVerify_Roundtrip(t *testing.T) {
	f := newFixture(t)
	signed, err := f.signer.Sign(f.doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"`,
		`Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"`,
		`<ds:Reference URI="">`, "<ds:X509Certificate>",
	} {
		if !bytes.Contains(signed, []byte(want)) {
			t.Errorf("signature lacks %s", want)
		}
	}
	v, err := f.verifier.Verify(signed)
	if err != nil {
		t.Fatal(err)
	}
	if v.Signer.Subject.CommonName != "Ana Pérez" {
		t.Errorf("signer %v", v.Signer.Subject)
	}
	if v.Element.FindElement("//Signature") != nil {
		t.Error("verified element still carries the signature")
	}
	if got := v.Element.FindElement("//ID").Text(); got != "CL-2026-000123" {
		t.Errorf("verified ID %q", got)
	}
}

func TestVerify_Rejects(t *testing.T) {
	f := newFixture(t)
	valid, err := f.signer.Sign(f.doc)
	if err != nil {
		t.Fatal(err)
	}
	sha1Signed := func() []byte {
		doc, _ := xmlsafe.Parse(f.doc, xmlsafe.Limits{})
		ctx, _ := dsig.NewSigningContext(f.official.Key, [][]byte{f.official.Cert.Raw})
		ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
		ctx.Hash = crypto.SHA1
		if err := ctx.SetSignatureMethod(dsig.RSASHA1SignatureMethod); err != nil {
			t.Fatal(err)
		}
		el, err := ctx.SignEnveloped(doc.Root())
		if err != nil {
			t.Fatal(err)
		}
		doc.SetRoot(el)
		b, _ := doc.WriteToBytes()
		return b
	}
	// wrap puts the genuinely signed document inside an attacker's root
	// that carries different content: the classic signature-wrapping move.
	wrap := func(signed []byte) []byte {
		s := string(signed)
		i := strings.Index(s, "<rsm:SPSCertificate")
		evil := strings.Replace(string(f.doc[strings.Index(string(f.doc), "<rsm:SPSCertificate"):]), "Frutas del Norte", "Evil Corp", 1)
		evil = strings.Replace(evil, "</rsm:SPSCertificate>", "<rsm:Wrapper>"+s[i:]+"</rsm:Wrapper></rsm:SPSCertificate>", 1)
		return []byte(evil)
	}
	twoSignatures := func() []byte {
		once := signWith(t, f.official, f.doc)
		doc, _ := xmlsafe.Parse(once, xmlsafe.Limits{})
		el, err := f.signer.SignElement(doc.Root())
		if err != nil {
			t.Fatal(err)
		}
		doc.SetRoot(el)
		b, _ := doc.WriteToBytes()
		return b
	}
	tests := []struct {
		name string
		doc  []byte
		want error
	}{
		{"tampered text", bytes.Replace(valid, []byte("12500.5"), []byte("99999.9"), 1), ErrBadSignature},
		{"tampered attribute", bytes.Replace(valid, []byte(`unitCode="KGM"`), []byte(`unitCode="TNE"`), 1), ErrBadSignature},
		{"comment injected into a signed value", bytes.Replace(valid, []byte("CL-2026-000123"), []byte("CL-2026-<!---->000123"), 1), nil /* see below */},
		{"signer from another country's CA", signWith(t, f.foreign, f.doc), ErrUntrustedSigner},
		{"expired signer", signWith(t, f.expired, f.doc), ErrExpired},
		{"not yet valid signer", signWith(t, f.notYet, f.doc), ErrNotYetValid},
		{"not an authorized official", signWith(t, f.stranger, f.doc), ErrNotAuthorized},
		{"no signature", f.doc, ErrNoSignature},
		{"two signatures", twoSignatures(), ErrMultipleSignatures},
		{"signed document wrapped in another root", wrap(valid), ErrReference},
		{"SHA-1", sha1Signed(), ErrAlgorithm},
		{"reference to another element", bytes.Replace(valid, []byte(`URI=""`), []byte(`URI="#other"`), 1), ErrReference},
		{"DTD", append([]byte(`<!DOCTYPE x [<!ENTITY e "x">]>`), valid[bytes.Index(valid, []byte("<rsm:")):]...), xmlsafe.ErrEntity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := f.verifier.Verify(tt.doc)
			if tt.want == nil {
				// Comments are dropped by exclusive C14N, so the signature
				// still holds; what matters is that the value callers see
				// is the signed one.
				if err != nil {
					t.Fatalf("err %v", err)
				}
				if got := strings.TrimSpace(textOf(v.Element, "ID")); got != "CL-2026-000123" {
					t.Errorf("value seen after verification %q", got)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if v != nil {
				t.Error("a verified element was returned with the error")
			}
		})
	}
}

func textOf(root *etree.Element, tag string) string {
	e := root.FindElement("//" + tag)
	if e == nil {
		return ""
	}
	var sb strings.Builder
	for _, c := range e.Child {
		if cd, ok := c.(*etree.CharData); ok {
			sb.WriteString(cd.Data)
		}
	}
	return sb.String()
}

func TestVerify_ErrorNamesTheSigner(t *testing.T) {
	f := newFixture(t)
	_, err := f.verifier.Verify(signWith(t, f.expired, f.doc))
	if err == nil || !strings.Contains(err.Error(), `CN=Old Official`) || !strings.Contains(err.Error(), "expired at") {
		t.Errorf("error %v does not name the signer and date", err)
	}
}

func TestOfficials(t *testing.T) {
	f := newFixture(t)
	if err := f.officials.Authorize(f.official.Cert, "sps"); err != nil {
		t.Error(err)
	}
	if err := f.officials.Authorize(f.official.Cert, "cod"); !errors.Is(err, ErrNotAuthorized) || !strings.Contains(err.Error(), `"cod"`) {
		t.Errorf("other document type: %v", err)
	}
	if err := f.officials.Authorize(f.stranger.Cert, "sps"); !errors.Is(err, ErrNotAuthorized) {
		t.Errorf("stranger: %v", err)
	}
}

func TestNewSigner_KeyMismatch(t *testing.T) {
	f := newFixture(t)
	if _, err := NewSigner(f.official.Key, f.stranger.Cert); err == nil {
		t.Error("accepted a key that does not match the certificate")
	}
}

func BenchmarkRSA2048Sign(b *testing.B) {
	f := newFixture(b)
	digest := make([]byte, 32)
	for b.Loop() {
		if _, err := f.official.Key.Sign(nil, digest, crypto.SHA256); err != nil {
			b.Fatal(err)
		}
	}
}

// goxmldsig alone gives up after walking 1,000 elements; a certificate
// with many line items must still verify, wherever its signature sits.
func TestVerify_LargeDocument(t *testing.T) {
	f := newFixture(t)
	var sb strings.Builder
	sb.WriteString(`<rsm:SPSCertificate xmlns:rsm="urn:un:unece:uncefact:data:standard:SPSCertificate:11" xmlns:ram="urn:x"><rsm:SPSConsignment>`)
	for i := range 3000 {
		fmt.Fprintf(&sb, `<ram:Item><ram:Seq>%d</ram:Seq><ram:Name>Palta</ram:Name></ram:Item>`, i)
	}
	sb.WriteString(`</rsm:SPSConsignment></rsm:SPSCertificate>`)
	signed, err := f.signer.Sign([]byte(sb.String()))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(bytes.TrimSpace(signed), []byte("</ds:Signature></rsm:SPSCertificate>")) {
		t.Fatal("signature is not the last child, the case this test is about")
	}
	v, err := f.verifier.Verify(signed)
	if err != nil {
		t.Fatalf("large document: %v", err)
	}
	if n := len(v.Element.FindElements("//Item")); n != 3000 {
		t.Errorf("verified element has %d items", n)
	}
	if _, err := f.verifier.Verify(bytes.Replace(signed, []byte("<ram:Seq>2999<"), []byte("<ram:Seq>2998<"), 1)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered large document: %v", err)
	}
}

// Signing must not rewrite the document: only the signature is added.
func TestSign_KeepsDocumentAsIs(t *testing.T) {
	f := newFixture(t)
	signed, err := f.signer.Sign(f.doc)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(signed, []byte("<ds:Signature"))
	if i < 0 {
		t.Fatal("no signature")
	}
	orig := bytes.TrimSpace(f.doc)
	orig = orig[:bytes.LastIndex(orig, []byte("</rsm:SPSCertificate>"))]
	if !bytes.Equal(signed[:i], orig) {
		t.Errorf("signing changed the document before the signature:\n%s", signed[:i])
	}
	if n := bytes.Count(signed, []byte(`xmlns:rsm=`)); n != 1 {
		t.Errorf("rsm namespace declared %d times", n)
	}
}
