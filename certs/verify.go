package certs

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/vucelink/vucelink/xmlsafe"
)

// Errors callers branch on. Every verification error wraps exactly one of
// these (ErrNotYetValid also matches ErrExpired), or one of xmlsafe's for
// input that is not acceptable XML.
var (
	// ErrMalformed: the signature's structure is broken or ambiguous.
	ErrMalformed = errors.New("malformed signature")
	// ErrNoSignature: the document carries no ds:Signature.
	ErrNoSignature = errors.New("no signature")
	// ErrMultipleSignatures: more than one ds:Signature, anywhere.
	ErrMultipleSignatures = errors.New("more than one signature")
	// ErrReference: the signature does not cover exactly the whole
	// document (signature wrapping, a reference to a part, a second root).
	ErrReference = errors.New("signature does not cover the document")
	// ErrUnsignedContent: the document carries content beside what its
	// signatures cover, which a reader could take as part of it.
	ErrUnsignedContent = errors.New("content no signature covers")
	// ErrAlgorithm: an algorithm outside the policy (allowedSignatureMethods
	// and the lists beside it).
	ErrAlgorithm = errors.New("algorithm not allowed")
	// ErrBadSignature: the digest or the signature value does not match;
	// the document was tampered with, or signed with another key.
	ErrBadSignature = errors.New("signature does not match the document")
	// ErrUntrustedSigner: no certificate, or no chain to the Roots.
	ErrUntrustedSigner = errors.New("certificate not trusted")
	// ErrExpired: the signer's certificate is outside its validity period
	// at verification time, past its NotAfter or (ErrNotYetValid) before
	// its NotBefore.
	ErrExpired = errors.New("certificate expired")
	// ErrNotYetValid: the signer's certificate is not valid yet. It matches
	// ErrExpired too, for callers that only care about validity.
	ErrNotYetValid error = &refinedError{"certificate not yet valid", ErrExpired}
	// ErrNotAuthorized: the signer is not an authorized official for the
	// document (Verifier.Authorize, Officials).
	ErrNotAuthorized = errors.New("not an authorized official")
)

// refinedError is a sentinel that is a special case of another.
type refinedError struct {
	msg    string
	parent error
}

func (e *refinedError) Error() string { return e.msg }
func (e *refinedError) Unwrap() error { return e.parent }

// The algorithm policy. goxmldsig still accepts RSA-SHA1 and SHA-1, so
// the policy is enforced here, before goxmldsig runs: RSA-SHA256 over a
// SHA-256 digest, which is what vucelink and its partners sign with.
var (
	allowedSignatureMethods = map[string]bool{
		dsig.RSASHA256SignatureMethod: true,
	}
	allowedDigests = map[string]bool{
		"http://www.w3.org/2001/04/xmlenc#sha256": true,
	}
	// Canonicalizations: exclusive C14N (what Signer uses) and the
	// inclusive ones goxmldsig implements. The comment-preserving variants
	// are excluded: goxmldsig's #WithComments on a URI="" reference does
	// not match other implementations, and comments are a known injection
	// vector inside signed values.
	allowedCanonicalizations = map[string]bool{
		string(dsig.CanonicalXML10ExclusiveAlgorithmId): true,
		string(dsig.CanonicalXML10RecAlgorithmId):       true,
		string(dsig.CanonicalXML11AlgorithmId):          true,
	}
	allowedTransforms = map[string]bool{
		string(dsig.EnvelopedSignatureAltorithmId):      true,
		string(dsig.CanonicalXML10ExclusiveAlgorithmId): true,
		string(dsig.CanonicalXML10RecAlgorithmId):       true,
		string(dsig.CanonicalXML11AlgorithmId):          true,
	}
)

