package certs

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/vucelink/vucelink/xmlsafe"
)

// Errors callers branch on. Every verification error wraps exactly one of
// these (or one of xmlsafe's for unparseable input).
var (
	ErrMalformed          = errors.New("malformed signature")
	ErrNoSignature        = errors.New("no signature")
	ErrMultipleSignatures = errors.New("more than one signature")
	ErrAlgorithm          = errors.New("algorithm not allowed")
	ErrReference          = errors.New("signature does not cover the document")
	ErrBadSignature       = errors.New("signature does not match the document")
	ErrUntrustedSigner    = errors.New("signer not trusted")
	ErrExpired            = errors.New("signer certificate expired")
	ErrNotYetValid        = errors.New("signer certificate not yet valid")
	ErrNotAuthorized      = errors.New("signer not authorized")
)

// Allowed algorithms. SHA-1 is absent on purpose: goxmldsig still accepts
// it, so the policy is enforced here before goxmldsig runs.
var (
	allowedSignatureMethods = map[string]bool{
		dsig.RSASHA256SignatureMethod: true,
		dsig.RSASHA384SignatureMethod: true,
		dsig.RSASHA512SignatureMethod: true,
	}
	allowedDigests = map[string]bool{
		"http://www.w3.org/2001/04/xmlenc#sha256":       true,
		"http://www.w3.org/2001/04/xmldsig-more#sha384": true,
		"http://www.w3.org/2001/04/xmlenc#sha512":       true,
	}
	// Comment-preserving variants are excluded: goxmldsig's #WithComments
	// on a URI="" reference does not match other implementations, and
	// comments are a known injection vector inside signed values.
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

// Verifier checks enveloped signatures from one sending country.
type Verifier struct {
	// Roots are the sending country's CAs (required).
	Roots *x509.CertPool
	// Intermediates, if any, help build chains; certificates carried in the
	// signature's X509Data are used as intermediates too.
	Intermediates *x509.CertPool
	// Authorize, if set, is called with a signer whose chain is valid; its
	// error rejects the document (wrap ErrNotAuthorized).
	Authorize func(signer *x509.Certificate) error
	// Now returns the verification time; nil means time.Now.
	Now func() time.Time
	// Limits bound the document.
	Limits xmlsafe.Limits
}

// Verified is a verified document.
type Verified struct {
	// Element is what the signature covers, with the signature removed: the
	// only part of the input any caller may use.
	Element *etree.Element
	Signer  *x509.Certificate
	Chain   []*x509.Certificate
}

// Verify parses data safely and verifies it.
func (v *Verifier) Verify(data []byte) (*Verified, error) {
	doc, err := xmlsafe.Parse(data, v.Limits)
	if err != nil {
		return nil, err
	}
	return v.VerifyElement(doc.Root())
}

// VerifyElement verifies a parsed document's root element.
func (v *Verifier) VerifyElement(root *etree.Element) (*Verified, error) {
	if v.Roots == nil {
		return nil, fmt.Errorf("%w: verifier has no trusted CAs", ErrUntrustedSigner)
	}
	sig, err := theSignature(root)
	if err != nil {
		return nil, err
	}
	if err := checkAlgorithms(root, sig); err != nil {
		return nil, err
	}
	chain, err := signerCertificates(sig)
	if err != nil {
		return nil, err
	}
	leaf := chain[0]
	who := fmt.Sprintf("signer %q", leaf.Subject.String())

	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	switch {
	case now.Before(leaf.NotBefore):
		return nil, fmt.Errorf("%w: %s: valid from %s", ErrNotYetValid, who, leaf.NotBefore.UTC().Format(time.RFC3339))
	case now.After(leaf.NotAfter):
		return nil, fmt.Errorf("%w: %s: expired at %s", ErrExpired, who, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	inter := x509.NewCertPool()
	if v.Intermediates != nil {
		inter = v.Intermediates.Clone()
	}
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots: v.Roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %s (issued by %q): %v", ErrUntrustedSigner, who, leaf.Issuer.String(), err)
	}
	if leaf.KeyUsage != 0 && leaf.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		return nil, fmt.Errorf("%w: %s: certificate is not for digital signatures", ErrUntrustedSigner, who)
	}
	if v.Authorize != nil {
		if err := v.Authorize(leaf); err != nil {
			if !errors.Is(err, ErrNotAuthorized) {
				err = fmt.Errorf("%w: %v", ErrNotAuthorized, err)
			}
			return nil, err
		}
	}

	// goxmldsig (v1.6.x) stops any tree walk after 1,000 elements, and it
	// looks for the signature in document order: behind a certificate with
	// a few hundred line items, an enveloped signature in its usual last
	// place is never reached. Where the signature sits among the root's
	// children does not change what it covers (the enveloped transform
	// removes it, and its namespace context is the same), so it is moved
	// to the front.
	if root.ChildElements()[0] != sig {
		root.RemoveChild(sig)
		root.InsertChildAt(0, sig)
	}

	// Only now does goxmldsig see the document, pinned to this one leaf.
	ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{leaf}})
	ctx.Clock = dsig.NewFakeClockAt(now)
	verified, err := ctx.Validate(root)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadSignature, who, err)
	}
	stripUnsigned(verified)
	return &Verified{Element: verified, Signer: leaf, Chain: chains[0]}, nil
}

