package certs

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// Sibling signatures: a ds:Signature placed beside the element it signs and
// referring to it by ID (URI="#id"), as the ALADI certificate of origin
// does twice (sibling_cod.go). goxmldsig only verifies a signature that is
// a child of what it covers, so the reference is resolved, canonicalized
// and checked here, on goxmldsig's canonicalizers alone.
//
// How a same-document reference is read, as XMLDSIG 1.0 (4.3.3.3) says and
// xmlsec1 does (the interop tests check it):
//
//   - "#id" selects the element whose ID is id, with its descendants and
//     WITHOUT comments, whatever canonicalization the transforms name. A
//     comment inside the signed element is therefore never signed. One
//     inside a value (an element with text) is refused, as the classic way
//     to split a signed value for a reader that stops at it
//     (SiblingPolicy.IgnoreComments relaxes that); one between elements
//     splits nothing. Neither reaches the element returned.
//   - Inclusive C14N 1.0 renders the namespaces and xml:* attributes the
//     element inherits from its ancestors; exclusive C14N only the
//     namespaces it uses.
//   - An enveloped-signature transform removes the signature from the
//     referenced element: a sibling is not in it, so the transform is a
//     no-op (real CODs carry one).
//   - With no canonicalization among the transforms, the element is
//     digested in inclusive C14N 1.0.

// ErrDuplicateID means the ID a reference names is carried by more than one
// element in the document, the signature-wrapping set-up. It matches
// ErrReference too.
var ErrDuplicateID error = &refinedError{"ID appears more than once", ErrReference}

// Algorithm identifiers of sibling signatures.
const (
	siblingRSASHA256 = dsig.RSASHA256SignatureMethod
	siblingRSASHA1   = dsig.RSASHA1SignatureMethod
	siblingSHA256    = "http://www.w3.org/2001/04/xmlenc#sha256"
	siblingSHA1      = "http://www.w3.org/2000/09/xmldsig#sha1"
	siblingEnveloped = string(dsig.EnvelopedSignatureAltorithmId)
	siblingExcC14N   = string(dsig.CanonicalXML10ExclusiveAlgorithmId)
)

// siblingC14N is a canonicalization a sibling signature may name, for
// SignedInfo or as a transform: C14N 1.0 and exclusive C14N 1.0, each with
// or without comments. C14N 1.1 is left out (xmlsec1 and the ALADI tools
// do not use it for CODs).
type siblingC14N struct {
	exclusive, comments bool
}

var siblingCanonicalizations = map[string]siblingC14N{
	string(dsig.CanonicalXML10RecAlgorithmId):                   {false, false},
	string(dsig.CanonicalXML10WithCommentsAlgorithmId):          {false, true},
	string(dsig.CanonicalXML10ExclusiveAlgorithmId):             {true, false},
	string(dsig.CanonicalXML10ExclusiveWithCommentsAlgorithmId): {true, true},
}

// siblingSHA1Methods are what SiblingPolicy.AllowSHA1 adds to SHA-256.
var (
	siblingSignatureMethods = map[string]crypto.Hash{siblingRSASHA256: crypto.SHA256, siblingRSASHA1: crypto.SHA1}
	siblingDigestMethods    = map[string]crypto.Hash{siblingSHA256: crypto.SHA256, siblingSHA1: crypto.SHA1}
)

// SiblingOptions say which element SignSibling signs and where the
// signature goes.
type SiblingOptions struct {
	// IDAttr names the (unqualified) attribute that carries the ID: "id"
	// when empty (ALADI's COD), or "Id", "ID".
	IDAttr string
	// Element, if set, is the local name the signed element must have.
	Element string
	// After, if set, is a sibling of the signed element after which the
	// signature is inserted; nil means right after the signed element.
	After *etree.Element
}

