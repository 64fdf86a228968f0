package certs

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/vucelink/vucelink/certs/opensslkey"
)

// xmlsec1 is Debian's xmlsec1 (libxml2 and OpenSSL underneath), the
// independent XMLDSIG implementation the interop tests check against. CI
// installs it and sets VUCELINK_REQUIRE_XMLSEC1 so these tests cannot
// silently skip there.
func xmlsec1(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("xmlsec1")
	if err != nil {
		if os.Getenv("VUCELINK_REQUIRE_XMLSEC1") != "" {
			t.Fatal("xmlsec1 not found but VUCELINK_REQUIRE_XMLSEC1 is set")
		}
		t.Skip("xmlsec1 not found (apt-get install xmlsec1)")
	}
	return path
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// ePhytoSample is a real ePhyto 17A certificate written by others (with a
// base64 PDF attachment), from the project's shared reference material.
const ePhytoSample = "../../shared/standards/samples/ephyto-17a-spscertificate.xml"

// interopDoc is a document both implementations must sign and verify
// alike. check is a string the verified element must contain.
type interopDoc struct {
	name  string
	doc   []byte
	check string
}

// interopDocs are the documents of the interop tests: the SPS fixtures and
// the corners where two XML stacks most easily disagree (whitespace in
// attribute values, carriage returns, CDATA, comments, character
// references, a byte order mark).
func interopDocs(t *testing.T) []interopDoc {
	t.Helper()
	sps, err := os.ReadFile("testdata/sps.xml")
	if err != nil {
		t.Fatal(err)
	}
	docs := []interopDoc{
		{"sps", sps, "CL-2026-000123"},
		{"sps with a byte order mark", append([]byte("\xEF\xBB\xBF"), sps...), "CL-2026-000123"},
		{"attribute with literal tab and line break", []byte("<r xmlns=\"urn:x\"><m unit=\"K\tG\nM\">1</m></r>"), `unit="K G M"`},
		{"attribute with character references", []byte(`<r xmlns="urn:x"><m unit="K&#9;G&#10;M&#13;">1</m></r>`), "unit=\"K&#x9;G&#xA;M&#xD;\""},
		{"text with a carriage return reference", []byte(`<r xmlns="urn:x"><d>line&#13;&#10;next</d></r>`), "line&#xD;\nnext"},
		{"CDATA and comments and entities", []byte(`<r xmlns="urn:x"><!-- c --><d><![CDATA[a < b & "c"]]> &amp; &#233; &gt;</d></r>`), `a &lt; b &amp; "c" &amp; é &gt;`},
		{"redundant empty default namespace", []byte(`<p:r xmlns:p="urn:p"><v xmlns="">w</v><p:x xmlns=""><y xmlns="urn:d"><z xmlns="">k</z></y></p:x></p:r>`), `<z xmlns="">k</z>`},
		{"prefixes and xml:lang", []byte(`<p:r xmlns:p="urn:p" xmlns:q="urn:q" xmlns:unused="urn:u"><q:s xml:lang="es">t</q:s><p:u q:a="1"><v xmlns="">w</v></p:u></p:r>`), `xml:lang="es"`},
	}
	if sample, err := os.ReadFile(ePhytoSample); err == nil {
		docs = append(docs, interopDoc{"ePhyto 17A sample", sample, "PC-UG-1234513467"})
	} else {
		t.Logf("%s not available: %v", ePhytoSample, err)
	}
	return docs
}

// xmlsec1 verifies what vucelink signs.
func TestInterop_Xmlsec1VerifiesOurSignature(t *testing.T) {
	bin := xmlsec1(t)
	f := newFixture(t)
	dir := t.TempDir()
	ca := writeFile(t, dir, "ca.pem", f.ca.CertPEM)
	// The same key through OpenSSL (crypto.engine openssl) must write the
	// very same bytes: PKCS#1 v1.5 is deterministic.
	var viaOpenSSL *Signer
	if _, err := opensslkey.Open(""); err == nil {
		viaOpenSSL, err = f.signer.Rekey(func(k crypto.Signer) (crypto.Signer, error) { return opensslkey.New(k.(*rsa.PrivateKey)) })
		if err != nil {
			t.Fatal(err)
		}
	} else if os.Getenv("VUCELINK_REQUIRE_OPENSSL") != "" {
		t.Fatal(err)
	}
	for i, d := range interopDocs(t) {
		t.Run(d.name, func(t *testing.T) {
			signed, err := f.signer.Sign(d.doc)
			if err != nil {
				t.Fatal(err)
			}
			if viaOpenSSL != nil {
				again, err := viaOpenSSL.Sign(d.doc)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(again, signed) {
					t.Fatalf("signed through OpenSSL, the document differs:\n%s\n%s", signed, again)
				}
			}
			in := writeFile(t, dir, "signed.xml", signed)
			out, err := exec.Command(bin, "--verify", "--trusted-pem", ca, in).CombinedOutput()
			if err != nil || !bytes.Contains(out, []byte("OK")) {
				t.Fatalf("xmlsec1 --verify: %v\n%s", err, out)
			}
			if i > 0 {
				return
			}
			tampered := bytes.Replace(signed, []byte("Frutas del Norte"), []byte("Frutas del Sur"), 1)
			in = writeFile(t, dir, "tampered.xml", tampered)
			if out, err := exec.Command(bin, "--verify", "--trusted-pem", ca, in).CombinedOutput(); err == nil {
				t.Fatalf("xmlsec1 accepted a tampered document:\n%s", out)
			}
		})
	}
}

// The ID-attribute reference Signer writes when the root has an ID.
func TestInterop_Xmlsec1VerifiesIDReference(t *testing.T) {
	bin := xmlsec1(t)
	f := newFixture(t)
	dir := t.TempDir()
	doc := bytes.Replace(f.doc, []byte("<rsm:SPSCertificate "), []byte(`<rsm:SPSCertificate ID="sps-1" `), 1)
	signed, err := f.signer.Sign(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(signed, []byte(`URI="#sps-1"`)) {
		t.Fatal("the reference is not to the root's ID")
	}
	out, err := exec.Command(bin, "--verify", "--trusted-pem", writeFile(t, dir, "ca.pem", f.ca.CertPEM),
		"--id-attr:ID", "urn:un:unece:uncefact:data:standard:SPSCertificate:11:SPSCertificate",
		writeFile(t, dir, "signed.xml", signed)).CombinedOutput()
	if err != nil {
		t.Fatalf("xmlsec1 --verify: %v\n%s", err, out)
	}
}

// signatureTemplate is the empty signature xmlsec1 fills in: exclusive
// C14N, RSA-SHA256, SHA-256, enveloped, the certificate in X509Data. The
// placeholders are replaced per case.
const signatureTemplate = `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
<ds:SignedInfo>
<ds:CanonicalizationMethod Algorithm="C14N"/>
<ds:SignatureMethod Algorithm="SIGNATURE_METHOD"/>
<ds:Reference URI="">
<ds:Transforms>
<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>
<ds:Transform Algorithm="C14N"/>
</ds:Transforms>
<ds:DigestMethod Algorithm="DIGEST_METHOD"/>
<ds:DigestValue/>
</ds:Reference>
</ds:SignedInfo>
<ds:SignatureValue/>
<ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo>
</ds:Signature>`

// withTemplate inserts the signature template as the root's last child.
func withTemplate(t *testing.T, doc []byte, c14n, signatureMethod, digest string) []byte {
	t.Helper()
	i := bytes.LastIndex(doc, []byte("</"))
	if i < 0 {
		t.Fatal("no end tag to sign before")
	}
	tmpl := strings.NewReplacer("C14N", c14n, "SIGNATURE_METHOD", signatureMethod, "DIGEST_METHOD", digest).Replace(signatureTemplate)
	return append(append(append([]byte{}, doc[:i]...), tmpl...), doc[i:]...)
}

// xmlsec1Sign signs a template with the fixture official's key and
// certificate, as a partner's software would.
func xmlsec1Sign(t *testing.T, bin string, f *fixture, tmpl []byte) []byte {
	t.Helper()
	dir := t.TempDir()
	key := writeFile(t, dir, "key.pem", f.official.KeyPEM)
	cert := writeFile(t, dir, "cert.pem", f.official.CertPEM)
	in := writeFile(t, dir, "template.xml", tmpl)
	outFile := filepath.Join(dir, "signed.xml")
	if out, err := exec.Command(bin, "--sign", "--privkey-pem", key+","+cert, "--output", outFile, in).CombinedOutput(); err != nil {
		t.Fatalf("xmlsec1 --sign: %v\n%s", err, out)
	}
	signed, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

const (
	excC14N   = "http://www.w3.org/2001/10/xml-exc-c14n#"
	c14n10    = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
	rsaSHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	rsaSHA1   = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	sha256URI = "http://www.w3.org/2001/04/xmlenc#sha256"
	sha1URI   = "http://www.w3.org/2000/09/xmldsig#sha1"
)

// vucelink verifies what xmlsec1 signs with the same key and certificate.
func TestInterop_WeVerifyXmlsec1Signature(t *testing.T) {
	bin := xmlsec1(t)
	f := newFixture(t)

	t.Run("template fixture", func(t *testing.T) {
		tmpl, err := os.ReadFile("testdata/xmlsec1-template.xml")
		if err != nil {
			t.Fatal(err)
		}
		signed := xmlsec1Sign(t, bin, f, tmpl)
		v, err := f.verifier.Verify(context.Background(), signed)
		if err != nil {
			t.Fatalf("xmlsec1's signature rejected: %v", err)
		}
		if got := textOf(v.Element, "ID"); got != "MX-2026-000777" {
			t.Errorf("ID %q", got)
		}
		tampered := bytes.Replace(signed, []byte("Agrícola Andina"), []byte("Agrícola Falsa"), 1)
		if _, err := f.verifier.Verify(context.Background(), tampered); !errors.Is(err, ErrBadSignature) {
			t.Errorf("tampered xmlsec1-signed document: %v", err)
		}
	})

	for _, d := range interopDocs(t) {
		t.Run(d.name, func(t *testing.T) {
			signed := xmlsec1Sign(t, bin, f, withTemplate(t, d.doc, excC14N, rsaSHA256, sha256URI))
			v, err := f.verifier.Verify(context.Background(), signed)
			if err != nil {
				t.Fatalf("xmlsec1's signature rejected: %v", err)
			}
			doc := etreeDocument(v.Element)
			out, err := doc.WriteToString()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, d.check) {
				t.Errorf("verified element lacks %q:\n%.2000s", d.check, out)
			}
		})
	}

	// The algorithm policy, against signatures a real foreign signer makes.
	policy := []struct {
		name                 string
		c14n, method, digest string
		want                 error
	}{
		{"inclusive C14N 1.0", c14n10, rsaSHA256, sha256URI, nil},
		{"RSA-SHA1", excC14N, rsaSHA1, sha256URI, ErrAlgorithm},
		{"SHA-1 digest", excC14N, rsaSHA256, sha1URI, ErrAlgorithm},
	}
	for _, p := range policy {
		t.Run(p.name, func(t *testing.T) {
			signed := xmlsec1Sign(t, bin, f, withTemplate(t, f.doc, p.c14n, p.method, p.digest))
			_, err := f.verifier.Verify(context.Background(), signed)
			if !errors.Is(err, p.want) || (p.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, p.want)
			}
		})
	}
}

// etreeDocument serializes like Signer does, so escapes show.
func etreeDocument(e *etree.Element) *etree.Document {
	doc := etree.NewDocument()
	doc.SetRoot(e.Copy())
	doc.WriteSettings = writeSettings
	return doc
}
