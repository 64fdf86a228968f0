package certs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// The COD's two signatures, as xmlsec1 is pointed at each: it handles the
// first ds:Signature in the document unless told which.
var codSignatureXPath = map[string]string{
	"COD":   `//*[local-name()='CODExporter']/*[local-name()='Signature' and namespace-uri()='http://www.w3.org/2000/09/xmldsig#']`,
	"CODEH": `//*[local-name()='CertOrigin']/*[local-name()='Signature' and namespace-uri()='http://www.w3.org/2000/09/xmldsig#']`,
}

// codXmlsec1Args are the flags both directions need: the COD's ids are
// attributes named id on COD and CODEH (no DTD or schema says so), and
// only same-document references are followed.
func codXmlsec1Args(id string) []string {
	return []string{"--id-attr:id", "COD", "--id-attr:id", "CODEH", "--enabled-reference-uris", "same-doc", "--node-xpath", codSignatureXPath[id]}
}

// xmlsec1VerifyCOD runs
//
//	xmlsec1 --verify --trusted-pem CA.pem --id-attr:id COD --id-attr:id CODEH \
//	  --enabled-reference-uris same-doc --node-xpath XPATH FILE
//
// on the signature over #id.
func xmlsec1VerifyCOD(bin, ca, file, id string) ([]byte, error) {
	args := append([]string{"--verify", "--trusted-pem", ca}, codXmlsec1Args(id)...)
	return exec.Command(bin, append(args, file)...).CombinedOutput()
}