// SiblingPolicy says which sibling signature VerifySibling accepts.
type SiblingPolicy struct {
	// IDAttr names the (unqualified) attribute that must carry the ID: "id"
	// when empty, or "Id", "ID". Whatever it is, an ID-like attribute (id,
	// Id, ID, xml:id) with the same value anywhere else is refused as a
	// duplicate: partners' tools differ in which one they resolve.
	IDAttr string
	// Element, if set, is the local name the signed element must have, and
	// it must be the only element of that name in the document: no unsigned
	// copy may sit beside the signed one.
	Element string
	// AllowSHA1 also accepts RSA-SHA1 signatures and SHA-1 digests, which
	// certificates of origin in circulation still use. RSA-SHA256 and
	// SHA-256 are always accepted.
	AllowSHA1 bool
	// IgnoreComments accepts comments inside values of the signed element
	// (elements with text), which are refused by default: a comment is the
	// classic way to split a signed value. Comments between elements are
	// always accepted. No comment is signed, and none is returned.
	IgnoreComments bool
}

func (p SiblingPolicy) idAttr() string {
	if p.IDAttr == "" {
		return "id"
	}
	return p.IDAttr
}

// SiblingVerified is what VerifySibling hands over. Nothing in it says the
// signer is trusted: run Verifier.CheckSigner (or your own checks) on
// Certificates before using Element.
type SiblingVerified struct {
	// Element is the signed element, rebuilt from the canonical bytes that
	// were digested, in a document of its own, without comments, processing
	// instructions or CDATA markers: the only part of the input to use.
	Element *etree.Element
	// Signer is the certificate whose key verified the signature, the
	// first of KeyInfo's; Certificates are all of them, Signer first.
	Signer       *x509.Certificate
	Certificates []*x509.Certificate
	// SignatureMethod and DigestMethod are the algorithms used.
	SignatureMethod, DigestMethod string
}

// SignSibling signs the element of doc whose ID is id with a signature
// placed beside it (not inside): exclusive C14N, RSA-SHA256 over a SHA-256
// digest of "#id", the signer's certificates in KeyInfo/X509Data. doc is
// changed in place; the signature element is returned. Serialize doc with
// canonical text and attribute escaping (as Sign does), or values with
// carriage returns or tabs will not read back as signed.
func (s *Signer) SignSibling(doc *etree.Document, id string, o SiblingOptions) (*etree.Element, error) {
	return s.signSibling(doc, id, o, siblingDefault)
}

// siblingParams are the algorithms of a sibling signature being made.
// Signers always use siblingDefault; tests make the others.
type siblingParams struct {
	signedInfoC14N  string
	signatureMethod string
	digestMethod    string
	transforms      []string
}

var siblingDefault = siblingParams{
	signedInfoC14N:  siblingExcC14N,
	signatureMethod: siblingRSASHA256,
	digestMethod:    siblingSHA256,
	transforms:      []string{siblingExcC14N},
}