// Verifier checks an enveloped signature and returns only what the
// signature covers. One Verifier serves one sending country; it is safe for
// concurrent use.
type Verifier struct {
	// Roots are the sending country's trust anchors (required).
	Roots *x509.CertPool
	// Intermediates, if any, help build chains; certificates carried in the
	// signature's X509Data are used as intermediates too.
	Intermediates *x509.CertPool
	// Authorize, if set, is called with a signer whose chain and validity
	// have been checked, before the cryptography; an error rejects the
	// document and is returned wrapped (and made to match ErrNotAuthorized).
	// Typically a closure over Officials.Authorize and the document type.
	Authorize func(signer *x509.Certificate) error
	// Now returns the verification time; nil means time.Now.
	Now func() time.Time
	// AllowSHA1 accepts RSA-SHA1 signatures and SHA-1 digests, for a
	// partner whose policy allows them (documents signed by older systems);
	// off by default. Signing never uses them.
	AllowSHA1 bool
	// Limits bound the document given to Verify.
	Limits xmlsafe.Limits
	// Revocation, if set, checks the signer against its issuer's CRL and
	// OCSP responder, under RevocationPolicy. Warn receives soft-fail
	// warnings (a verdict that could not be had, accepted by policy).
	Revocation       *Revocation
	RevocationPolicy Policy
	Warn             func(string)

	// viaGoxmldsig sends every signature to goxmldsig, even those
	// verifyExclusive handles: the tests run the hostile corpus and the
	// differential fuzz target on both paths.
	viaGoxmldsig bool
}

// Verified is what a successful verification hands over.
type Verified struct {
	// Element is the signed element, with the signature removed: the only
	// part of the input a caller may use. It holds no comments, processing
	// instructions or CDATA markers. From Verify, it is the tree Verify
	// parsed (nothing else holds it); from VerifyElement, a copy; for a
	// signature goxmldsig checks, what goxmldsig reconstructs from the
	// canonical bytes it digested.
	Element *etree.Element
	// Signer is the certificate that signed.
	Signer *x509.Certificate
	// Chain runs from Signer to one of the Roots.
	Chain []*x509.Certificate
}

// Verify parses data safely (xmlsafe, with v.Limits) and verifies it.
// The tree it parsed is its own, so what it returns is that tree, with
// the signature and everything no signature covers taken out in place.
func (v *Verifier) Verify(ctx context.Context, data []byte) (*Verified, error) {
	doc, err := xmlsafe.Parse(data, v.Limits)
	if err != nil {
		return nil, err
	}
	return v.verify(ctx, doc.Root(), true)
}

// VerifyElement verifies root, a document's root element, whose last (or
// any) child must be the one ds:Signature. root is left as it was found,
// but must not be read or written by anyone else during the call.
func (v *Verifier) VerifyElement(ctx context.Context, root *etree.Element) (*Verified, error) {
	return v.verify(ctx, root, false)
}

// verify is VerifyElement; with own set, root's tree belongs to the call
// and becomes the result.
func (v *Verifier) verify(ctx context.Context, root *etree.Element, own bool) (*Verified, error) {
	if v.Roots == nil {
		return nil, fmt.Errorf("%w: the verifier has no trusted roots", ErrUntrustedSigner)
	}
	if root == nil {
		return nil, fmt.Errorf("%w: no element", ErrNoSignature)
	}
	if err := onlyRoot(root); err != nil {
		return nil, err
	}
	sig, err := theSignature(root)
	if err != nil {
		return nil, err
	}
	if err := checkSignatureElement(sig); err != nil {
		return nil, err
	}
	chain, err := signerCertificates(sig)
	if err != nil {
		return nil, err
	}
	leaf := chain[0]
	// The subject is only claimed until the chain is checked, but it is
	// what an operator needs to see in any rejection from here on.
	who := fmt.Sprintf("signer %q", leaf.Subject.String())
	if err := checkAlgorithms(root, sig, v.AllowSHA1); err != nil {
		return nil, fmt.Errorf("%s: %w", who, err)
	}

	// Validity, chain, key usage, authorization and revocation: the same
	// checks as for sibling signatures (CheckSigner), before any
	// cryptography.
	trusted, err := v.CheckSigner(ctx, chain)
	if err != nil {
		return nil, err
	}

	if !v.viaGoxmldsig && exclusiveProfile(sig) {
		// What vucelink signs with: checked here, in one pass over the
		// tree (verifyExclusive), and the tree itself is the result.
		if err := verifyExclusive(root, sig, leaf); err != nil {
			return nil, fmt.Errorf("%s: %w", who, err)
		}
		var signed *etree.Element
		if own {
			signed = stripInPlace(root, sig)
		} else {
			signed = stripUnsigned(root, sig)
		}
		return &Verified{Element: signed, Signer: leaf, Chain: trusted}, nil
	}

	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	work, undo := forGoxmldsig(root, sig)
	defer undo()

	// Everything else the policy allows (inclusive C14N 1.0 and 1.1, SHA-1
	// where allowed): goxmldsig, pinned to this one leaf.
	vctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{leaf}})
	vctx.Clock = dsig.NewFakeClockAt(now)
	verified, err := vctx.Validate(work)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", who, ErrBadSignature, err)
	}
	return &Verified{Element: stripUnsigned(verified, nil), Signer: leaf, Chain: trusted}, nil
}