// xmlsec1SignCOD fills in the signature template over #id with kp's key,
// as an exporter's or a certifying entity's software would:
//
//	xmlsec1 --sign --privkey-pem KEY.pem,CERT.pem --id-attr:id COD --id-attr:id CODEH \
//	  --enabled-reference-uris same-doc --node-xpath XPATH --output OUT TEMPLATE
func xmlsec1SignCOD(t *testing.T, bin string, keyPEM, certPEM, tmpl []byte, id string) []byte {
	t.Helper()
	dir := t.TempDir()
	key := writeFile(t, dir, "key.pem", keyPEM)
	cert := writeFile(t, dir, "cert.pem", certPEM)
	in := writeFile(t, dir, "template.xml", tmpl)
	out := filepath.Join(dir, "signed.xml")
	args := append([]string{"--sign", "--privkey-pem", key + "," + cert}, codXmlsec1Args(id)...)
	if msg, err := exec.Command(bin, append(args, "--output", out, in)...).CombinedOutput(); err != nil {
		t.Fatalf("xmlsec1 --sign #%s: %v\n%s", id, err, msg)
	}
	signed, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// xmlsec1 verifies both signatures vucelink puts on a COD, and sees what
// each covers: a change in the COD breaks both, one in the certifying
// entity's part only the official's.
func TestSiblingInterop_Xmlsec1VerifiesCOD(t *testing.T) {
	bin := xmlsec1(t)
	c := newCODFixture(t)
	dir := t.TempDir()
	ca := writeFile(t, dir, "ca.pem", c.ca.CertPEM)
	for _, sample := range []string{codACE14, codForm18} {
		t.Run(sample, func(t *testing.T) {
			signed := signedCOD(t, c, sample)
			file := writeFile(t, dir, "signed.xml", signed)
			for _, id := range []string{"COD", "CODEH"} {
				if out, err := xmlsec1VerifyCOD(bin, ca, file, id); err != nil || !bytes.Contains(out, []byte("OK")) {
					t.Fatalf("xmlsec1 --verify #%s: %v\n%s", id, err, out)
				}
			}
			tampered := []struct {
				name, old, new string
				codOK          bool
			}{
				{"COD", "<CODVer>1.8.0</CODVer>", "<CODVer>1.8.2</CODVer>", false},
				{"CertificationEH", "<CertificateID>", "<CertificateID>X", true},
			}
			for _, tc := range tampered {
				data := bytes.Replace(signed, []byte(tc.old), []byte(tc.new), 1)
				if bytes.Equal(data, signed) {
					t.Fatalf("%q not found", tc.old)
				}
				file := writeFile(t, dir, "tampered.xml", data)
				_, err := xmlsec1VerifyCOD(bin, ca, file, "COD")
				if (err == nil) != tc.codOK {
					t.Errorf("tampered %s: xmlsec1 on #COD: %v, want OK=%v", tc.name, err, tc.codOK)
				}
				if out, err := xmlsec1VerifyCOD(bin, ca, file, "CODEH"); err == nil {
					t.Errorf("tampered %s: xmlsec1 accepted #CODEH:\n%s", tc.name, out)
				}
			}
		})
	}
}

// The same for a document of another shape: a default namespace the
// signed element inherits, an Id attribute, the signature further along.
func TestSiblingInterop_Xmlsec1VerifiesGeneric(t *testing.T) {
	bin := xmlsec1(t)
	c := newCODFixture(t)
	doc := parseCOD(t, []byte("<r xmlns=\"urn:r\" xmlns:p=\"urn:p\" xml:lang=\"es\">\n  <a Id=\"x1\" p:k=\"v\">\n    <p:b>K\tG&#13;</p:b>\n  </a>\n  <tail/>\n</r>"))
	if _, err := c.officialSigner.SignSibling(doc, "x1", SiblingOptions{IDAttr: "Id", After: firstTag(doc.Root(), "tail")}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out, err := exec.Command(bin, "--verify", "--trusted-pem", writeFile(t, dir, "ca.pem", c.ca.CertPEM),
		"--id-attr:Id", "urn:r:a", "--enabled-reference-uris", "same-doc",
		writeFile(t, dir, "signed.xml", writeCOD(t, doc))).CombinedOutput()
	if err != nil {
		t.Fatalf("xmlsec1 --verify: %v\n%s", err, out)
	}
}

// vucelink verifies CODs whose two signatures xmlsec1 made from the
// templates in testdata/cod, the exporter's first.
func TestSiblingInterop_WeVerifyXmlsec1COD(t *testing.T) {
	bin := xmlsec1(t)
	c := newCODFixture(t)
	cases := []struct {
		template   string
		needsSHA1  bool
		businessID string
	}{
		// vucelink's algorithms, the sample's ns2 prefix for ds.
		{"cod-template-exc-sha256.xml", false, "BR036A14160000000500"},
		// As CODs in circulation: SignedInfo in C14N with comments,
		// enveloped-signature + exclusive C14N, the exporter RSA-SHA1.
		{"cod-template-production.xml", true, "AR004A14180000002600"},
		// RSA-SHA1 and inclusive C14N with comments throughout, a comment
		// in each SignedInfo.
		{"cod-template-sha1-comments.xml", true, "BR036A14160000000500"},
	}
	for _, tc := range cases {
		t.Run(tc.template, func(t *testing.T) {
			tmpl := codFile(t, tc.template)
			signed := xmlsec1SignCOD(t, bin, c.exporter.KeyPEM, c.exporter.CertPEM, tmpl, "COD")
			signed = xmlsec1SignCOD(t, bin, c.official.KeyPEM, c.official.CertPEM, signed, "CODEH")

			v, err := c.verifier(true).Verify(context.Background(), signed)
			if err != nil {
				t.Fatalf("xmlsec1's COD rejected: %v", err)
			}
			if got := textOf(v.CODEH, "CertificateID"); got != tc.businessID {
				t.Errorf("CertificateID %q", got)
			}
			if v.Exporter.Signer.Subject.CommonName != "IVECO LATIN AMERICA LTDA" || v.Official.Signer.Subject.CommonName != "Ana Pérez" {
				t.Errorf("signers %q and %q", v.Exporter.Signer.Subject.CommonName, v.Official.Signer.Subject.CommonName)
			}
			_, err = c.cod.Verify(context.Background(), signed)
			if tc.needsSHA1 && !errors.Is(err, ErrAlgorithm) {
				t.Errorf("SHA-1 without the policy: %v, want ErrAlgorithm", err)
			}
			if !tc.needsSHA1 && err != nil {
				t.Errorf("without SHA-1: %v", err)
			}

			// VerifySibling alone, on each signature.
			doc := parseCOD(t, signed)
			for _, id := range []string{"COD", "CODEH"} {
				sv, err := VerifySibling(doc, id, SiblingPolicy{Element: id, AllowSHA1: true})
				if err != nil || sv.Element.Tag != id {
					t.Errorf("VerifySibling #%s: %v", id, err)
				}
			}

			// A change xmlsec1's signature covers.
			tampered := bytes.Replace(signed, []byte("<CODSubmitterType>EXP</CODSubmitterType>"), []byte("<CODSubmitterType>REP</CODSubmitterType>"), 1)
			if _, err := c.verifier(true).Verify(context.Background(), tampered); !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), "#COD") {
				t.Errorf("tampered COD: %v", err)
			}
			// A comment in SignedInfo is signed under C14N with comments:
			// changing it breaks the signature value.
			if strings.Contains(tc.template, "comments") {
				tampered := bytes.Replace(signed, []byte("<!-- firma del exportador -->"), []byte("<!-- firma del importador -->"), 1)
				if bytes.Equal(tampered, signed) {
					t.Fatal("SignedInfo comment not found")
				}
				_, err := c.verifier(true).Verify(context.Background(), tampered)
				if !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), "signature value") {
					t.Errorf("changed SignedInfo comment: %v", err)
				}
			}
		})
	}
}