func (s *Signer) signSibling(doc *etree.Document, id string, o SiblingOptions, p siblingParams) (*etree.Element, error) {
	who := fmt.Sprintf("signer %q", s.chain[0].Subject.String())
	if doc == nil || doc.Root() == nil {
		return nil, fmt.Errorf("sign #%s: no document", id)
	}
	if id == "" {
		return nil, errors.New("sign: no ID")
	}
	root := doc.Root()
	if err := onlyRoot(root); err != nil {
		return nil, fmt.Errorf("sign #%s: %w", id, err)
	}
	el, err := resolveSiblingID(root, id, SiblingPolicy{IDAttr: o.IDAttr, Element: o.Element})
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	parent := el.Parent()
	if parent == nil || parent.Parent() == nil {
		return nil, fmt.Errorf("sign #%s: <%s> is the root element, which has no siblings", id, el.FullTag())
	}
	if c := valueComment(el); c != nil {
		return nil, fmt.Errorf("sign #%s: a comment in the value of <%s>, which a same-document reference cannot sign", id, c.FullTag())
	}
	if n := len(signaturesReferencing(root, "#"+id)); n > 0 {
		return nil, fmt.Errorf("sign #%s: %w: already signed", id, ErrMultipleSignatures)
	}
	after := el
	if o.After != nil {
		if o.After.Parent() != parent {
			return nil, fmt.Errorf("sign #%s: the position given is not beside <%s>", id, el.FullTag())
		}
		after = o.After
	}
	sigHash, ok := siblingSignatureMethods[p.signatureMethod]
	if !ok {
		return nil, fmt.Errorf("sign: signature method %q", p.signatureMethod)
	}
	digestHash, ok := siblingDigestMethods[p.digestMethod]
	if !ok {
		return nil, fmt.Errorf("sign: digest %q", p.digestMethod)
	}
	refC14N := siblingC14N{}
	for _, t := range p.transforms {
		if m, ok := siblingCanonicalizations[t]; ok {
			refC14N = m
		}
	}
	siC14N, ok := siblingCanonicalizations[p.signedInfoC14N]
	if !ok {
		return nil, fmt.Errorf("sign: canonicalization %q", p.signedInfoC14N)
	}

	digest, err := siblingDigest(el, refC14N, "", digestHash)
	if err != nil {
		return nil, fmt.Errorf("%s: #%s: %w", who, id, err)
	}
	sig := etree.NewElement("ds:" + dsig.SignatureTag)
	sig.CreateAttr("xmlns:ds", dsig.Namespace)
	si := sig.CreateElement("ds:" + dsig.SignedInfoTag)
	si.CreateElement("ds:"+dsig.CanonicalizationMethodTag).CreateAttr(dsig.AlgorithmAttr, p.signedInfoC14N)
	si.CreateElement("ds:"+dsig.SignatureMethodTag).CreateAttr(dsig.AlgorithmAttr, p.signatureMethod)
	ref := si.CreateElement("ds:" + dsig.ReferenceTag)
	ref.CreateAttr(dsig.URIAttr, "#"+id)
	if len(p.transforms) > 0 {
		ts := ref.CreateElement("ds:" + dsig.TransformsTag)
		for _, t := range p.transforms {
			ts.CreateElement("ds:"+dsig.TransformTag).CreateAttr(dsig.AlgorithmAttr, t)
		}
	}
	ref.CreateElement("ds:"+dsig.DigestMethodTag).CreateAttr(dsig.AlgorithmAttr, p.digestMethod)
	ref.CreateElement("ds:" + dsig.DigestValueTag).SetText(base64.StdEncoding.EncodeToString(digest))

	// SignedInfo is canonicalized where it will stay: inclusive C14N
	// renders the namespaces it inherits there.
	parent.InsertChildAt(after.Index()+1, sig)
	value, err := s.signSignedInfo(si, siC14N, sigHash)
	if err != nil {
		parent.RemoveChild(sig)
		return nil, fmt.Errorf("%s: #%s: %w", who, id, err)
	}
	sig.CreateElement("ds:" + dsig.SignatureValueTag).SetText(base64.StdEncoding.EncodeToString(value))
	data := sig.CreateElement("ds:" + dsig.KeyInfoTag).CreateElement("ds:" + dsig.X509DataTag)
	for _, der := range s.der {
		data.CreateElement("ds:" + dsig.X509CertificateTag).SetText(base64.StdEncoding.EncodeToString(der))
	}
	return sig, nil
}

func (s *Signer) signSignedInfo(si *etree.Element, m siblingC14N, h crypto.Hash) ([]byte, error) {
	canon, err := siblingCanonicalize(si, m, "", m.comments)
	if err != nil {
		return nil, err
	}
	hh := h.New()
	hh.Write(canon)
	return s.key.Sign(rand.Reader, hh.Sum(nil), h)
}

// VerifySibling verifies the one signature in doc that references "#id"
// and is a sibling of the element with that ID, under policy p, and
// returns that element as signed with the certificate that signed it. It
// checks the cryptography only: the caller decides whether the signer is
// trusted (Verifier.CheckSigner). doc is not changed.
//
// Refused, each with the sentinel errors.Is finds: no signature
// referencing #id (ErrNoSignature); more than one (ErrMultipleSignatures);
// a signature with more than one reference, one not beside the element,
// no element with the ID, the ID on another attribute or element than p
// names, a second element of p.Element's name (ErrReference); the ID on
// two elements (ErrDuplicateID); an algorithm or transform outside the
// allowlist (ErrAlgorithm); a digest or signature value that does not
// match, a comment inside a value (ErrBadSignature).
func VerifySibling(doc *etree.Document, id string, p SiblingPolicy) (*SiblingVerified, error) {
	v, _, err := verifySibling(doc, id, p)
	return v, err
}