// notAuthorized wraps an Authorize error so that it matches
// ErrNotAuthorized and names the signer, without saying either twice.
func notAuthorized(leaf *x509.Certificate, who string, err error) error {
	if !errors.Is(err, ErrNotAuthorized) {
		err = fmt.Errorf("%w: %w", ErrNotAuthorized, err)
	}
	if !strings.Contains(err.Error(), leaf.Subject.String()) {
		err = fmt.Errorf("%s: %w", who, err)
	}
	return err
}

// stripUnsigned returns a copy of e, in a document of its own, without the
// element skip (the signature, or nil), comments, processing instructions
// or CDATA markers. The canonicalizations allowed here do not sign
// comments, so they must not reach callers: a comment splitting a signed
// value is a known injection trick. Text on both sides of a removed token
// is joined, so every value reads as the one text node that was signed.
func stripUnsigned(e, skip *etree.Element) *etree.Element {
	doc := etree.NewDocument()
	doc.SetRoot(textOnly(e, skip))
	return doc.Root()
}

func textOnly(e, skip *etree.Element) *etree.Element {
	ne := etree.NewElement(e.FullTag())
	for _, a := range e.Attr {
		ne.CreateAttr(a.FullKey(), a.Value)
	}
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			ne.CreateText(text.String())
			text.Reset()
		}
	}
	for _, t := range e.Child {
		switch c := t.(type) {
		case *etree.CharData:
			text.WriteString(c.Data)
		case *etree.Element:
			if c == skip {
				continue
			}
			flush()
			ne.AddChild(textOnly(c, skip))
		}
	}
	flush()
	return ne
}

// stripInPlace is stripUnsigned for a tree the caller owns: root is moved
// into a document of its own, and skip, comments, processing instructions
// and CDATA markers are taken out where they are. Only an element that
// has one of them has its children relinked; the rest is not touched.
func stripInPlace(root, skip *etree.Element) *etree.Element {
	doc := etree.NewDocument()
	doc.SetRoot(root)
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		clean := true
		prevText := false
		for _, t := range e.Child {
			switch c := t.(type) {
			case *etree.Element:
				prevText = false
				if c == skip {
					clean = false
					continue
				}
				walk(c)
			case *etree.CharData:
				clean = clean && !prevText && !c.IsCData()
				prevText = true
			default:
				clean = false
			}
		}
		if !clean {
			relink(e, textOnlyChildren(e.Child, skip))
		}
	}
	walk(root)
	return doc.Root()
}

// textOnlyChildren returns the tokens of kids that stay: elements other
// than skip, and each run of text as one plain text node.
func textOnlyChildren(kids []etree.Token, skip *etree.Element) []etree.Token {
	var out []etree.Token
	var run strings.Builder
	var first *etree.CharData // the run's only node, if it has one
	flush := func() {
		switch {
		case first != nil && !first.IsCData():
			out = append(out, first)
		case first != nil || run.Len() > 0:
			out = append(out, etree.NewText(run.String()))
		}
		first = nil
		run.Reset()
	}
	n := 0 // text nodes in the current run
	for _, t := range kids {
		switch c := t.(type) {
		case *etree.CharData:
			if n == 0 {
				first = c
			} else {
				first = nil
			}
			n++
			run.WriteString(c.Data)
		case *etree.Element:
			if n > 0 {
				flush()
				n = 0
			}
			if c != skip {
				out = append(out, c)
			}
		}
	}
	if n > 0 {
		flush()
	}
	return out
}

// relink makes kids e's children. Every child is detached from the end
// (no shifting), so that etree's parent and position of each token are
// set afresh, in time linear in the children.
func relink(e *etree.Element, kids []etree.Token) {
	for i := len(e.Child) - 1; i >= 0; i-- {
		e.RemoveChildAt(i)
	}
	for _, t := range kids {
		e.AddChild(t)
	}
}

