package certs

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/vucelink/vucelink/certs/devpki"
	"github.com/vucelink/vucelink/xmlsafe"
)

// codFixture adds to the shared fixture (CL's CA, Ana Pérez its official)
// an exporter certified by the same CA, the officials authorized for
// "cod", and a CODVerifier trusting both.
type codFixture struct {
	*fixture
	exporter                       *devpki.KeyPair
	exporterSigner, officialSigner *Signer
	codOfficials                   *Officials
	cod                            *CODVerifier
}

var (
	sharedCOD    *codFixture
	sharedCODErr error
	sharedCODSet sync.Once
)

func newCODFixture(t testing.TB) *codFixture {
	t.Helper()
	f := newFixture(t)
	sharedCODSet.Do(func() {
		c := &codFixture{fixture: f}
		if c.exporter, sharedCODErr = f.ca.IssueOfficial("IVECO LATIN AMERICA LTDA", "Exportador", devpki.Options{}); sharedCODErr != nil {
			return
		}
		if c.exporterSigner, sharedCODErr = NewSigner(c.exporter.Key, c.exporter.Cert); sharedCODErr != nil {
			return
		}
		c.officialSigner = f.signer
		c.codOfficials = NewOfficials()
		c.codOfficials.Add(f.official.Cert, "cod")
		c.cod = c.verifier(false)
		sharedCOD = c
	})
	if sharedCODErr != nil {
		t.Fatal(sharedCODErr)
	}
	return sharedCOD
}

// verifier returns a CODVerifier: exporters and officials certified by the
// fixture's CA, officials authorized for "cod".
func (c *codFixture) verifier(allowSHA1 bool) *CODVerifier {
	return &CODVerifier{
		Exporters: &Verifier{Roots: pool(c.ca.Cert)},
		Officials: &Verifier{Roots: pool(c.ca.Cert), Authorize: func(cert *x509.Certificate) error {
			return c.codOfficials.Authorize(cert, "cod")
		}},
		AllowSHA1: allowSHA1,
	}
}

// The COD fixtures: the two unsigned samples from ALADI's shared material
// (copied here), and the second completed by a certifying entity.
const (
	codACE14       = "cod-1.8.0-ace14-unsigned.xml"        // with EH and CertificationEH
	codForm18      = "cod-1.8.0-a14-forma18-unsigned.xml"  // without
	codForm18Cert  = "cod-1.8.0-a14-forma18-certified.xml" // codForm18 plus EH and CertificationEH
	codTestdataDir = "testdata/cod"
)