// verifySibling is VerifySibling, also returning the signature element.
func verifySibling(doc *etree.Document, id string, p SiblingPolicy) (*SiblingVerified, *etree.Element, error) {
	if doc == nil || doc.Root() == nil {
		return nil, nil, fmt.Errorf("%w: no document", ErrNoSignature)
	}
	if id == "" {
		return nil, nil, fmt.Errorf("%w: no ID to verify", ErrReference)
	}
	root := doc.Root()
	if err := onlyRoot(root); err != nil {
		return nil, nil, err
	}
	uri := "#" + id
	sigs := signaturesReferencing(root, uri)
	switch {
	case len(sigs) == 0:
		return nil, nil, fmt.Errorf("%w: no ds:Signature references %s", ErrNoSignature, uri)
	case len(sigs) > 1:
		return nil, nil, fmt.Errorf("%w: %d ds:Signature elements reference %s, want one", ErrMultipleSignatures, len(sigs), uri)
	}
	sig := sigs[0]
	if err := checkSignatureElement(sig); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", uri, err)
	}
	certs, err := signerCertificates(sig)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", uri, err)
	}
	leaf := certs[0]
	who := fmt.Sprintf("signer %q: %s", leaf.Subject.String(), uri)
	si, err := readSiblingSignedInfo(sig, uri, p)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", who, err)
	}
	el, err := resolveSiblingID(root, id, p)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", who, err)
	}
	if sig.Parent() != el.Parent() {
		return nil, nil, fmt.Errorf("%s: %w: the ds:Signature is not a sibling of <%s>", who, ErrReference, el.FullTag())
	}
	if c := valueComment(el); c != nil && !p.IgnoreComments {
		return nil, nil, fmt.Errorf("%s: %w: a comment in the value of <%s> inside <%s>, which a same-document reference never signs", who, ErrBadSignature, c.FullTag(), el.FullTag())
	}
	pub, ok := leaf.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, nil, fmt.Errorf("%s: %w: the certificate's key is %T, want RSA", who, ErrAlgorithm, leaf.PublicKey)
	}

	// The reference first: a changed element is the likelier tampering,
	// and says so more clearly than a failed signature value would.
	signed, err := siblingCanonicalize(el, si.refC14N, si.prefixList, false)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w: canonicalizing <%s>: %v", who, ErrMalformed, el.FullTag(), err)
	}
	h := si.digestHash.New()
	h.Write(signed)
	if subtle.ConstantTimeCompare(h.Sum(nil), si.digestValue) != 1 {
		return nil, nil, fmt.Errorf("%s: %w: the digest of <%s> does not match (changed after signing)", who, ErrBadSignature, el.FullTag())
	}
	canon, err := siblingCanonicalize(si.el, si.c14n, si.c14nPrefixes, si.c14n.comments)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w: canonicalizing SignedInfo: %v", who, ErrMalformed, err)
	}
	h = si.sigHash.New()
	h.Write(canon)
	if err := rsa.VerifyPKCS1v15(pub, si.sigHash, h.Sum(nil), si.signatureValue); err != nil {
		return nil, nil, fmt.Errorf("%s: %w: the signature value does not match SignedInfo", who, ErrBadSignature)
	}

	// Only what was digested is handed over.
	out := etree.NewDocument()
	if err := out.ReadFromBytes(signed); err != nil {
		return nil, nil, fmt.Errorf("%s: %w: canonical form does not parse: %v", who, ErrMalformed, err)
	}
	return &SiblingVerified{
		Element:         stripUnsigned(out.Root(), nil),
		Signer:          leaf,
		Certificates:    certs,
		SignatureMethod: si.signatureMethod,
		DigestMethod:    si.digestMethod,
	}, sig, nil
}

// siblingSignedInfo is a sibling signature's SignedInfo, checked.
type siblingSignedInfo struct {
	el                            *etree.Element
	c14n                          siblingC14N
	c14nPrefixes                  string
	signatureMethod, digestMethod string
	sigHash, digestHash           crypto.Hash
	refC14N                       siblingC14N
	prefixList                    string
	digestValue, signatureValue   []byte
}

