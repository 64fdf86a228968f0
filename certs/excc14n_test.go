package certs

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/vucelink/vucelink/xmlsafe"
)

// goxmldsigSign is how Signer signed before it canonicalized on its own:
// goxmldsig's exclusive C14N over a copy of root (without the redundant
// xmlns="" goxmldsig would render), its SignedInfo, the signature appended
// to another copy. It is the reference the new path is compared with: the
// same key signs deterministically (RSA PKCS#1 v1.5), so wherever the two
// canonical forms agree, the two signed documents are the same bytes.
func goxmldsigSign(s *Signer, data []byte) ([]byte, error) {
	doc, err := xmlsafe.Parse(data, xmlsafe.Limits{})
	if err != nil {
		return nil, err
	}
	root := doc.Root()
	ctx, err := dsig.NewSigningContext(s.key, s.der)
	if err != nil {
		return nil, err
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	ctx.Hash = crypto.SHA256
	if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		return nil, err
	}
	digested := root.Copy()
	redundantEmptyDefaults(digested, "", true)
	sig, err := ctx.ConstructSignature(digested, true)
	if err != nil {
		return nil, err
	}
	signed := root.Copy()
	signed.AddChild(sig)
	doc.SetRoot(signed)
	doc.WriteSettings = writeSettings
	return doc.WriteToBytes()
}

// goxmldsigCanonical is goxmldsig's exclusive canonical form of root, with
// the workaround Signer used (redundantEmptyDefaults).
func goxmldsigCanonical(root *etree.Element) ([]byte, error) {
	c := root.Copy()
	redundantEmptyDefaults(c, "", true)
	return dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("").Canonicalize(c)
}

// The documents both canonicalizers must agree on: the interop corners,
// generated certificates of several sizes, and every document of the
// hostile corpus that parses.
func agreementDocs(t testing.TB) map[string][]byte {
	docs := map[string][]byte{}
	if tt, ok := t.(*testing.T); ok {
		for _, d := range interopDocs(tt) {
			docs[d.name] = d.doc
		}
	}
	for _, n := range []int{0, 1, 10, 100} {
		docs[fmt.Sprintf("sps %d items", n)] = spsDocument(n)
	}
	files, _ := filepath.Glob(filepath.Join(hostileDir, "*.xml"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs[filepath.Base(f)] = b
	}
	return docs
}

// Wherever goxmldsig's canonical form is right (it is, but for the two
// interop traps), the one-pass canonicalizer writes the same bytes, and
// Signer writes byte for byte the signature it wrote with goxmldsig.
func TestCanonical_AgreesWithGoxmldsig(t *testing.T) {
	f := newFixture(t)
	for name, data := range agreementDocs(t) {
		t.Run(name, func(t *testing.T) {
			doc, err := xmlsafe.Parse(data, xmlsafe.Limits{})
			if err != nil {
				t.Skipf("not a document: %v", err)
			}
			want, err := goxmldsigCanonical(doc.Root())
			if err != nil {
				t.Fatal(err)
			}
			got, err := canonicalBytes(doc.Root())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("canonical forms differ\n got %.600q\nwant %.600q", got, want)
			}
			if hasSignatureElement(doc.Root()) {
				return // signed already: Sign would add a second signature
			}
			fast, err := f.signer.Sign(data)
			if err != nil {
				t.Fatal(err)
			}
			old, err := goxmldsigSign(f.signer, data)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(signatureOf(fast), signatureOf(old)) || signatureOf(fast) == nil {
				t.Fatalf("signatures differ\n got %.2000s\nwant %.2000s", signatureOf(fast), signatureOf(old))
			}
		})
	}
}