// stripUnsigned removes comments and processing instructions: the
// canonicalizations allowed here do not sign them, so they must not reach
// callers (a comment splitting a signed value is a known injection trick).
func stripUnsigned(e *etree.Element) {
	kept := e.Child[:0]
	for _, t := range e.Child {
		switch c := t.(type) {
		case *etree.Comment, *etree.ProcInst:
			continue
		case *etree.Element:
			stripUnsigned(c)
		}
		kept = append(kept, t)
	}
	e.Child = kept
}

// theSignature returns the document's only ds:Signature, which must be a
// direct child of the root. Counting every signature in the tree, not just
// the root's children, is what stops a second signature hidden deeper from
// being used to wrap the document.
func theSignature(root *etree.Element) (*etree.Element, error) {
	var all []*etree.Element
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		if e.Tag == dsig.SignatureTag && e.NamespaceURI() == dsig.Namespace {
			all = append(all, e)
		}
		for _, c := range e.ChildElements() {
			walk(c)
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

// checkAlgorithms enforces the algorithm policy and that the one reference
// covers the root.
func checkAlgorithms(root, sig *etree.Element) error {
	si := child(sig, dsig.SignedInfoTag)
	if si == nil {
		return fmt.Errorf("%w: no SignedInfo", ErrMalformed)
	}
	if a := algorithm(child(si, dsig.CanonicalizationMethodTag)); !allowedCanonicalizations[a] {
		return fmt.Errorf("%w: canonicalization %q", ErrAlgorithm, a)
	}
	if a := algorithm(child(si, dsig.SignatureMethodTag)); !allowedSignatureMethods[a] {
		return fmt.Errorf("%w: signature method %q", ErrAlgorithm, a)
	}
	refs := children(si, dsig.ReferenceTag)
	if len(refs) != 1 {
		return fmt.Errorf("%w: %d references, want exactly one", ErrReference, len(refs))
	}
	ref := refs[0]
	uri := ref.SelectAttrValue(dsig.URIAttr, "")
	id := root.SelectAttrValue(dsig.DefaultIdAttr, "")
	switch {
	case uri == "":
	case id != "" && uri == "#"+id:
		if n := countID(root, id); n != 1 {
			return fmt.Errorf("%w: ID %q appears %d times", ErrReference, id, n)
		}
	default:
		return fmt.Errorf("%w: reference %q is not the root element", ErrReference, uri)
	}
	if a := algorithm(child(ref, dsig.DigestMethodTag)); !allowedDigests[a] {
		return fmt.Errorf("%w: digest %q", ErrAlgorithm, a)
	}
	enveloped := false
	if ts := child(ref, dsig.TransformsTag); ts != nil {
		for _, t := range children(ts, dsig.TransformTag) {
			a := algorithm(t)
			if !allowedTransforms[a] {
				return fmt.Errorf("%w: transform %q", ErrAlgorithm, a)
			}
			enveloped = enveloped || a == string(dsig.EnvelopedSignatureAltorithmId)
		}
	}
	if !enveloped {
		return fmt.Errorf("%w: reference lacks the enveloped-signature transform", ErrReference)
	}
	return nil
}

// signerCertificates decodes the X509Certificate elements of KeyInfo,
// signer first.
func signerCertificates(sig *etree.Element) ([]*x509.Certificate, error) {
	data := child(child(sig, dsig.KeyInfoTag), dsig.X509DataTag)
	var out []*x509.Certificate
	for _, e := range children(data, dsig.X509CertificateTag) {
		der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(e.Text()), ""))
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

func algorithm(e *etree.Element) string {
	if e == nil {
		return ""
	}
	return e.SelectAttrValue(dsig.AlgorithmAttr, "")
}

func countID(e *etree.Element, id string) int {
	n := 0
	if e.SelectAttrValue(dsig.DefaultIdAttr, "") == id {
		n++
	}
	for _, c := range e.ChildElements() {
		n += countID(c, id)
	}
	return n
}