// readSiblingSignedInfo checks SignedInfo against the policy and reads it:
// one reference, to uri; allowed algorithms; allowed transforms.
func readSiblingSignedInfo(sig *etree.Element, uri string, p SiblingPolicy) (*siblingSignedInfo, error) {
	si := child(sig, dsig.SignedInfoTag)
	if refs := children(si, dsig.ReferenceTag); len(refs) != 1 {
		return nil, fmt.Errorf("%w: %d references, want exactly one", ErrReference, len(refs))
	}
	if err := sequence(si, dsig.CanonicalizationMethodTag, dsig.SignatureMethodTag, dsig.ReferenceTag); err != nil {
		return nil, err
	}
	kids := si.ChildElements()
	cm, sm, ref := kids[0], kids[1], kids[2]
	out := &siblingSignedInfo{el: si}

	a, err := onlyAttr(cm, dsig.AlgorithmAttr)
	if err != nil {
		return nil, err
	}
	var ok bool
	if out.c14n, ok = siblingCanonicalizations[a]; !ok {
		return nil, fmt.Errorf("%w: canonicalization %q", ErrAlgorithm, a)
	}
	if out.c14nPrefixes, err = siblingPrefixList(cm, out.c14n); err != nil {
		return nil, err
	}
	if out.signatureMethod, err = onlyAttr(sm, dsig.AlgorithmAttr); err != nil {
		return nil, err
	}
	if out.sigHash, ok = siblingSignatureMethods[out.signatureMethod]; !ok || (out.sigHash == crypto.SHA1 && !p.AllowSHA1) {
		return nil, fmt.Errorf("%w: signature method %q", ErrAlgorithm, out.signatureMethod)
	}
	if len(sm.ChildElements()) > 0 {
		return nil, fmt.Errorf("%w: SignatureMethod has child elements", ErrMalformed)
	}

	got, err := onlyAttr(ref, dsig.URIAttr)
	if err != nil {
		return nil, err
	}
	if got != uri {
		return nil, fmt.Errorf("%w: reference %q, want %q", ErrReference, got, uri)
	}
	if err := sequence(ref, dsig.TransformsTag+"?", dsig.DigestMethodTag, dsig.DigestValueTag); err != nil {
		return nil, err
	}
	dm := child(ref, dsig.DigestMethodTag)
	if out.digestMethod, err = onlyAttr(dm, dsig.AlgorithmAttr); err != nil {
		return nil, err
	}
	if out.digestHash, ok = siblingDigestMethods[out.digestMethod]; !ok || (out.digestHash == crypto.SHA1 && !p.AllowSHA1) {
		return nil, fmt.Errorf("%w: digest %q", ErrAlgorithm, out.digestMethod)
	}
	if len(dm.ChildElements()) > 0 {
		return nil, fmt.Errorf("%w: DigestMethod has child elements", ErrMalformed)
	}
	if out.refC14N, out.prefixList, err = siblingTransforms(child(ref, dsig.TransformsTag)); err != nil {
		return nil, err
	}
	dv := child(ref, dsig.DigestValueTag)
	if len(dv.ChildElements()) > 0 {
		return nil, fmt.Errorf("%w: DigestValue has child elements", ErrMalformed)
	}
	if out.digestValue, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(allText(dv)), "")); err != nil {
		return nil, fmt.Errorf("%w: DigestValue is not base64: %v", ErrMalformed, err)
	}
	if len(out.digestValue) != out.digestHash.Size() {
		return nil, fmt.Errorf("%w: DigestValue of %d bytes, want %d", ErrMalformed, len(out.digestValue), out.digestHash.Size())
	}
	// checkSignatureElement has checked that it decodes.
	sv := child(sig, dsig.SignatureValueTag)
	out.signatureValue, _ = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(allText(sv)), ""))
	return out, nil
}