// Exclusive C14N by the specification's examples and rules, each case
// written out by hand (and checked with xmlsec1 where vucelink's own
// output depends on it: TestInterop_AttributesFromTwoNamespaces).
func TestCanonical_Rules(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"attributes by namespace URI, then local name",
			`<r xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:b="urn:b" xmlns:a="urn:z" z="1" xml:lang="es" xsi:schemaLocation="s" b:y="2" a:x="3" a="0"/>`,
			`<r xmlns:a="urn:z" xmlns:b="urn:b" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" a="0" z="1" xsi:schemaLocation="s" xml:lang="es" b:y="2" a:x="3"></r>`},
		{"only visibly utilized namespaces, where first used",
			`<p:r xmlns:p="urn:p" xmlns:q="urn:q" xmlns:u="urn:u"><q:s/><p:t q:a="1"/></p:r>`,
			`<p:r xmlns:p="urn:p"><q:s xmlns:q="urn:q"></q:s><p:t xmlns:q="urn:q" q:a="1"></p:t></p:r>`},
		{"a redeclared prefix is rendered again",
			`<p:r xmlns:p="urn:p"><p:s xmlns:p="urn:other"><p:t/></p:s></p:r>`,
			`<p:r xmlns:p="urn:p"><p:s xmlns:p="urn:other"><p:t></p:t></p:s></p:r>`},
		{"xmlns=\"\" only where a default was rendered",
			`<p:r xmlns:p="urn:p" xmlns=""><v xmlns="">w</v><d xmlns="urn:d"><e xmlns=""/></d></p:r>`,
			`<p:r xmlns:p="urn:p"><v>w</v><d xmlns="urn:d"><e xmlns=""></e></d></p:r>`},
		{"escapes in text and attributes",
			"<r a=\"&lt;&amp;&quot;&#9;&#10;&#13;'&gt;\">&lt;&amp;&gt;&#13;\"'</r>",
			"<r a=\"&lt;&amp;&quot;&#x9;&#xA;&#xD;'>\">&lt;&amp;&gt;&#xD;\"'</r>"},
		{"CDATA as text, comments out, processing instructions in",
			`<r><![CDATA[a<b]]><!--c--><?pi data?><?bare?></r>`,
			`<r>a&lt;b<?pi data?><?bare?></r>`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc, err := xmlsafe.Parse([]byte(c.in), xmlsafe.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := canonicalBytes(doc.Root())
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("\n got %s\nwant %s", got, c.want)
			}
		})
	}

	t.Run("the whole document: processing instructions beside the root", func(t *testing.T) {
		doc, err := xmlsafe.Parse([]byte("<?xml version=\"1.0\"?>\n<?a x?>\n<!-- c -->\n<r/>\n<?b?><!-- d -->\n"), xmlsafe.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		var got bytesHash
		if err := canonicalDigest(&got, doc.Root(), nil, true); err != nil {
			t.Fatal(err)
		}
		if want := "<?a x?>\n<r></r>\n<?b?>"; string(got.b) != want {
			t.Errorf("\n got %q\nwant %q", got.b, want)
		}
	})
}

// xmlsec1Verify runs xmlsec1 --verify on a signed document with the
// fixture's CA and reports whether it said OK, with its output.
func xmlsec1Verify(t *testing.T, bin string, f *fixture, signed []byte) (bool, string) {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command(bin, "--verify", "--trusted-pem", writeFile(t, dir, "ca.pem", f.ca.CertPEM),
		writeFile(t, dir, "signed.xml", signed)).CombinedOutput()
	return err == nil && bytes.Contains(out, []byte("OK")), string(out)
}

// The two interop bugs goxmldsig's canonical form caused, each checked by
// xmlsec1 in both directions; the old signing path is shown to fail the
// same check, so the test can tell the fix from its absence.
func TestInterop_TwoNamespaceAttributesAndOutsideProcessingInstructions(t *testing.T) {
	bin := xmlsec1(t)
	f := newFixture(t)
	sps, err := os.ReadFile("testdata/sps.xml")
	if err != nil {
		t.Fatal(err)
	}
	twoNS := bytes.Replace(sps, []byte("<rsm:SPSCertificate "),
		[]byte(`<rsm:SPSCertificate xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xml:lang="es" xsi:schemaLocation="urn:un:unece:uncefact:data:standard:SPSCertificate:11 SPSCertificate.xsd" `), 1)
	decl := []byte(`<?xml version="1.0" encoding="UTF-8"?>`)
	outside := append(append([]byte{}, decl...), "\n<?xml-stylesheet type=\"text/xsl\" href=\"sps.xsl\"?>\n<!-- issued by the NPPO -->\n"...)
	outside = append(outside, bytes.TrimSpace(bytes.TrimPrefix(sps, decl))...)
	outside = append(outside, "\n<?vucelink-trace hop=\"1\"?>\n"...)
	for _, c := range []struct {
		name, tamperFrom, tamperTo string
		doc                        []byte
	}{
		{"xml:lang beside xsi:schemaLocation", `xml:lang="es"`, `xml:lang="en"`, twoNS},
		{"processing instructions outside the root", `href="sps.xsl"`, `href="evil.xsl"`, outside},
	} {
		t.Run(c.name, func(t *testing.T) {
			signed, err := f.signer.Sign(c.doc)
			if err != nil {
				t.Fatal(err)
			}
			if ok, out := xmlsec1Verify(t, bin, f, signed); !ok {
				t.Fatalf("xmlsec1 rejects vucelink's signature:\n%s", out)
			}
			if _, err := f.verifier.Verify(context.Background(), signed); err != nil {
				t.Fatalf("vucelink rejects its own signature: %v", err)
			}
			tampered := bytes.Replace(signed, []byte(c.tamperFrom), []byte(c.tamperTo), 1)
			if ok, _ := xmlsec1Verify(t, bin, f, tampered); ok {
				t.Fatal("xmlsec1 accepts the tampered document: the test no longer covers what it should")
			}
			if _, err := f.verifier.Verify(context.Background(), tampered); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("tampered: err = %v, want ErrBadSignature", err)
			}

			// xmlsec1's signature of the same document verifies here.
			theirs := xmlsec1Sign(t, bin, f, withTemplate(t, c.doc, excC14N, rsaSHA256, sha256URI))
			if _, err := f.verifier.Verify(context.Background(), theirs); err != nil {
				t.Fatalf("xmlsec1's signature rejected: %v", err)
			}

			// goxmldsig's form of the same signature is what xmlsec1 refused.
			old, err := goxmldsigSign(f.signer, c.doc)
			if err != nil {
				t.Fatal(err)
			}
			if ok, _ := xmlsec1Verify(t, bin, f, old); ok {
				t.Error("xmlsec1 now accepts goxmldsig's form: the bug this test guards is gone upstream")
			}
		})
	}
}

