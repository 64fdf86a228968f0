package certs

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/vucelink/vucelink/certs/devpki"
	"github.com/vucelink/vucelink/xmlsafe"
)

// fixture is a CL development PKI with officials in every state a
// verification has to tell apart, a Verifier for CL's SPS certificates, and
// testdata/sps.xml. Tests share one (RSA key generation dominates their
// running time) and must not change it.
type fixture struct {
	ca, otherCA               *devpki.CA
	official, expired, notYet *devpki.KeyPair
	stranger, foreign         *devpki.KeyPair
	signer                    *Signer
	officials                 *Officials
	verifier                  *Verifier
	doc                       []byte
}

var (
	sharedFixture    *fixture
	sharedFixtureErr error
	sharedFixtureSet sync.Once
)

func newFixture(t testing.TB) *fixture {
	t.Helper()
	sharedFixtureSet.Do(func() { sharedFixture, sharedFixtureErr = buildFixture() })
	if sharedFixtureErr != nil {
		t.Fatal(sharedFixtureErr)
	}
	return sharedFixture
}

func buildFixture() (*fixture, error) {
	f := &fixture{}
	var err error
	if f.ca, err = devpki.NewCA("CL"); err != nil {
		return nil, err
	}
	if f.otherCA, err = devpki.NewCA("PE"); err != nil {
		return nil, err
	}
	now := time.Now()
	issued := []struct {
		kp           **devpki.KeyPair
		ca           *devpki.CA
		name, agency string
		o            devpki.Options
	}{
		{&f.official, f.ca, "Ana Pérez", "SAG", devpki.Options{}},
		{&f.expired, f.ca, "Old Official", "SAG", devpki.Options{NotBefore: now.Add(-72 * time.Hour), NotAfter: now.Add(-time.Hour)}},
		{&f.notYet, f.ca, "Future Official", "SAG", devpki.Options{NotBefore: now.Add(time.Hour), NotAfter: now.Add(72 * time.Hour)}},
		{&f.stranger, f.ca, "Not Listed", "SAG", devpki.Options{}},
		{&f.foreign, f.otherCA, "Jorge Quispe", "SENASA", devpki.Options{}},
	}
	for _, i := range issued {
		if *i.kp, err = i.ca.IssueOfficial(i.name, i.agency, i.o); err != nil {
			return nil, err
		}
	}
	if f.signer, err = NewSigner(f.official.Key, f.official.Cert); err != nil {
		return nil, err
	}
	f.officials = NewOfficials()
	for _, kp := range []*devpki.KeyPair{f.official, f.expired, f.notYet, f.foreign} {
		f.officials.Add(kp.Cert, "sps")
	}
	f.verifier = &Verifier{Roots: pool(f.ca.Cert), Authorize: func(c *x509.Certificate) error { return f.officials.Authorize(c, "sps") }}
	if f.doc, err = os.ReadFile("testdata/sps.xml"); err != nil {
		return nil, err
	}
	return f, nil
}