// The xmlsec1 templates match the samples they are made from: the same
// document but for the two empty signatures.
func TestSiblingCOD_TemplatesAreTheSamples(t *testing.T) {
	for tmpl, sample := range map[string]string{
		"cod-template-exc-sha256.xml":    codACE14,
		"cod-template-production.xml":    codForm18Cert,
		"cod-template-sha1-comments.xml": codACE14,
	} {
		doc := parseCOD(t, codFile(t, tmpl))
		for _, sig := range []*etree.Element{exporterSig(doc), officialSig(doc)} {
			if sig == nil {
				t.Fatalf("%s: a signature template is missing", tmpl)
			}
			sig.Parent().RemoveChild(sig)
		}
		want := parseCOD(t, codFile(t, sample))
		for _, d := range []*etree.Document{doc, want} {
			d.Root().IndentWithSettings(&etree.IndentSettings{Spaces: 0})
		}
		if a, b := writeCOD(t, doc), writeCOD(t, want); !bytes.Equal(a, b) {
			t.Errorf("%s is not %s with two signature templates", tmpl, sample)
		}
	}
}

// A sibling signature over an element with attributes from two namespaces
// (xml:lang sorts before p:k: its namespace URI is http://www.w3.org/...):
// goxmldsig's canonical form put them the other way, and xmlsec1 refused.
func TestSiblingInterop_AttributesFromTwoNamespaces(t *testing.T) {
	bin := xmlsec1(t)
	c := newCODFixture(t)
	doc := parseCOD(t, []byte(`<r xmlns="urn:r" xmlns:p="urn:p"><a Id="x1" p:k="v" xml:lang="es"><p:b>1</p:b></a><tail/></r>`))
	if _, err := c.officialSigner.SignSibling(doc, "x1", SiblingOptions{IDAttr: "Id", After: firstTag(doc.Root(), "tail")}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out, err := exec.Command(bin, "--verify", "--trusted-pem", writeFile(t, dir, "ca.pem", c.ca.CertPEM),
		"--id-attr:Id", "urn:r:a", "--enabled-reference-uris", "same-doc",
		writeFile(t, dir, "signed.xml", writeCOD(t, doc))).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("OK")) {
		t.Fatalf("xmlsec1 --verify: %v\n%s", err, out)
	}
}