// The fast path and goxmldsig accept and refuse alike on signatures of
// both origins, and the fast path hands over the same content.
func TestVerify_PathsAgree(t *testing.T) {
	f := newFixture(t)
	legacy := *f.verifier
	legacy.viaGoxmldsig = true
	for _, n := range []int{1, 100} {
		signed, err := f.signer.Sign(spsDocument(n))
		if err != nil {
			t.Fatal(err)
		}
		fast, err := f.verifier.Verify(context.Background(), signed)
		if err != nil {
			t.Fatal(err)
		}
		old, err := legacy.Verify(context.Background(), signed)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := canonicalBytes(fast.Element)
		b, _ := canonicalBytes(old.Element)
		if !bytes.Equal(a, b) {
			t.Fatalf("%d items: the paths hand over different content", n)
		}
		if !strings.Contains(string(a), "Frutas del Norte") {
			t.Fatal("verified content is missing")
		}
	}
}

// Sign inserts the signature before the root's end tag and changes no
// other byte, whatever surrounds the root (an end tag inside a comment
// after it, a byte order mark, CDATA); an empty root is opened to hold
// it. xmlsec1 and vucelink verify each.
func TestSign_InsertsTheSignatureOnly(t *testing.T) {
	f := newFixture(t)
	bin := ""
	if path, err := exec.LookPath("xmlsec1"); err == nil {
		bin = path
	}
	for _, c := range []struct{ name, doc, want string }{
		{"comment with an end tag after the root", "<r xmlns=\"urn:x\"><a>1</a></r>\n<!-- </r> -->\n<?pi </r>?>\n", ""},
		{"BOM, CDATA, references, CR LF", "\xEF\xBB\xBF<?xml version=\"1.0\"?>\r\n<r xmlns=\"urn:x\"><a><![CDATA[<b>]]>&#233;&amp;</a>\r\n</r  >", ""},
		{"empty root", "<?xml version=\"1.0\"?>\n<r xmlns=\"urn:x\" a=\"1\"/>\n", "<?xml version=\"1.0\"?>\n<r xmlns=\"urn:x\" a=\"1\"></r>\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			signed, err := f.signer.Sign([]byte(c.doc))
			if err != nil {
				t.Fatal(err)
			}
			sig := signatureOf(signed)
			if sig == nil {
				t.Fatalf("no signature in %q", signed)
			}
			want := c.want
			if want == "" {
				want = c.doc
			}
			if got := string(bytes.Replace(signed, sig, nil, 1)); got != want {
				t.Fatalf("without the signature:\n got %q\nwant %q", got, want)
			}
			if _, err := f.verifier.Verify(context.Background(), signed); err != nil {
				t.Fatalf("verify: %v", err)
			}
			if bin != "" {
				if ok, out := xmlsec1Verify(t, bin, f, signed); !ok {
					t.Fatalf("xmlsec1: %s", out)
				}
			}
		})
	}
}