// onlyRoot rejects content beside a document's root element: a second,
// unsigned root (etree accepts one) or text after the root. Either would
// sit outside what the signature covers. An element that is not a
// document's root is verified on its own and its siblings are not looked at.
func onlyRoot(root *etree.Element) error {
	doc := root.Parent()
	if doc == nil || doc.Tag != "" || doc.Parent() != nil {
		return nil
	}
	for _, t := range doc.Child {
		switch c := t.(type) {
		case *etree.Element:
			if c != root {
				return fmt.Errorf("%w: a second root element <%s> outside the signed one", ErrReference, c.FullTag())
			}
		case *etree.CharData:
			if strings.TrimSpace(c.Data) != "" {
				return fmt.Errorf("%w: text outside the root element", ErrReference)
			}
		}
	}
	return nil
}

// theSignature returns the document's only ds:Signature, which must be a
// direct child of the root. Counting every signature in the tree, not just
// the root's children, is what stops a second signature hidden deeper from
// being used to wrap the document.
func theSignature(root *etree.Element) (*etree.Element, error) {
	var all []*etree.Element
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		// The namespace is looked up only for elements named Signature,
		// and children are read in place (ChildElements would allocate a
		// slice per element, 12,000 for a 1,000-item certificate).
		if e.Tag == dsig.SignatureTag && e.NamespaceURI() == dsig.Namespace {
			all = append(all, e)
		}
		for _, t := range e.Child {
			if c, ok := t.(*etree.Element); ok {
				walk(c)
			}
		}
	}
	walk(root)
	switch {
	case len(all) == 0:
		return nil, fmt.Errorf("%w: the document has no ds:Signature", ErrNoSignature)
	case len(all) > 1:
		return nil, fmt.Errorf("%w: found %d ds:Signature elements, want exactly one", ErrMultipleSignatures, len(all))
	case all[0].Parent() != root:
		return nil, fmt.Errorf("%w: the ds:Signature is not a child of the root element", ErrReference)
	}
	return all[0], nil
}

// checkSignatureElement checks the shape of ds:Signature: SignedInfo,
// SignatureValue and an optional KeyInfo, each once and in that order.
// goxmldsig reads the signature with encoding/xml, where a repeated element
// or attribute silently replaces (or extends) the one before; this package
// reads the first. Any such ambiguity is refused here, so that what is
// checked below is exactly what goxmldsig then uses.
func checkSignatureElement(sig *etree.Element) error {
	kids := sig.ChildElements()
	for _, c := range kids {
		if c.NamespaceURI() == dsig.Namespace && c.Tag == "Object" {
			// An enveloped signature's ds:Object is removed with it before
			// digesting: whatever it carries is unsigned, and is where
			// wrapping attacks hide the original.
			return fmt.Errorf("%w: ds:Signature carries a ds:Object, which the reference does not cover", ErrReference)
		}
	}
	if err := sequence(sig, dsig.SignedInfoTag, dsig.SignatureValueTag, dsig.KeyInfoTag+"?"); err != nil {
		return err
	}
	sv := kids[1]
	if len(sv.ChildElements()) > 0 {
		return fmt.Errorf("%w: SignatureValue has child elements", ErrMalformed)
	}
	value := strings.Join(strings.Fields(allText(sv)), "")
	if value == "" {
		return fmt.Errorf("%w: empty SignatureValue", ErrMalformed)
	}
	if _, err := base64.StdEncoding.DecodeString(value); err != nil {
		return fmt.Errorf("%w: SignatureValue is not base64: %v", ErrMalformed, err)
	}
	if len(kids) < 3 {
		return nil
	}
	keyInfo := kids[2]
	x509Data := 0
	for _, c := range keyInfo.ChildElements() {
		switch {
		case c.NamespaceURI() != dsig.Namespace:
			return fmt.Errorf("%w: unexpected <%s> in KeyInfo", ErrMalformed, c.FullTag())
		case c.Tag == dsig.X509DataTag:
			x509Data++
		case c.Tag == "KeyName" || c.Tag == "KeyValue":
		default:
			return fmt.Errorf("%w: unexpected ds:%s in KeyInfo", ErrMalformed, c.Tag)
		}
	}
	if x509Data > 1 {
		return fmt.Errorf("%w: %d X509Data elements in KeyInfo, want one", ErrMalformed, x509Data)
	}
	return nil
}