func pool(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
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

// textOf returns all the character data of the first element named tag.
func textOf(root *etree.Element, tag string) string {
	e := root.FindElement("//" + tag)
	if e == nil {
		return ""
	}
	return allText(e)
}

func TestSignVerify_Roundtrip(t *testing.T) {
	f := newFixture(t)
	signed, err := f.signer.Sign(f.doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>`,
		`<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>`,
		`<ds:Reference URI="">`,
		`<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>`,
		`<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>`,
		"<ds:KeyInfo><ds:X509Data><ds:X509Certificate>",
		"</ds:Signature></rsm:SPSCertificate>",
	} {
		if !bytes.Contains(signed, []byte(want)) {
			t.Errorf("signed document lacks %s", want)
		}
	}
	v, err := f.verifier.Verify(context.Background(), signed)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Signer.Equal(f.official.Cert) {
		t.Errorf("signer %v", v.Signer.Subject)
	}
	if len(v.Chain) != 2 || !v.Chain[1].Equal(f.ca.Cert) {
		t.Errorf("chain of %d, want signer then CL root", len(v.Chain))
	}
	if v.Element.FindElement("//Signature") != nil {
		t.Error("verified element still carries the signature")
	}
	if got := textOf(v.Element, "ID"); got != "CL-2026-000123" {
		t.Errorf("verified ID %q", got)
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

func TestSign_ReferencesRootID(t *testing.T) {
	f := newFixture(t)
	doc := bytes.Replace(f.doc, []byte("<rsm:SPSCertificate "), []byte(`<rsm:SPSCertificate ID="sps-1" `), 1)
	signed, err := f.signer.Sign(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(signed, []byte(`<ds:Reference URI="#sps-1">`)) {
		t.Error("reference is not to the root's ID")
	}
	if _, err := f.verifier.Verify(context.Background(), signed); err != nil {
		t.Fatal(err)
	}
}

func TestSignElement(t *testing.T) {
	f := newFixture(t)
	doc, err := xmlsafe.Parse(f.doc, xmlsafe.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := doc.WriteToString()
	signed, err := f.signer.SignElement(doc.Root())
	if err != nil {
		t.Fatal(err)
	}
	if kids := signed.ChildElements(); kids[len(kids)-1].Tag != "Signature" {
		t.Error("the signature is not the last child")
	}
	if after, _ := doc.WriteToString(); after != before {
		t.Error("SignElement changed its input")
	}
	if _, err := f.signer.SignElement(doc.Root().ChildElements()[0]); err == nil {
		t.Error("signed an element that is not a document's root")
	}
	if _, err := f.signer.SignElement(nil); err == nil {
		t.Error("signed nil")
	}
}

func TestNewSigner_Rejects(t *testing.T) {
	f := newFixture(t)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	smallKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallCert := selfSigned(t, smallKey, "Small Key")
	tests := []struct {
		name  string
		key   crypto.Signer
		chain []*x509.Certificate
		want  string
	}{
		{"no key", nil, []*x509.Certificate{f.official.Cert}, "no key"},
		{"no certificate", f.official.Key, nil, "no certificate"},
		{"nil certificate", f.official.Key, []*x509.Certificate{f.official.Cert, nil}, "certificate 2 is nil"},
		{"ECDSA", ecKey, []*x509.Certificate{f.official.Cert}, "want RSA"},
		{"RSA-1024", smallKey, []*x509.Certificate{smallCert}, "1024 bits"},
		{"key of another certificate", f.official.Key, []*x509.Certificate{f.stranger.Cert}, `signer "CN=Not Listed,O=SAG,C=CL": key does not match`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSigner(tt.key, tt.chain...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one saying %q", err, tt.want)
			}
			if s != nil {
				t.Error("a signer was returned with the error")
			}
		})
	}
}

func selfSigned(t *testing.T, key *rsa.PrivateKey, cn string) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLoadSigner(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(f.official.Key)})
	chain := append(append([]byte{}, f.official.CertPEM...), f.ca.CertPEM...)
	files := map[string][]byte{
		"pkcs8.key": f.official.KeyPEM, "pkcs1.key": pkcs1, "chain.pem": chain,
		"other.pem": f.stranger.CertPEM, "garbage.key": []byte("not PEM"),
	}
	for name, data := range files {
		writeFile(t, dir, name, data)
	}
	at := func(name string) string { return filepath.Join(dir, name) }
	tests := []struct {
		name, key, cert string
		want            string // "" for success, else a part of the error
	}{
		{"PKCS#8 key, certificate chain", "pkcs8.key", "chain.pem", ""},
		{"PKCS#1 key", "pkcs1.key", "chain.pem", ""},
		{"key of another certificate", "pkcs8.key", "other.pem", "key does not match"},
		{"no key in the key file", "garbage.key", "chain.pem", "garbage.key: no PEM private key"},
		{"missing key file", "missing.key", "chain.pem", "missing.key"},
		{"missing certificate file", "pkcs8.key", "missing.pem", "missing.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := LoadSigner(at(tt.key), at(tt.cert))
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want one saying %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !s.Certificate().Equal(f.official.Cert) {
				t.Errorf("Certificate() is %v, want the leaf", s.Certificate().Subject)
			}
			signed, err := s.Sign(f.doc)
			if err != nil {
				t.Fatal(err)
			}
			// The whole chain travels in KeyInfo.
			if n := bytes.Count(signed, []byte("<ds:X509Certificate>")); n != 2 {
				t.Errorf("%d certificates in KeyInfo, want 2", n)
			}
			if _, err := f.verifier.Verify(context.Background(), signed); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestLoadCertificates(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	mixed := append(append(append([]byte("leading text\n"), f.official.CertPEM...), f.official.KeyPEM...), f.ca.CertPEM...)
	writeFile(t, dir, "mixed.pem", mixed)
	writeFile(t, dir, "ca.pem", f.ca.CertPEM)
	writeFile(t, dir, "key-only.pem", f.official.KeyPEM)
	writeFile(t, dir, "broken.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("nope")}))
	tests := []struct {
		files []string
		n     int
		want  string
	}{
		{[]string{"mixed.pem"}, 2, ""},
		{[]string{"mixed.pem", "ca.pem"}, 3, ""},
		{[]string{"ca.pem", "key-only.pem"}, 0, "key-only.pem: no PEM CERTIFICATE"},
		{[]string{"broken.pem"}, 0, "broken.pem: certificate 1"},
		{[]string{"absent.pem"}, 0, "absent.pem"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.files, "+"), func(t *testing.T) {
			var paths []string
			for _, f := range tt.files {
				paths = append(paths, filepath.Join(dir, f))
			}
			cs, err := LoadCertificates(paths...)
			_, perr := LoadPool(paths...)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) || perr == nil {
					t.Fatalf("err = %v (pool: %v), want one saying %q", err, perr, tt.want)
				}
				return
			}
			if err != nil || perr != nil {
				t.Fatal(err, perr)
			}
			if len(cs) != tt.n {
				t.Errorf("%d certificates, want %d", len(cs), tt.n)
			}
		})
	}
}

func TestVerify_Rejects(t *testing.T) {
	f := newFixture(t)
	valid, err := f.signer.Sign(f.doc)
	if err != nil {
		t.Fatal(err)
	}
	sha1Signed := func() []byte {
		doc, err := xmlsafe.Parse(f.doc, xmlsafe.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, err := dsig.NewSigningContext(f.official.Key, [][]byte{f.official.Cert.Raw})
		if err != nil {
			t.Fatal(err)
		}
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
		b, err := doc.WriteToBytes()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// wrap moves the genuinely signed document under an attacker's root
	// that carries the unsigned original with different content: the
	// classic signature-wrapping move.
	wrap := func(signed []byte) []byte {
		s := string(signed)
		inner := s[strings.Index(s, "<rsm:SPSCertificate"):]
		outer := string(f.doc[bytes.Index(f.doc, []byte("<rsm:SPSCertificate")):])
		outer = strings.Replace(outer, "Frutas del Norte", "Evil Corp", 1)
		return []byte(strings.Replace(outer, "</rsm:SPSCertificate>", "<rsm:Wrapper>"+inner+"</rsm:Wrapper></rsm:SPSCertificate>", 1))
	}
	twoSignatures := func() []byte {
		doc, err := xmlsafe.Parse(valid, xmlsafe.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		el, err := f.signer.SignElement(doc.Root())
		if err != nil {
			t.Fatal(err)
		}
		doc.SetRoot(el)
		b, err := doc.WriteToBytes()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name string
		doc  []byte
		want error
	}{
		{"tampered text", bytes.Replace(valid, []byte("12500.5"), []byte("99999.9"), 1), ErrBadSignature},
		{"tampered attribute", bytes.Replace(valid, []byte(`unitCode="KGM"`), []byte(`unitCode="TNE"`), 1), ErrBadSignature},
		{"signer from another country's CA", signWith(t, f.foreign, f.doc), ErrUntrustedSigner},
		{"expired signer", signWith(t, f.expired, f.doc), ErrExpired},
		{"not yet valid signer", signWith(t, f.notYet, f.doc), ErrNotYetValid},
		{"not an authorized official", signWith(t, f.stranger, f.doc), ErrNotAuthorized},
		{"no signature", f.doc, ErrNoSignature},
		{"two signatures", twoSignatures(), ErrMultipleSignatures},
		{"signed document wrapped in another root", wrap(valid), ErrReference},
		{"RSA-SHA1", sha1Signed(), ErrAlgorithm},
		{"reference to another element", bytes.Replace(valid, []byte(`URI=""`), []byte(`URI="#other"`), 1), ErrReference},
		{"DTD", append([]byte(`<!DOCTYPE x [<!ENTITY e "x">]>`), valid[bytes.Index(valid, []byte("<rsm:")):]...), xmlsafe.ErrEntity},
	}
	// Once the signature's certificate is read, every error names it.
	namesSigner := []error{ErrBadSignature, ErrUntrustedSigner, ErrExpired, ErrNotAuthorized, ErrAlgorithm}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := f.verifier.Verify(context.Background(), tt.doc)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if v != nil {
				t.Error("a verified element was returned with the error")
			}
			for _, s := range namesSigner {
				if errors.Is(err, s) && !strings.Contains(err.Error(), `signer "CN=`) {
					t.Errorf("err %q does not name the signer", err)
				}
			}
		})
	}
}