func codFile(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(codTestdataDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// certifyCOD adds the certifying entity's EH and CertificationEH (those of
// codForm18Cert) to an exporter-signed COD that lacks them.
func certifyCOD(t testing.TB, data []byte) []byte {
	t.Helper()
	certified := parseCOD(t, codFile(t, codForm18Cert))
	codeh := firstTag(certified.Root(), "CODEH")
	doc := parseCOD(t, data)
	target := firstTag(doc.Root(), "CODEH")
	for _, tag := range []string{"EH", "CertificationEH"} {
		target.AddChild(firstTag(codeh, tag).Copy())
	}
	return writeCOD(t, doc)
}

// signedCOD is a sample signed by the exporter, completed if need be, and
// signed by the official, as vucelink does it.
func signedCOD(t testing.TB, c *codFixture, sample string) []byte {
	t.Helper()
	data, err := c.exporterSigner.SignCODExporter(codFile(t, sample))
	if err != nil {
		t.Fatal(err)
	}
	if firstTag(parseCOD(t, data).Root(), "EH") == nil {
		data = certifyCOD(t, data)
	}
	if data, err = c.officialSigner.SignCODOfficial(data); err != nil {
		t.Fatal(err)
	}
	return data
}

func parseCOD(t testing.TB, data []byte) *etree.Document {
	t.Helper()
	doc, err := xmlsafe.Parse(data, xmlsafe.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func writeCOD(t testing.TB, doc *etree.Document) []byte {
	t.Helper()
	doc.WriteSettings = writeSettings
	out, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// allTags returns every element under e (e included) with local name tag.
func allTags(e *etree.Element, tag string) []*etree.Element {
	var out []*etree.Element
	walkElements(e, func(c *etree.Element) {
		if c.Tag == tag {
			out = append(out, c)
		}
	})
	return out
}

func firstTag(e *etree.Element, tag string) *etree.Element {
	if all := allTags(e, tag); len(all) > 0 {
		return all[0]
	}
	return nil
}

// exporterSig and officialSig are the two signatures of a COD.
func exporterSig(doc *etree.Document) *etree.Element {
	return child(firstTag(doc.Root(), "CODExporter"), dsig.SignatureTag)
}

func officialSig(doc *etree.Document) *etree.Element {
	return child(firstTag(doc.Root(), "CertOrigin"), dsig.SignatureTag)
}

func TestSiblingCOD_SignVerify(t *testing.T) {
	c := newCODFixture(t)
	for _, sample := range []string{codACE14, codForm18} {
		t.Run(sample, func(t *testing.T) {
			stage2, err := c.exporterSigner.SignCODExporter(codFile(t, sample))
			if err != nil {
				t.Fatal(err)
			}
			exp, err := c.cod.VerifyExporter(context.Background(), stage2)
			if err != nil {
				t.Fatalf("exporter's signature: %v", err)
			}
			if exp.Element.Tag != "COD" || textOf(exp.Element, "CODVer") != "1.8.0" || exp.Signer.Subject.CommonName != "IVECO LATIN AMERICA LTDA" {
				t.Errorf("exporter verified %s", exp.Element.Tag)
			}
			if _, err := c.cod.Verify(context.Background(), stage2); !errors.Is(err, ErrNoSignature) {
				t.Errorf("Verify of an exporter-signed COD: %v, want ErrNoSignature", err)
			}
			if _, err := c.exporterSigner.SignCODExporter(stage2); err == nil {
				t.Error("the exporter signed twice")
			}
			if sample == codForm18 {
				if _, err := c.officialSigner.SignCODOfficial(stage2); err == nil {
					t.Error("the official signed a COD without EH and CertificationEH")
				}
				stage2 = certifyCOD(t, stage2)
			}
			// The certifying entity's part leaves the exporter's signature
			// alone: it is outside #COD.
			if _, err := c.cod.VerifyExporter(context.Background(), stage2); err != nil {
				t.Fatalf("exporter's signature after certification: %v", err)
			}
			signed, err := c.officialSigner.SignCODOfficial(stage2)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.officialSigner.SignCODOfficial(signed); err == nil {
				t.Error("the official signed twice")
			}

			v, err := c.cod.Verify(context.Background(), signed)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if v.CODEH.Tag != "CODEH" || textOf(v.CODEH, "CertificateID") == "" || textOf(v.CODEH, "CODVer") != "1.8.0" {
				t.Errorf("verified CODEH lacks its content")
			}
			if firstTag(v.CODEH, "Signature") == nil {
				t.Error("the verified CODEH lacks the exporter's signature it covers")
			}
			if v.Official.Signer.Subject.CommonName != "Ana Pérez" || len(v.Official.Chain) != 2 || len(v.Exporter.Chain) != 2 {
				t.Errorf("official %q, chains %d and %d", v.Official.Signer.Subject.CommonName, len(v.Official.Chain), len(v.Exporter.Chain))
			}
			if v.CODEH.Parent() == nil || v.CODEH.Parent().Parent() != nil {
				t.Error("the verified CODEH is not the root of a document of its own")
			}

			// Where the schema puts the signatures, and what they say.
			doc := parseCOD(t, signed)
			if got := tagList(firstTag(doc.Root(), "CODExporter").ChildElements()); got != "COD, ds:Signature" {
				t.Errorf("CODExporter holds %s", got)
			}
			if got := tagList(firstTag(doc.Root(), "CertOrigin").ChildElements()); got != "CODEH, ds:Signature" {
				t.Errorf("CertOrigin holds %s", got)
			}
			for sig, uri := range map[*etree.Element]string{exporterSig(doc): "#COD", officialSig(doc): "#CODEH"} {
				ref := dsPath(sig, dsig.SignedInfoTag, dsig.ReferenceTag)
				if got := ref.SelectAttrValue("URI", ""); got != uri {
					t.Errorf("reference %q, want %q", got, uri)
				}
				ts := dsPath(ref, dsig.TransformsTag).ChildElements()
				if len(ts) != 1 || ts[0].SelectAttrValue("Algorithm", "") != siblingExcC14N {
					t.Errorf("%s: transforms %v, want exclusive C14N alone", uri, ts)
				}
			}
			// The rest of the document is as it was: the samples' layout.
			if !bytes.Contains(signed, []byte("\n\t\t\t\t\t<CODVer>1.8.0</CODVer>")) && !bytes.Contains(signed, []byte("\n                    <CODVer>1.8.0</CODVer>")) {
				t.Error("the sample's layout was changed")
			}
		})
	}
}

// The generic API on a document of another shape: an Id attribute, a
// default namespace the signed element inherits, a prefix declared above
// it, and the signature placed further along.
func TestSignSibling_Options(t *testing.T) {
	c := newCODFixture(t)
	const src = `<r xmlns="urn:r" xmlns:p="urn:p" xml:lang="es"><head/><a Id="x1"><p:b>v</p:b><c p:k="1"/></a><tail/></r>`
	sign := func(t *testing.T, id string, o SiblingOptions) (*etree.Document, *etree.Element, error) {
		doc := parseCOD(t, []byte(src))
		if o.After != nil {
			o.After = firstTag(doc.Root(), o.After.Tag)
		}
		sig, err := c.officialSigner.SignSibling(doc, id, o)
		return doc, sig, err
	}

	doc, sig, err := sign(t, "x1", SiblingOptions{IDAttr: "Id", Element: "a", After: &etree.Element{Tag: "tail"}})
	if err != nil {
		t.Fatal(err)
	}
	if sig.Parent() != doc.Root() || sig.Index() != firstTag(doc.Root(), "tail").Index()+1 {
		t.Fatal("the signature is not after <tail>")
	}
	reparsed := parseCOD(t, writeCOD(t, doc))
	v, err := VerifySibling(reparsed, "x1", SiblingPolicy{IDAttr: "Id", Element: "a"})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := etreeDocument(v.Element).WriteToString()
	if want := `<a xmlns="urn:r" Id="x1"><p:b xmlns:p="urn:p">v</p:b><c xmlns:p="urn:p" p:k="1"/></a>`; out != want {
		t.Errorf("verified element\n%s\nwant\n%s", out, want)
	}
	if v.Signer.Subject.CommonName != "Ana Pérez" || v.SignatureMethod != siblingRSASHA256 || v.DigestMethod != siblingSHA256 {
		t.Errorf("signer %q, %s, %s", v.Signer.Subject.CommonName, v.SignatureMethod, v.DigestMethod)
	}
	if _, err := VerifySibling(reparsed, "x1", SiblingPolicy{}); !errors.Is(err, ErrReference) || !strings.Contains(err.Error(), "want attribute id") {
		t.Errorf("ID attribute Id verified as id: %v", err)
	}
	if _, err := c.officialSigner.SignSibling(reparsed, "x1", SiblingOptions{IDAttr: "Id"}); !errors.Is(err, ErrMultipleSignatures) {
		t.Errorf("signing twice: %v", err)
	}

	// Right after the signed element by default.
	doc, sig, err = sign(t, "x1", SiblingOptions{IDAttr: "Id"})
	if err != nil {
		t.Fatal(err)
	}
	if sig.Index() != firstTag(doc.Root(), "a").Index()+1 {
		t.Error("the signature is not right after <a>")
	}

	refused := []struct {
		name, src, id string
		o             SiblingOptions
		want          string
	}{
		{"unknown ID", src, "x2", SiblingOptions{IDAttr: "Id"}, "no element has the ID"},
		{"other attribute", src, "x1", SiblingOptions{}, "want attribute id"},
		{"other element", src, "x1", SiblingOptions{IDAttr: "Id", Element: "COD"}, "want <COD>"},
		{"the root", `<r id="r"><a/></r>`, "r", SiblingOptions{}, "root element"},
		{"duplicate ID", `<r><a id="x"/><b ID="x"/></r>`, "x", SiblingOptions{}, "is the ID of <a id>, <b ID>"},
		{"comment", `<r><a id="x"><b>1<!-- c -->2</b></a></r>`, "x", SiblingOptions{}, "comment"},
		{"position elsewhere", `<r><a id="x"/><s><t/></s></r>`, "x", SiblingOptions{After: &etree.Element{Tag: "t"}}, "not beside"},
	}
	for _, r := range refused {
		t.Run(r.name, func(t *testing.T) {
			doc := parseCOD(t, []byte(r.src))
			if r.o.After != nil {
				r.o.After = firstTag(doc.Root(), r.o.After.Tag)
			}
			before := writeCOD(t, doc)
			_, err := c.officialSigner.SignSibling(doc, r.id, r.o)
			if err == nil || !strings.Contains(err.Error(), r.want) {
				t.Fatalf("err = %v, want %q", err, r.want)
			}
			if !bytes.Equal(writeCOD(t, doc), before) {
				t.Error("a refused signing changed the document")
			}
		})
	}
}

// Changes inside a signed value: whitespace and comments. A same-document
// reference never signs comments, so a comment inside a value is refused
// (or, with IgnoreComments, dropped from what is returned); one that hides
// part of a value changes the text and fails the digest either way; one
// between elements splits nothing. Markup that reads the same (CDATA,
// character references) verifies.
func TestVerifySibling_Injection(t *testing.T) {
	c := newCODFixture(t)
	signed := signedCOD(t, c, codACE14)
	const value = "<ExporterBusinessName>IVECO LATIN AMERICA LTDA</ExporterBusinessName>"
	if !bytes.Contains(signed, []byte(value)) {
		t.Fatal("sample value not found")
	}
	cases := []struct {
		name, replacement string
		want, ignoring    error // default policy, IgnoreComments
	}{
		{"space appended", "<ExporterBusinessName>IVECO LATIN AMERICA LTDA </ExporterBusinessName>", ErrBadSignature, ErrBadSignature},
		{"line break inside", "<ExporterBusinessName>IVECO LATIN\nAMERICA LTDA</ExporterBusinessName>", ErrBadSignature, ErrBadSignature},
		{"comment inside", "<ExporterBusinessName>IVECO LATIN<!---->AMERICA LTDA</ExporterBusinessName>", ErrBadSignature, ErrBadSignature},
		{"comment between", "<ExporterBusinessName>IVECO <!--x-->LATIN AMERICA LTDA</ExporterBusinessName>", ErrBadSignature, nil},
		{"comment hiding words", "<ExporterBusinessName>IVECO <!--LATIN AMERICA -->LTDA</ExporterBusinessName>", ErrBadSignature, ErrBadSignature},
		{"comment between elements", value + "<!-- ok: splits nothing -->", nil, nil},
		{"CDATA", "<ExporterBusinessName><![CDATA[IVECO LATIN AMERICA LTDA]]></ExporterBusinessName>", nil, nil},
		{"character reference", "<ExporterBusinessName>IVECO LATIN AMERIC&#65; LTDA</ExporterBusinessName>", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := bytes.Replace(signed, []byte(value), []byte(tc.replacement), 1)
			for _, ignore := range []bool{false, true} {
				want := tc.want
				if ignore {
					want = tc.ignoring
				}
				v := c.verifier(false)
				v.IgnoreComments = ignore
				got, err := v.Verify(context.Background(), data)
				if !errors.Is(err, want) || (want == nil && err != nil) {
					t.Fatalf("IgnoreComments=%v: err = %v, want %v", ignore, err, want)
				}
				if err != nil {
					if !strings.Contains(err.Error(), "COD exporter") {
						t.Errorf("the error does not say which signature failed: %v", err)
					}
					continue
				}
				if name := textOf(got.CODEH, "ExporterBusinessName"); name != "IVECO LATIN AMERICA LTDA" {
					t.Errorf("verified value %q", name)
				}
				if strings.Contains(etreeString(t, got.CODEH), "<!--") || strings.Contains(etreeString(t, got.Exporter.Element), "<!--") {
					t.Error("a comment reached the verified element")
				}
			}
		})
	}
}

func etreeString(t *testing.T, e *etree.Element) string {
	t.Helper()
	s, err := etreeDocument(e).WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// resealSibling recomputes sig (over el) as its signer would: the digest
// (exclusive C14N unless the reference names C14N 1.0) and the signature
// value, with the algorithms sig names and s's key, so that only the
// policy can reject it.
func resealSibling(t *testing.T, s *Signer, sig, el *etree.Element) {
	t.Helper()
	si := child(sig, dsig.SignedInfoTag)
	ref := child(si, dsig.ReferenceTag)
	refC14N := siblingC14N{exclusive: true}
	if ts := child(ref, dsig.TransformsTag); ts != nil {
		for _, tr := range ts.ChildElements() {
			if m, ok := siblingCanonicalizations[tr.SelectAttrValue("Algorithm", "")]; ok {
				refC14N = m
			}
		}
	}
	if el != nil {
		h := siblingDigestMethods[child(ref, dsig.DigestMethodTag).SelectAttrValue("Algorithm", "")]
		d, err := siblingDigest(el, refC14N, "", h)
		if err != nil {
			t.Fatal(err)
		}
		child(ref, dsig.DigestValueTag).SetText(base64.StdEncoding.EncodeToString(d))
	}
	h := siblingSignatureMethods[child(si, dsig.SignatureMethodTag).SelectAttrValue("Algorithm", "")]
	m := siblingCanonicalizations[child(si, dsig.CanonicalizationMethodTag).SelectAttrValue("Algorithm", "")]
	value, err := s.signSignedInfo(si, m, h)
	if err != nil {
		t.Fatal(err)
	}
	child(sig, dsig.SignatureValueTag).SetText(base64.StdEncoding.EncodeToString(value))
}

// setAlgorithm rewrites the Algorithm of sig's first ds:tag.
func setAlgorithm(sig *etree.Element, tag, alg string) {
	walkElements(sig, func(e *etree.Element) {
		if e.Tag == tag && e.NamespaceURI() == dsig.Namespace {
			e.SelectAttr("Algorithm").Value = alg
		}
	})
}

// The sibling-signature attacks on a COD signed by both parties, each with
// the sentinel it must fail with and the words that say why.
func TestSiblingCOD_Hostile(t *testing.T) {
	c := newCODFixture(t)
	signed := signedCOD(t, c, codACE14)
	const xpath = "http://www.w3.org/TR/1999/REC-xpath-19991116"
	const xslt = "http://www.w3.org/TR/1999/REC-xslt-19991116"

	// addTransform puts a transform before the exporter's C14N and reseals.
	addTransform := func(alg string, body func(*etree.Element)) func(*testing.T, *etree.Document) {
		return func(t *testing.T, doc *etree.Document) {
			sig := exporterSig(doc)
			ts := dsPath(sig, dsig.SignedInfoTag, dsig.ReferenceTag, dsig.TransformsTag)
			tr := newDS(dsig.TransformTag, "Algorithm", alg)
			body(tr)
			ts.InsertChildAt(0, tr)
			resealSibling(t, c.exporterSigner, sig, firstTag(doc.Root(), "COD"))
		}
	}
	cases := []struct {
		name   string
		mutate func(*testing.T, *etree.Document)
		want   error
		says   string
	}{
		{"reference to an ID that appears twice", func(t *testing.T, doc *etree.Document) {
			firstTag(doc.Root(), "EH").CreateAttr("id", "COD")
		}, ErrDuplicateID, `"COD" is the ID of <COD id>, <EH id>`},
		{"ID twice, under another attribute name", func(t *testing.T, doc *etree.Document) {
			firstTag(doc.Root(), "CertificationEH").CreateAttr("ID", "CODEH")
		}, ErrDuplicateID, `"CODEH" is the ID of <CODEH id>, <CertificationEH ID>`},
		{"signed element moved, forged one in its place", func(t *testing.T, doc *etree.Document) {
			cod := firstTag(doc.Root(), "COD")
			forged := cod.Copy()
			forged.RemoveAttr("id")
			firstTag(forged, "ExporterBusinessName").SetText("FORGED SA")
			header := etree.NewElement("ns1:Header")
			doc.Root().InsertChildAt(0, header)
			cod.Parent().InsertChildAt(cod.Index(), forged)
			cod.Parent().RemoveChild(cod)
			header.AddChild(cod)
		}, ErrReference, "a <COD> outside the signed CODEH"},
		{"signed element wrapped in place", func(t *testing.T, doc *etree.Document) {
			cod := firstTag(doc.Root(), "COD")
			parent := cod.Parent()
			wrapper := etree.NewElement("Wrapper")
			parent.InsertChildAt(cod.Index(), wrapper)
			parent.RemoveChild(cod)
			wrapper.AddChild(cod)
		}, ErrReference, "CODExporter does not begin with COD"},
		{"second COD element, unsigned, beside the signed one", func(t *testing.T, doc *etree.Document) {
			cod := firstTag(doc.Root(), "COD")
			forged := cod.Copy()
			forged.RemoveAttr("id")
			cod.Parent().InsertChildAt(cod.Index(), forged)
		}, ErrReference, "CODExporter holds COD, COD, ds:Signature"},
		{"second COD element, unsigned, in the header", func(t *testing.T, doc *etree.Document) {
			forged := firstTag(doc.Root(), "COD").Copy()
			forged.RemoveAttr("id")
			header := etree.NewElement("ns1:Header")
			header.AddChild(forged)
			doc.Root().InsertChildAt(0, header)
		}, ErrReference, "a <COD> outside the signed CODEH"},
		{"XPath transform", addTransform(xpath, func(tr *etree.Element) {
			x := newDS("XPath")
			x.SetText("not(ancestor-or-self::Goods)")
			tr.AddChild(x)
		}), ErrAlgorithm, `transform "` + xpath + `"`},
		{"XSLT transform", addTransform(xslt, func(tr *etree.Element) {}), ErrAlgorithm, `transform "` + xslt + `"`},
		{"C14N 1.1 transform", addTransform(string(dsig.CanonicalXML11AlgorithmId), func(tr *etree.Element) {}), ErrAlgorithm, `transform "` + string(dsig.CanonicalXML11AlgorithmId) + `"`},
		{"two canonicalizations", addTransform(siblingExcC14N, func(tr *etree.Element) {}), ErrAlgorithm, "transform chain"},
		{"RSA-SHA1 and SHA-1 without the policy", func(t *testing.T, doc *etree.Document) {
			sig := exporterSig(doc)
			setAlgorithm(sig, dsig.SignatureMethodTag, siblingRSASHA1)
			setAlgorithm(sig, dsig.DigestMethodTag, siblingSHA1)
			resealSibling(t, c.exporterSigner, sig, firstTag(doc.Root(), "COD"))
			resealSibling(t, c.officialSigner, officialSig(doc), firstTag(doc.Root(), "CODEH"))
		}, ErrAlgorithm, `signature method "` + siblingRSASHA1 + `"`},
		{"SHA-1 digest without the policy", func(t *testing.T, doc *etree.Document) {
			sig := officialSig(doc)
			setAlgorithm(sig, dsig.DigestMethodTag, siblingSHA1)
			resealSibling(t, c.officialSigner, sig, firstTag(doc.Root(), "CODEH"))
		}, ErrAlgorithm, `digest "` + siblingSHA1 + `"`},
		{"tampered value in COD", func(t *testing.T, doc *etree.Document) {
			firstTag(doc.Root(), "GoodsItemFOB").SetText("1550.00")
		}, ErrBadSignature, "COD exporter: signer \"CN=IVECO LATIN AMERICA LTDA,O=Exportador,C=CL\": #COD: signature does not match the document: the digest of <COD>"},
		{"tampered value in CertificationEH", func(t *testing.T, doc *etree.Document) {
			firstTag(doc.Root(), "CertificateDate").SetText("2016-12-02T14:02:25")
		}, ErrBadSignature, "COD certifying official: signer \"CN=Ana Pérez,O=SAG,C=CL\": #CODEH: signature does not match the document: the digest of <CODEH>"},
		{"tampered exporter signature (inside CODEH)", func(t *testing.T, doc *etree.Document) {
			x := dsPath(exporterSig(doc), dsig.KeyInfoTag, dsig.X509DataTag)
			x.AddChild(x.ChildElements()[0].Copy())
		}, ErrBadSignature, "the digest of <CODEH>"},
		{"comment injected into a value", func(t *testing.T, doc *etree.Document) {
			e := firstTag(doc.Root(), "CertificateID")
			e.InsertChildAt(1, etree.NewComment("x"))
		}, ErrBadSignature, "a comment in the value of <CertificateID> inside <CODEH>"},
		{"exporter's signature references an unexpected ID", func(t *testing.T, doc *etree.Document) {
			sig := exporterSig(doc)
			eh := firstTag(doc.Root(), "EH")
			eh.CreateAttr("id", "EH")
			dsPath(sig, dsig.SignedInfoTag, dsig.ReferenceTag).SelectAttr("URI").Value = "#EH"
			resealSibling(t, c.exporterSigner, sig, eh)
		}, ErrReference, `the exporter's ds:Signature references ["#EH"], want just "#COD"`},
		{"the ID moved to an unexpected element", func(t *testing.T, doc *etree.Document) {
			cod := firstTag(doc.Root(), "COD")
			cod.RemoveAttr("id")
			form := firstTag(cod, "FormA14")
			form.CreateAttr("id", "COD")
			resealSibling(t, c.exporterSigner, exporterSig(doc), form)
		}, ErrReference, "#COD is <FormA14>, want <COD>"},
		{"no signature for #COD", func(t *testing.T, doc *etree.Document) {
			sig := exporterSig(doc)
			sig.Parent().RemoveChild(sig)
		}, ErrNoSignature, "the exporter has not signed"},
		{"a second signature for #COD", func(t *testing.T, doc *etree.Document) {
			header := etree.NewElement("ns1:Header")
			header.AddChild(exporterSig(doc).Copy())
			doc.Root().InsertChildAt(0, header)
		}, ErrMultipleSignatures, `a second ds:Signature for ["#COD"] in <ns1:Header>`},
		{"two references", func(t *testing.T, doc *etree.Document) {
			sig := exporterSig(doc)
			si := child(sig, dsig.SignedInfoTag)
			si.AddChild(child(si, dsig.ReferenceTag).Copy())
			resealSibling(t, c.exporterSigner, sig, nil)
		}, ErrReference, `references ["#COD" "#COD"]`},
		{"ds:Object in the signature", func(t *testing.T, doc *etree.Document) {
			sig := exporterSig(doc)
			sig.AddChild(newDS("Object"))
		}, ErrReference, "ds:Object"},
		{"enveloped instead of sibling", func(t *testing.T, doc *etree.Document) {
			sig := exporterSig(doc)
			cod := firstTag(doc.Root(), "COD")
			sig.Parent().RemoveChild(sig)
			cod.AddChild(sig)
		}, ErrReference, "a ds:Signature in <COD>"},
		{"exporter signs in the official's place", func(t *testing.T, doc *etree.Document) {
			sig := officialSig(doc)
			x := dsPath(sig, dsig.KeyInfoTag, dsig.X509DataTag, dsig.X509CertificateTag)
			x.SetText(base64.StdEncoding.EncodeToString(c.exporter.Cert.Raw))
			resealSibling(t, c.exporterSigner, sig, nil)
		}, ErrNotAuthorized, "not an authorized official"},
		{"official's certificate from another CA", func(t *testing.T, doc *etree.Document) {
			foreign, err := NewSigner(c.foreign.Key, c.foreign.Cert)
			if err != nil {
				t.Fatal(err)
			}
			sig := officialSig(doc)
			x := dsPath(sig, dsig.KeyInfoTag, dsig.X509DataTag, dsig.X509CertificateTag)
			x.SetText(base64.StdEncoding.EncodeToString(c.foreign.Cert.Raw))
			resealSibling(t, foreign, sig, nil)
		}, ErrUntrustedSigner, "certificate not trusted"},
		{"signature value from another key", func(t *testing.T, doc *etree.Document) {
			resealSibling(t, c.exporterSigner, officialSig(doc), nil)
		}, ErrBadSignature, "the signature value does not match SignedInfo"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := parseCOD(t, signed)
			tc.mutate(t, doc)
			data := writeCOD(t, doc)
			_, err := c.cod.Verify(context.Background(), data)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("err = %v\nwant it to say %q", err, tc.says)
			}
			if n := sentinelsIn(err); n != 1 {
				t.Errorf("err wraps %d sentinels, want 1: %v", n, err)
			}
		})
	}
}

// VerifySibling itself, without CODVerifier's structure checks, refuses
// the same wrapping set-ups.
func TestVerifySibling_Wrapping(t *testing.T) {
	c := newCODFixture(t)
	signed := signedCOD(t, c, codACE14)
	policy := SiblingPolicy{Element: "COD"}
	cases := []struct {
		name   string
		mutate func(*etree.Document)
		want   error
		says   string
	}{
		{"genuine", func(*etree.Document) {}, nil, ""},
		{"signed element moved", func(doc *etree.Document) {
			cod := firstTag(doc.Root(), "COD")
			cod.Parent().RemoveChild(cod)
			firstTag(doc.Root(), "EH").AddChild(cod)
		}, ErrReference, "the ds:Signature is not a sibling of <COD>"},
		{"signed element moved, forged one in its place", func(doc *etree.Document) {
			cod := firstTag(doc.Root(), "COD")
			forged := cod.Copy()
			forged.RemoveAttr("id")
			cod.Parent().InsertChildAt(cod.Index(), forged)
			cod.Parent().RemoveChild(cod)
			firstTag(doc.Root(), "EH").AddChild(cod)
		}, ErrReference, "2 <COD> elements"},
		{"signed element and signature moved, forged COD in their place", func(doc *etree.Document) {
			cod := firstTag(doc.Root(), "COD")
			sig := exporterSig(doc)
			exp := cod.Parent()
			forged := cod.Copy()
			forged.RemoveAttr("id")
			exp.InsertChildAt(0, forged)
			wrapper := etree.NewElement("Archive")
			exp.RemoveChild(cod)
			exp.RemoveChild(sig)
			wrapper.AddChild(cod)
			wrapper.AddChild(sig)
			firstTag(doc.Root(), "EH").AddChild(wrapper)
		}, ErrReference, "2 <COD> elements"},
		{"second COD unsigned", func(doc *etree.Document) {
			doc.Root().AddChild(etree.NewElement("COD"))
		}, ErrReference, "2 <COD> elements"},
		{"duplicate ID", func(doc *etree.Document) {
			firstTag(doc.Root(), "Goods").CreateAttr("Id", "COD")
		}, ErrDuplicateID, "<COD id>, <Goods Id>"},
		{"no signature", func(doc *etree.Document) {
			sig := exporterSig(doc)
			sig.Parent().RemoveChild(sig)
		}, ErrNoSignature, "no ds:Signature references #COD"},
		{"two signatures", func(doc *etree.Document) {
			sig := exporterSig(doc)
			sig.Parent().AddChild(sig.Copy())
		}, ErrMultipleSignatures, "2 ds:Signature elements reference #COD"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := parseCOD(t, signed)
			tc.mutate(doc)
			input := parseCOD(t, writeCOD(t, doc))
			before := writeCOD(t, input)
			v, err := VerifySibling(input, "COD", policy)
			if !bytes.Equal(writeCOD(t, input), before) {
				t.Error("VerifySibling changed its input")
			}
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err != nil && !strings.Contains(err.Error(), tc.says) {
				t.Errorf("err = %v\nwant it to say %q", err, tc.says)
			}
			if err == nil && (v.Element.Tag != "COD" || textOf(v.Element, "ExporterBusinessName") != "IVECO LATIN AMERICA LTDA") {
				t.Error("verified the wrong element")
			}
		})
	}
}

// A COD signed natively with SHA-1 (as partners' older tools do) passes
// only under a policy that allows it; signing through the API never uses
// it.
func TestSiblingCOD_SHA1Policy(t *testing.T) {
	c := newCODFixture(t)
	sha1 := siblingParams{
		signedInfoC14N:  string(dsig.CanonicalXML10WithCommentsAlgorithmId),
		signatureMethod: siblingRSASHA1,
		digestMethod:    siblingSHA1,
		transforms:      []string{siblingEnveloped, siblingExcC14N},
	}
	doc := parseCOD(t, codFile(t, codACE14))
	if _, err := c.exporterSigner.signSibling(doc, "COD", SiblingOptions{Element: "COD"}, sha1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.officialSigner.signSibling(doc, "CODEH", SiblingOptions{Element: "CODEH"}, siblingDefault); err != nil {
		t.Fatal(err)
	}
	data := writeCOD(t, doc)
	if _, err := c.cod.Verify(context.Background(), data); !errors.Is(err, ErrAlgorithm) {
		t.Errorf("SHA-1 without the policy: %v", err)
	}
	v, err := c.verifier(true).Verify(context.Background(), data)
	if err != nil {
		t.Fatalf("SHA-1 under the policy: %v", err)
	}
	if v.Exporter.Element.Tag != "COD" {
		t.Error("wrong element")
	}
	sv, err := VerifySibling(doc, "COD", SiblingPolicy{AllowSHA1: true})
	if err != nil || sv.SignatureMethod != siblingRSASHA1 || sv.DigestMethod != siblingSHA1 {
		t.Errorf("VerifySibling: %v", err)
	}
	if sha := sv.Signer.SignatureAlgorithm; sha == x509.UnknownSignatureAlgorithm {
		t.Error("no signer")
	}
	if siblingDefault.digestMethod != siblingSHA256 || siblingSignatureMethods[siblingDefault.signatureMethod] != crypto.SHA256 {
		t.Error("the default signs without SHA-256")
	}
}

func TestCheckSigner(t *testing.T) {
	c := newCODFixture(t)
	v := c.verifier(false).Officials
	if chain, err := v.CheckSigner(context.Background(), []*x509.Certificate{c.official.Cert}); err != nil || len(chain) != 2 {
		t.Fatalf("official: %v", err)
	}
	for _, tc := range []struct {
		certs []*x509.Certificate
		want  error
	}{
		{[]*x509.Certificate{c.expired.Cert}, ErrExpired},
		{[]*x509.Certificate{c.notYet.Cert}, ErrNotYetValid},
		{[]*x509.Certificate{c.stranger.Cert}, ErrNotAuthorized},
		{[]*x509.Certificate{c.foreign.Cert}, ErrUntrustedSigner},
		{nil, ErrUntrustedSigner},
	} {
		if _, err := v.CheckSigner(context.Background(), tc.certs); !errors.Is(err, tc.want) {
			t.Errorf("err = %v, want %v", err, tc.want)
		}
	}
	if _, err := (&Verifier{}).CheckSigner(context.Background(), []*x509.Certificate{c.official.Cert}); !errors.Is(err, ErrUntrustedSigner) {
		t.Errorf("no roots: %v", err)
	}
}

// FuzzVerifyCOD mutates signed CODs. The properties: Verify never panics,
// an error comes alone and wraps exactly one sentinel, and a success hands
// over a CODEH and the COD inside it.
//
//	go test -run xxx -fuzz FuzzVerifyCOD -fuzztime 30s ./certs/
func FuzzVerifyCOD(f *testing.F) {
	c := newCODFixture(f)
	for _, sample := range []string{codACE14, codForm18} {
		f.Add(signedCOD(f, c, sample))
	}
	stage2, err := c.exporterSigner.SignCODExporter(codFile(f, codACE14))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(stage2)
	v := c.verifier(true)
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := v.Verify(context.Background(), data)
		if err != nil {
			if got != nil {
				t.Fatalf("error %v returned together with a verified COD", err)
			}
			if n := sentinelsIn(err); n != 1 {
				t.Fatalf("error %v wraps %d sentinels, want exactly one", err, n)
			}
			return
		}
		if got.CODEH == nil || got.CODEH.Tag != "CODEH" || firstTag(got.CODEH, "COD") == nil || got.Exporter.Element.Tag != "COD" {
			t.Fatalf("no error but an incomplete result %+v", got)
		}
	})
}