// checkAlgorithms checks SignedInfo: its shape, the algorithm policy, and
// that its one reference covers the root.
func checkAlgorithms(root, sig *etree.Element, allowSHA1 bool) error {
	si := child(sig, dsig.SignedInfoTag)
	refs := children(si, dsig.ReferenceTag)
	if len(refs) != 1 {
		return fmt.Errorf("%w: %d references, want exactly one", ErrReference, len(refs))
	}
	if err := sequence(si, dsig.CanonicalizationMethodTag, dsig.SignatureMethodTag, dsig.ReferenceTag); err != nil {
		return err
	}
	kids := si.ChildElements()
	c14n, sm, ref := kids[0], kids[1], kids[2]

	a, err := onlyAttr(c14n, dsig.AlgorithmAttr)
	if err != nil {
		return err
	}
	if !allowedCanonicalizations[a] {
		return fmt.Errorf("%w: canonicalization %q", ErrAlgorithm, a)
	}
	if err := inclusiveNamespacesOnly(c14n, a); err != nil {
		return err
	}
	if a, err = onlyAttr(sm, dsig.AlgorithmAttr); err != nil {
		return err
	}
	if !allowedSignatureMethods[a] && !(allowSHA1 && a == siblingRSASHA1) {
		return fmt.Errorf("%w: signature method %q", ErrAlgorithm, a)
	}
	if len(sm.ChildElements()) > 0 {
		return fmt.Errorf("%w: SignatureMethod has child elements", ErrMalformed)
	}

	uri, err := onlyAttr(ref, dsig.URIAttr)
	if err != nil {
		return err
	}
	ids := idAttrs(root)
	switch {
	case uri == "":
	case len(ids) > 1:
		return fmt.Errorf("%w: the root element has %d ID attributes", ErrReference, len(ids))
	case len(ids) == 1 && ids[0].Key == dsig.DefaultIdAttr && ids[0].Space == "" && uri == "#"+ids[0].Value:
		if n := countID(root, ids[0].Value); n != 1 {
			return fmt.Errorf("%w: ID %q appears %d times", ErrReference, ids[0].Value, n)
		}
	default:
		return fmt.Errorf("%w: reference %q is not the root element", ErrReference, uri)
	}
	if err := sequence(ref, dsig.TransformsTag+"?", dsig.DigestMethodTag, dsig.DigestValueTag); err != nil {
		return err
	}
	dm := child(ref, dsig.DigestMethodTag)
	if a, err = onlyAttr(dm, dsig.AlgorithmAttr); err != nil {
		return err
	}
	if !allowedDigests[a] && !(allowSHA1 && a == siblingSHA1) {
		return fmt.Errorf("%w: digest %q", ErrAlgorithm, a)
	}
	if len(dm.ChildElements()) > 0 {
		return fmt.Errorf("%w: DigestMethod has child elements", ErrMalformed)
	}
	return checkTransforms(child(ref, dsig.TransformsTag))
}

// checkTransforms allows exactly the enveloped-signature transform,
// optionally followed by one allowed canonicalization: XPath, XSLT, base64
// and the rest are refused, and so is any other arrangement (goxmldsig would
// apply a second enveloped-signature transform to whatever then sits where
// the signature was).
func checkTransforms(ts *etree.Element) error {
	if ts == nil {
		return fmt.Errorf("%w: reference lacks the enveloped-signature transform", ErrReference)
	}
	var algs []string
	for _, t := range ts.ChildElements() {
		if t.Tag != dsig.TransformTag || t.NamespaceURI() != dsig.Namespace {
			return fmt.Errorf("%w: unexpected <%s> in Transforms", ErrMalformed, t.FullTag())
		}
		a, err := onlyAttr(t, dsig.AlgorithmAttr)
		if err != nil {
			return err
		}
		if !allowedTransforms[a] {
			return fmt.Errorf("%w: transform %q", ErrAlgorithm, a)
		}
		if err := inclusiveNamespacesOnly(t, a); err != nil {
			return err
		}
		algs = append(algs, a)
	}
	enveloped := string(dsig.EnvelopedSignatureAltorithmId)
	switch {
	case !slices.Contains(algs, enveloped):
		return fmt.Errorf("%w: reference lacks the enveloped-signature transform", ErrReference)
	case algs[0] != enveloped || len(algs) > 2 || (len(algs) == 2 && algs[1] == enveloped):
		return fmt.Errorf("%w: transform chain %q, want enveloped-signature optionally followed by one canonicalization", ErrAlgorithm, algs)
	}
	return nil
}