func TestVerify_ErrorSaysWhoAndWhen(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		kp   *devpki.KeyPair
		want string
	}{
		{f.expired, fmt.Sprintf(`signer "CN=Old Official,O=SAG,C=CL": certificate expired at %s`, f.expired.Cert.NotAfter.UTC().Format(time.RFC3339))},
		{f.notYet, fmt.Sprintf(`signer "CN=Future Official,O=SAG,C=CL": certificate not yet valid (valid from %s)`, f.notYet.Cert.NotBefore.UTC().Format(time.RFC3339))},
		{f.stranger, `signer "CN=Not Listed,O=SAG,C=CL": not an authorized official for "sps"`},
		{f.foreign, `signer "CN=Jorge Quispe,O=SENASA,C=PE": certificate not trusted: issued by "CN=PE Root CA (development),O=vucelink dev,C=PE"`},
	}
	for _, tt := range tests {
		t.Run(tt.kp.Cert.Subject.CommonName, func(t *testing.T) {
			_, err := f.verifier.Verify(context.Background(), signWith(t, tt.kp, f.doc))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %v\nwant it to start %s", err, tt.want)
			}
		})
	}
	// Expired matches ErrExpired; not yet valid matches both.
	_, err := f.verifier.Verify(context.Background(), signWith(t, f.notYet, f.doc))
	if !errors.Is(err, ErrExpired) || !errors.Is(err, ErrNotYetValid) {
		t.Errorf("not yet valid: %v", err)
	}
}