// siblingTransforms allows, in this order, an optional enveloped-signature
// transform (a no-op for a sibling) and an optional canonicalization from
// siblingCanonicalizations: no XPath, XSLT, base64 or anything else. It
// returns the canonicalization that applies, inclusive C14N 1.0 if none is
// named.
func siblingTransforms(ts *etree.Element) (siblingC14N, string, error) {
	if ts == nil {
		return siblingC14N{}, "", nil
	}
	var algs []string
	c14n, prefixes := siblingC14N{}, ""
	for _, t := range ts.ChildElements() {
		if t.Tag != dsig.TransformTag || t.NamespaceURI() != dsig.Namespace {
			return c14n, "", fmt.Errorf("%w: unexpected <%s> in Transforms", ErrMalformed, t.FullTag())
		}
		a, err := onlyAttr(t, dsig.AlgorithmAttr)
		if err != nil {
			return c14n, "", err
		}
		m, isC14N := siblingCanonicalizations[a]
		switch {
		case isC14N:
			if prefixes, err = siblingPrefixList(t, m); err != nil {
				return c14n, "", err
			}
			c14n = m
		case a == siblingEnveloped:
			if len(t.ChildElements()) > 0 {
				return c14n, "", fmt.Errorf("%w: unexpected <%s> in the enveloped-signature transform", ErrMalformed, t.ChildElements()[0].FullTag())
			}
		default:
			return c14n, "", fmt.Errorf("%w: transform %q", ErrAlgorithm, a)
		}
		algs = append(algs, a)
	}
	switch {
	case len(algs) == 0:
		return c14n, "", fmt.Errorf("%w: empty Transforms", ErrMalformed)
	case len(algs) > 2, len(algs) == 2 && (algs[0] != siblingEnveloped || algs[1] == siblingEnveloped):
		return c14n, "", fmt.Errorf("%w: transform chain %q, want an optional enveloped-signature transform then one canonicalization", ErrAlgorithm, algs)
	}
	return c14n, prefixes, nil
}

// siblingPrefixList returns the InclusiveNamespaces PrefixList of an
// exclusive canonicalization element e; nothing else may be inside e.
func siblingPrefixList(e *etree.Element, m siblingC14N) (string, error) {
	kids := e.ChildElements()
	if len(kids) == 0 {
		return "", nil
	}
	c := kids[0]
	if !m.exclusive || len(kids) > 1 || c.Tag != dsig.InclusiveNamespacesTag || c.NamespaceURI() != siblingExcC14N || len(c.ChildElements()) > 0 {
		return "", fmt.Errorf("%w: unexpected <%s> in ds:%s", ErrMalformed, c.FullTag(), e.Tag)
	}
	list, err := onlyAttr(c, dsig.PrefixListAttr)
	if err != nil {
		return "", err
	}
	// goxmldsig reads "#default" as a prefix of that name, not as the
	// default namespace, and would canonicalize differently.
	if slices.Contains(strings.Fields(list), "#default") {
		return "", fmt.Errorf("%w: InclusiveNamespaces PrefixList with #default is not supported", ErrAlgorithm)
	}
	return list, nil
}

// resolveSiblingID returns the one element under root whose p.IDAttr is id.
func resolveSiblingID(root *etree.Element, id string, p SiblingPolicy) (*etree.Element, error) {
	var hits []*etree.Element
	var via []etree.Attr
	named := 0
	walkElements(root, func(e *etree.Element) {
		for _, a := range idAttrs(e) {
			if a.Value == id {
				hits = append(hits, e)
				via = append(via, a)
			}
		}
		if p.Element != "" && e.Tag == p.Element {
			named++
		}
	})
	switch {
	case len(hits) == 0:
		return nil, fmt.Errorf("%w: no element has the ID %q", ErrReference, id)
	case len(hits) > 1:
		where := make([]string, len(hits))
		for i, e := range hits {
			where[i] = fmt.Sprintf("<%s %s>", e.FullTag(), via[i].FullKey())
		}
		return nil, fmt.Errorf("%w: %q is the ID of %s", ErrDuplicateID, id, strings.Join(where, ", "))
	}
	el, a := hits[0], via[0]
	if a.Space != "" || a.Key != p.idAttr() {
		return nil, fmt.Errorf("%w: %q is carried by <%s %s>, want attribute %s", ErrReference, id, el.FullTag(), a.FullKey(), p.idAttr())
	}
	if p.Element != "" {
		if el.Tag != p.Element {
			return nil, fmt.Errorf("%w: #%s is <%s>, want <%s>", ErrReference, id, el.FullTag(), p.Element)
		}
		if named > 1 {
			return nil, fmt.Errorf("%w: %d <%s> elements, only one of which can be the signed one", ErrReference, named, p.Element)
		}
	}
	return el, nil
}