// sequence checks that e's child elements are the XMLDSIG elements tags, in
// that order; a tag ending in "?" may be absent.
func sequence(e *etree.Element, tags ...string) error {
	kids := e.ChildElements()
	i := 0
	for _, tag := range tags {
		optional := strings.HasSuffix(tag, "?")
		tag = strings.TrimSuffix(tag, "?")
		if i < len(kids) && kids[i].Tag == tag && kids[i].NamespaceURI() == dsig.Namespace {
			i++
			continue
		}
		if !optional {
			return fmt.Errorf("%w: ds:%s lacks ds:%s where expected", ErrMalformed, e.Tag, tag)
		}
	}
	if i < len(kids) {
		return fmt.Errorf("%w: unexpected <%s> in ds:%s", ErrMalformed, kids[i].FullTag(), e.Tag)
	}
	return nil
}

// onlyAttr returns the value of e's unqualified attribute key, refusing a
// namespace-qualified attribute with the same local name: etree finds the
// first of them and encoding/xml keeps the last, in canonical order, so
// they could disagree.
func onlyAttr(e *etree.Element, key string) (string, error) {
	value, n := "", 0
	for _, a := range e.Attr {
		if a.Key != key {
			continue
		}
		if a.Space != "" {
			return "", fmt.Errorf("%w: qualified attribute %s on ds:%s", ErrMalformed, a.FullKey(), e.Tag)
		}
		value = a.Value
		n++
	}
	if n != 1 && key == dsig.AlgorithmAttr {
		return "", fmt.Errorf("%w: ds:%s has no Algorithm", ErrMalformed, e.Tag)
	}
	return value, nil
}

// inclusiveNamespacesOnly allows a canonicalization element no children
// but, for exclusive C14N, one InclusiveNamespaces.
func inclusiveNamespacesOnly(e *etree.Element, alg string) error {
	for i, c := range e.ChildElements() {
		if alg != string(dsig.CanonicalXML10ExclusiveAlgorithmId) || i > 0 ||
			c.Tag != dsig.InclusiveNamespacesTag || c.NamespaceURI() != string(dsig.CanonicalXML10ExclusiveAlgorithmId) {
			return fmt.Errorf("%w: unexpected <%s> in ds:%s", ErrMalformed, c.FullTag(), e.Tag)
		}
	}
	return nil
}

// signerCertificates decodes the X509Certificate elements of KeyInfo,
// signer first.
func signerCertificates(sig *etree.Element) ([]*x509.Certificate, error) {
	data := child(child(sig, dsig.KeyInfoTag), dsig.X509DataTag)
	var out []*x509.Certificate
	for _, e := range children(data, dsig.X509CertificateTag) {
		der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(allText(e)), ""))
		if err != nil {
			return nil, fmt.Errorf("%w: X509Certificate is not base64: %v", ErrMalformed, err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("%w: X509Certificate: %v", ErrMalformed, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no KeyInfo/X509Data/X509Certificate names the signer", ErrUntrustedSigner)
	}
	return out, nil
}

func child(e *etree.Element, tag string) *etree.Element {
	if e == nil {
		return nil
	}
	for _, c := range e.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == dsig.Namespace {
			return c
		}
	}
	return nil
}

func children(e *etree.Element, tag string) []*etree.Element {
	if e == nil {
		return nil
	}
	var out []*etree.Element
	for _, c := range e.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == dsig.Namespace {
			out = append(out, c)
		}
	}
	return out
}

// idAttrs returns e's ID-like attributes: ID, Id or id in any namespace.
// Partners' tools differ in which they treat as the ID, so a reference is
// accepted only where they cannot disagree.
func idAttrs(e *etree.Element) []etree.Attr {
	var out []etree.Attr
	for _, a := range e.Attr {
		if a.Space != "xmlns" && strings.EqualFold(a.Key, "id") {
			out = append(out, a)
		}
	}
	return out
}

// countID counts the ID-like attributes with value id in e's subtree.
func countID(e *etree.Element, id string) int {
	n := 0
	for _, a := range idAttrs(e) {
		if a.Value == id {
			n++
		}
	}
	for _, c := range e.ChildElements() {
		n += countID(c, id)
	}
	return n
}

// allText joins all of e's character data. etree's Text stops at the first
// comment; goxmldsig reads with encoding/xml, which joins them all, and the
// two must see the same certificate.
func allText(e *etree.Element) string {
	var sb strings.Builder
	for _, t := range e.Child {
		if c, ok := t.(*etree.CharData); ok {
			sb.WriteString(c.Data)
		}
	}
	return sb.String()
}