// The verification time is the Verifier's, not the machine's.
func TestVerify_Now(t *testing.T) {
	f := newFixture(t)
	signed := signWith(t, f.official, f.doc)
	cert := f.official.Cert
	tests := []struct {
		name string
		now  time.Time
		want error
	}{
		{"a year on", time.Now().AddDate(1, 0, 0), nil},
		{"after NotAfter", cert.NotAfter.Add(time.Minute), ErrExpired},
		{"before NotBefore", cert.NotBefore.Add(-time.Minute), ErrNotYetValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := *f.verifier
			v.Now = func() time.Time { return tt.now }
			_, err := v.Verify(context.Background(), signed)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerify_Intermediates(t *testing.T) {
	f := newFixture(t)
	inter, official := issueIntermediate(t, f.ca)
	withChain, err := NewSigner(official.Key, official.Cert, inter.Cert)
	if err != nil {
		t.Fatal(err)
	}
	leafOnly, err := NewSigner(official.Key, official.Cert)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(s *Signer) []byte {
		out, err := s.Sign(f.doc)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	tests := []struct {
		name          string
		doc           []byte
		intermediates *x509.CertPool
		want          error
	}{
		{"intermediate in KeyInfo", sign(withChain), nil, nil},
		{"intermediate in the Verifier", sign(leafOnly), pool(inter.Cert), nil},
		{"intermediate nowhere", sign(leafOnly), nil, ErrUntrustedSigner},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &Verifier{Roots: pool(f.ca.Cert), Intermediates: tt.intermediates}
			got, err := v.Verify(context.Background(), tt.doc)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err == nil && (len(got.Chain) != 3 || !got.Chain[1].Equal(inter.Cert)) {
				t.Errorf("chain of %d certificates, want signer, intermediate, root", len(got.Chain))
			}
		})
	}
}

// issueIntermediate issues an intermediate CA under ca and an official
// under that; devpki itself issues officials straight from the root.
func issueIntermediate(t *testing.T, ca *devpki.CA) (inter, official *devpki.KeyPair) {
	t.Helper()
	issue := func(tmpl *x509.Certificate, parent *x509.Certificate, parentKey crypto.Signer) *devpki.KeyPair {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return &devpki.KeyPair{Cert: c, Key: key}
	}
	inter = issue(&x509.Certificate{
		Subject:  pkix.Name{CommonName: "SAG Issuing CA", Country: []string{"CL"}},
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true,
	}, ca.Cert, ca.Key)
	official = issue(&x509.Certificate{
		Subject:  pkix.Name{CommonName: "Ana Pérez", Organization: []string{"SAG"}, Country: []string{"CL"}},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}, inter.Cert, inter.Key)
	return inter, official
}

func TestVerify_AuthorizeErrorIsWrapped(t *testing.T) {
	f := newFixture(t)
	suspended := errors.New("suspended since 2026-11-01")
	v := &Verifier{Roots: pool(f.ca.Cert), Authorize: func(*x509.Certificate) error { return suspended }}
	_, err := v.Verify(context.Background(), signWith(t, f.official, f.doc))
	if !errors.Is(err, ErrNotAuthorized) || !errors.Is(err, suspended) {
		t.Fatalf("err = %v, want ErrNotAuthorized wrapping the Authorize error", err)
	}
	if want := `signer "CN=Ana Pérez,O=SAG,C=CL": not an authorized official: suspended since 2026-11-01`; err.Error() != want {
		t.Errorf("err %q\nwant %q", err, want)
	}
}

func TestVerify_RequiresRoots(t *testing.T) {
	f := newFixture(t)
	_, err := (&Verifier{}).Verify(context.Background(), signWith(t, f.official, f.doc))
	if !errors.Is(err, ErrUntrustedSigner) {
		t.Errorf("err = %v", err)
	}
}

// The caller's tree is read, not kept: VerifyElement leaves it as it was,
// and the verified element is a tree of its own.
func TestVerifyElement_LeavesInputAlone(t *testing.T) {
	f := newFixture(t)
	doc, err := xmlsafe.Parse(signWith(t, f.official, f.doc), xmlsafe.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := doc.WriteToString()
	v, err := f.verifier.VerifyElement(context.Background(), doc.Root())
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := doc.WriteToString(); after != before {
		t.Error("VerifyElement changed its input")
	}
	doc.Root().FindElement("//ram:ID").SetText("CHANGED")
	if got := textOf(v.Element, "ID"); got != "CL-2026-000123" {
		t.Errorf("the verified element follows changes to the input: %q", got)
	}
}

// A tree built by other means than xmlsafe may hold what XML forbids
// beside the root; VerifyElement refuses it all the same.
func TestVerifyElement_RefusesContentBesideTheRoot(t *testing.T) {
	f := newFixture(t)
	signed := signWith(t, f.official, f.doc)
	tests := []struct{ name, extra string }{
		{"second root", "<rsm:SPSCertificate xmlns:rsm=\"urn:x\">unsigned</rsm:SPSCertificate>"},
		{"text after the root", "unsigned text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(append(append([]byte{}, signed...), tt.extra...)); err != nil {
				t.Fatal(err)
			}
			if _, err := f.verifier.VerifyElement(context.Background(), doc.Root()); !errors.Is(err, ErrReference) {
				t.Errorf("err = %v, want ErrReference", err)
			}
		})
	}
}

func TestOfficials(t *testing.T) {
	f := newFixture(t)
	o := NewOfficials()
	o.Add(f.official.Cert, "sps", "sps", "cod")
	tests := []struct {
		name string
		cert *x509.Certificate
		doc  string
		want string // "" if authorized
	}{
		{"listed for the document", f.official.Cert, "sps", ""},
		{"listed for another", f.official.Cert, "ack", `signer "CN=Ana Pérez,O=SAG,C=CL": not an authorized official for "ack", only for "sps", "cod"`},
		{"not listed", f.stranger.Cert, "sps", `signer "CN=Not Listed,O=SAG,C=CL": not an authorized official for "sps": the certificate is not in the repository`},
		// Same subject, another certificate: matched on the certificate,
		// never the name.
		{"same name, other certificate", reissue(t, f.ca, f.official), "sps", "not an authorized official"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := o.Authorize(tt.cert, tt.doc)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrNotAuthorized) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrNotAuthorized saying %q", err, tt.want)
			}
		})
	}
}

func reissue(t *testing.T, ca *devpki.CA, kp *devpki.KeyPair) *x509.Certificate {
	t.Helper()
	again, err := ca.IssueOfficial(kp.Cert.Subject.CommonName, kp.Cert.Subject.Organization[0], devpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return again.Cert
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
	v, err := f.verifier.Verify(context.Background(), signed)
	if err != nil {
		t.Fatalf("large document: %v", err)
	}
	if n := len(v.Element.FindElements("//Item")); n != 3000 {
		t.Errorf("verified element has %d items", n)
	}
	if _, err := f.verifier.Verify(context.Background(), bytes.Replace(signed, []byte("<ram:Seq>2999<"), []byte("<ram:Seq>2998<"), 1)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered large document: %v", err)
	}
}