// signaturesReferencing returns every ds:Signature under root that holds
// a ds:Reference to uri anywhere inside it (a second SignedInfo, a
// Manifest): any of them could be what another tool verifies.
func signaturesReferencing(root *etree.Element, uri string) []*etree.Element {
	var out []*etree.Element
	walkElements(root, func(e *etree.Element) {
		if e.Tag != dsig.SignatureTag || e.NamespaceURI() != dsig.Namespace {
			return
		}
		found := false
		walkElements(e, func(r *etree.Element) {
			if found || r.Tag != dsig.ReferenceTag || r.NamespaceURI() != dsig.Namespace {
				return
			}
			for _, a := range r.Attr {
				if a.Key == dsig.URIAttr && a.Value == uri {
					found = true
				}
			}
		})
		if found {
			out = append(out, e)
		}
	})
	return out
}

func walkElements(e *etree.Element, f func(*etree.Element)) {
	f(e)
	for _, c := range e.ChildElements() {
		walkElements(c, f)
	}
}

// valueComment returns the first element under e (e included) holding
// both a comment and text other than whitespace: a comment inside a value.
func valueComment(e *etree.Element) *etree.Element {
	comment, text := false, false
	for _, t := range e.Child {
		switch c := t.(type) {
		case *etree.Comment:
			comment = true
		case *etree.CharData:
			text = text || strings.TrimSpace(c.Data) != ""
		}
	}
	if comment && text {
		return e
	}
	for _, c := range e.ChildElements() {
		if v := valueComment(c); v != nil {
			return v
		}
	}
	return nil
}

// siblingDigest digests el as the reference "#id" selects it: without
// comments, canonicalized by m.
func siblingDigest(el *etree.Element, m siblingC14N, prefixes string, h crypto.Hash) ([]byte, error) {
	canon, err := siblingCanonicalize(el, m, prefixes, false)
	if err != nil {
		return nil, err
	}
	hh := h.New()
	hh.Write(canon)
	return hh.Sum(nil), nil
}

// siblingCanonicalize canonicalizes el, an element inside a document, as
// the document subset of el and its descendants (comments only if
// comments is set), in inclusive or exclusive C14N 1.0. el is not changed.
func siblingCanonicalize(el *etree.Element, m siblingC14N, prefixes string, comments bool) ([]byte, error) {
	if m.exclusive && !comments && strings.TrimSpace(prefixes) == "" {
		// This package's own exclusive C14N (excc14n.go): no copy, and
		// attributes from two namespaces in the order C14N gives them.
		return canonicalBytes(el)
	}
	e := contextCopy(el, !m.exclusive, comments)
	var c dsig.Canonicalizer
	switch {
	case m.exclusive && m.comments:
		c = dsig.MakeC14N10ExclusiveWithCommentsCanonicalizerWithPrefixList(prefixes)
	case m.exclusive:
		c = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(prefixes)
	case m.comments:
		c = dsig.MakeC14N10WithCommentsCanonicalizer()
	default:
		c = dsig.MakeC14N10RecCanonicalizer()
	}
	return c.Canonicalize(e)
}

// contextCopy returns a parentless copy of el that declares every namespace
// in scope at el, and with inheritXML the xml:* attributes it inherits
// (inclusive C14N 1.0 renders both at the apex; exclusive C14N then keeps
// only the namespaces used). The copy holds comments only if comments is
// set, and CDATA sections as plain text. goxmldsig's own handling of the
// ancestors (C14N 1.0) lets an ancestor's declaration override the
// element's own redeclaration of the same prefix, and its exclusive C14N
// ignores ancestors altogether: hence the copy.
func contextCopy(el *etree.Element, inheritXML, comments bool) *etree.Element {
	e := plainCopy(el, comments)
	have := map[string]bool{}
	for _, a := range e.Attr {
		have[a.FullKey()] = true
	}
	for p := el.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			k := a.FullKey()
			isNS := a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns")
			if have[k] || !(isNS || (inheritXML && a.Space == "xml")) || (a.Space == "xmlns" && a.Key == "xml") {
				continue
			}
			e.Attr = append(e.Attr, a)
			have[k] = true
		}
	}
	// An empty default namespace where none is in scope renders nothing in
	// C14N (goxmldsig's exclusive C14N would write xmlns="").
	redundantEmptyDefaults(e, "", true)
	return e
}

func plainCopy(el *etree.Element, comments bool) *etree.Element {
	e := &etree.Element{Space: el.Space, Tag: el.Tag, Attr: slices.Clone(el.Attr)}
	for _, t := range el.Child {
		switch c := t.(type) {
		case *etree.Element:
			e.AddChild(plainCopy(c, comments))
		case *etree.CharData:
			e.AddChild(etree.NewText(c.Data))
		case *etree.Comment:
			if comments {
				e.AddChild(etree.NewComment(c.Data))
			}
		case *etree.ProcInst:
			e.AddChild(etree.NewProcInst(c.Target, c.Inst))
		}
	}
	return e
}

// CheckSigner runs on a signer's certificates (the signer's first, the
// rest helping to build the chain) the checks VerifyElement runs before
// the cryptography: validity at v.Now, a chain to v.Roots, a key usage for
// signing, v.Authorize, and revocation under v.RevocationPolicy. It
// returns the chain, signer first. It is what a caller of VerifySibling
// runs on SiblingVerified.Certificates.
//
// A chain that passed is remembered (chaincache.go) until the chain's or
// the revocation verdict's validity ends, at most chainCacheMaxAge;
// Authorize runs every time.
func (v *Verifier) CheckSigner(ctx context.Context, certs []*x509.Certificate) ([]*x509.Certificate, error) {
	if v == nil || v.Roots == nil {
		return nil, fmt.Errorf("%w: the verifier has no trusted roots", ErrUntrustedSigner)
	}
	if len(certs) == 0 || certs[0] == nil {
		return nil, fmt.Errorf("%w: no certificate names the signer", ErrUntrustedSigner)
	}
	leaf := certs[0]
	who := fmt.Sprintf("signer %q", leaf.Subject.String())
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	switch {
	case now.Before(leaf.NotBefore):
		return nil, fmt.Errorf("%s: %w (valid from %s)", who, ErrNotYetValid, leaf.NotBefore.UTC().Format(time.RFC3339))
	case now.After(leaf.NotAfter):
		return nil, fmt.Errorf("%s: %w at %s", who, ErrExpired, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	key := v.chainKey(certs)
	if chain, ok := chainsCache.get(key, now); ok {
		// Chain, key usage and revocation as verified before (chaincache.go);
		// who is authorized may have changed since.
		if v.Authorize != nil {
			if err := v.Authorize(leaf); err != nil {
				return nil, notAuthorized(leaf, who, err)
			}
		}
		return chain, nil
	}
	inter := x509.NewCertPool()
	if v.Intermediates != nil {
		inter = v.Intermediates.Clone()
	}
	for _, c := range certs[1:] {
		if c != nil {
			inter.AddCert(c)
		}
	}
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots: v.Roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w: issued by %q: %v", who, ErrUntrustedSigner, leaf.Issuer.String(), err)
	}
	if leaf.KeyUsage != 0 && leaf.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		return nil, fmt.Errorf("%s: %w: the certificate is not for digital signatures", who, ErrUntrustedSigner)
	}
	if v.Authorize != nil {
		if err := v.Authorize(leaf); err != nil {
			return nil, notAuthorized(leaf, who, err)
		}
	}
	revokedUntil := farFuture
	if v.Revocation != nil && len(chains[0]) > 1 {
		// Bounded, and ended with the request that asked.
		rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		warning, until, err := v.Revocation.check(rctx, leaf, chains[0][1], v.RevocationPolicy)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", who, err)
		}
		if warning != "" && v.Warn != nil {
			v.Warn(warning)
		}
		revokedUntil = until
	}
	chainsCache.put(key, chains[0], now, revokedUntil)
	return chains[0], nil
}
