package registry

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/xmlsafe"
)

// VerifyOptions say what a list must be besides well signed.
type VerifyOptions struct {
	// Country, if set, is the country the list must be of.
	Country string
	// MinSequence is the lowest sequence accepted (the sequence of the
	// list in force; Registry.Accept sets it).
	MinSequence uint64
	// Now is the verification time (the signing root must be valid then);
	// zero means time.Now.
	Now time.Time
	// Limits bound the document.
	Limits xmlsafe.Limits
}

// Verify checks a signed list and returns it.
//
// The list is parsed with xmlsafe; its one signature must follow the
// profile certs.Signer writes (see the package documentation) and be made
// by the key of one of roots, whose certificate the signature carries
// (compared byte for byte: a certificate chaining to a root is not
// enough); the root must be valid at o.Now. Only the content the signature
// covers is read. Then the country must be o.Country, if set, and the
// sequence at least o.MinSequence.
//
// Errors wrap certs.ErrNoSignature, certs.ErrMultipleSignatures,
// certs.ErrReference, certs.ErrMalformed, certs.ErrAlgorithm,
// certs.ErrUntrustedSigner, certs.ErrExpired, certs.ErrBadSignature,
// ErrInvalidList, ErrWrongCountry or ErrRollback, or an xmlsafe error.
func Verify(data []byte, roots []*x509.Certificate, o VerifyOptions) (*List, error) {
	if len(roots) == 0 {
		return nil, fmt.Errorf("%w: no root certificates to verify the officials list with", certs.ErrUntrustedSigner)
	}
	doc, err := xmlsafe.Parse(data, o.Limits)
	if err != nil {
		return nil, err
	}
	root := doc.Root()
	if root == nil {
		return nil, fmt.Errorf("%w: no root element", ErrInvalidList)
	}
	if root.Tag != RootTag || root.NamespaceURI() != Namespace {
		return nil, fmt.Errorf("%w: root element <%s> in namespace %q, want <%s> in %q", ErrInvalidList, root.Tag, root.NamespaceURI(), RootTag, Namespace)
	}
	sig, err := theSignature(root)
	if err != nil {
		return nil, err
	}
	if err := matchShape(sig, signatureShape); err != nil {
		return nil, err
	}
	claimed, err := signerCertificate(sig)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(roots, func(r *x509.Certificate) bool { return bytes.Equal(r.Raw, claimed.Raw) })
	if i < 0 {
		return nil, fmt.Errorf("%w: the officials list is signed by %q (issued by %q), which is not one of the configured root certificates %s",
			certs.ErrUntrustedSigner, claimed.Subject.String(), claimed.Issuer.String(), subjects(roots))
	}
	signer := roots[i]
	who := fmt.Sprintf("officials list signer %q", signer.Subject.String())
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	switch {
	case now.Before(signer.NotBefore):
		return nil, fmt.Errorf("%s: %w (valid from %s)", who, certs.ErrNotYetValid, stamp(signer.NotBefore))
	case now.After(signer.NotAfter):
		return nil, fmt.Errorf("%s: %w at %s", who, certs.ErrExpired, stamp(signer.NotAfter))
	}

	// goxmldsig stops its search for the signature after 1,000 elements,
	// in document order: a long list's signature, last, is moved first in
	// a copy. The enveloped transform removes it wherever it is, so the
	// digest is the same.
	work := root.Copy()
	at := slices.IndexFunc(work.Child, func(t etree.Token) bool {
		e, ok := t.(*etree.Element)
		return ok && e.Tag == dsig.SignatureTag && e.NamespaceURI() == dsig.Namespace
	})
	s := work.Child[at]
	work.RemoveChildAt(at)
	work.InsertChildAt(0, s)

	ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{signer}})
	ctx.Clock = dsig.NewFakeClockAt(now)
	verified, err := ctx.Validate(work)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", who, certs.ErrBadSignature, err)
	}
	l, err := parseList(verified)
	if err != nil {
		return nil, err
	}
	l.Signer = signer
	switch {
	case o.Country != "" && l.Country != o.Country:
		return nil, fmt.Errorf("%w: the list is %s's, want %s's", ErrWrongCountry, l.Country, o.Country)
	case l.Sequence < o.MinSequence:
		return nil, fmt.Errorf("%w: %s list sequence %d, the list in force has %d", ErrRollback, l.Country, l.Sequence, o.MinSequence)
	}
	return l, nil
}

// Inspect verifies a list's signature against the certificate the
// signature itself carries: the list is intact and that key signed it, but
// whether that key is trusted is not checked. For display (vucelink
// officials list --list FILE without --ca), never for authorization.
func Inspect(data []byte) (*List, error) {
	doc, err := xmlsafe.Parse(data, xmlsafe.Limits{})
	if err != nil {
		return nil, err
	}
	if doc.Root() == nil {
		return nil, fmt.Errorf("%w: no root element", ErrInvalidList)
	}
	sig, err := theSignature(doc.Root())
	if err != nil {
		return nil, err
	}
	if err := matchShape(sig, signatureShape); err != nil {
		return nil, err
	}
	c, err := signerCertificate(sig)
	if err != nil {
		return nil, err
	}
	return Verify(data, []*x509.Certificate{c}, VerifyOptions{})
}

func subjects(cs []*x509.Certificate) string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%q", c.Subject.String()))
	}
	return strings.Join(out, ", ")
}

// theSignature returns the list's one ds:Signature, which must be the root
// element's last child element. Every signature in the tree is counted, so
// that none hides deeper.
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
	kids := root.ChildElements()
	switch {
	case len(all) == 0:
		return nil, fmt.Errorf("%w: the officials list has no ds:Signature", certs.ErrNoSignature)
	case len(all) > 1:
		return nil, fmt.Errorf("%w: found %d ds:Signature elements, want exactly one", certs.ErrMultipleSignatures, len(all))
	case kids[len(kids)-1] != all[0]:
		return nil, fmt.Errorf("%w: the ds:Signature is not the last child of <%s>", certs.ErrReference, RootTag)
	}
	return all[0], nil
}

// shape is what an element of the signature must look like: its ds tag,
// the one attribute it must carry with its value, text
// content or child elements in order. many allows the element to repeat.
type shape struct {
	tag, attr, value string
	text             bool
	many             bool
	kids             []shape
}

// signatureShape is exactly the signature certs.Signer writes.
var signatureShape = shape{tag: dsig.SignatureTag, kids: []shape{
	{tag: dsig.SignedInfoTag, kids: []shape{
		{tag: dsig.CanonicalizationMethodTag, attr: dsig.AlgorithmAttr, value: string(dsig.CanonicalXML10ExclusiveAlgorithmId)},
		{tag: dsig.SignatureMethodTag, attr: dsig.AlgorithmAttr, value: dsig.RSASHA256SignatureMethod},
		{tag: dsig.ReferenceTag, attr: dsig.URIAttr, value: "", kids: []shape{
			{tag: dsig.TransformsTag, kids: []shape{
				{tag: dsig.TransformTag, attr: dsig.AlgorithmAttr, value: string(dsig.EnvelopedSignatureAltorithmId)},
				{tag: dsig.TransformTag, attr: dsig.AlgorithmAttr, value: string(dsig.CanonicalXML10ExclusiveAlgorithmId)},
			}},
			{tag: dsig.DigestMethodTag, attr: dsig.AlgorithmAttr, value: "http://www.w3.org/2001/04/xmlenc#sha256"},
			{tag: dsig.DigestValueTag, text: true},
		}},
	}},
	{tag: dsig.SignatureValueTag, text: true},
	{tag: dsig.KeyInfoTag, kids: []shape{
		{tag: dsig.X509DataTag, kids: []shape{
			{tag: dsig.X509CertificateTag, text: true, many: true},
		}},
	}},
}}

// matchShape checks e against s: the ds namespace, the attribute (and no
// other but namespace declarations), no comments or processing
// instructions, text only where expected (and base64 there), the children.
func matchShape(e *etree.Element, s shape) error {
	if e.Tag != s.tag || e.NamespaceURI() != dsig.Namespace {
		return fmt.Errorf("%w: <%s> where ds:%s was expected", certs.ErrMalformed, e.FullTag(), s.tag)
	}
	found := false
	for _, a := range e.Attr {
		switch {
		case a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns"):
		case s.attr != "" && a.Space == "" && a.Key == s.attr && !found:
			found = true
			if a.Value != s.value && s.attr == dsig.URIAttr {
				return fmt.Errorf("%w: reference %q: the signature must cover the whole list (URI=\"\")", certs.ErrReference, a.Value)
			}
			if a.Value != s.value {
				return fmt.Errorf("%w: ds:%s %s=%q, want %q", certs.ErrAlgorithm, s.tag, s.attr, a.Value, s.value)
			}
		default:
			return fmt.Errorf("%w: unexpected attribute %s on ds:%s", certs.ErrMalformed, a.FullKey(), s.tag)
		}
	}
	if s.attr != "" && !found {
		if s.attr == dsig.URIAttr {
			return fmt.Errorf("%w: ds:Reference without URI=\"\": the signature must cover the whole list", certs.ErrReference)
		}
		return fmt.Errorf("%w: ds:%s has no %s", certs.ErrMalformed, s.tag, s.attr)
	}
	var text strings.Builder
	for _, t := range e.Child {
		switch c := t.(type) {
		case *etree.CharData:
			text.WriteString(c.Data)
		case *etree.Element:
		default:
			return fmt.Errorf("%w: a comment or processing instruction in ds:%s", certs.ErrMalformed, s.tag)
		}
	}
	kids := e.ChildElements()
	if s.text {
		if len(kids) > 0 {
			return fmt.Errorf("%w: ds:%s has child elements", certs.ErrMalformed, s.tag)
		}
		v := strings.Join(strings.Fields(text.String()), "")
		if _, err := base64.StdEncoding.DecodeString(v); v == "" || err != nil {
			return fmt.Errorf("%w: ds:%s is not base64", certs.ErrMalformed, s.tag)
		}
		return nil
	}
	if strings.TrimSpace(text.String()) != "" {
		return fmt.Errorf("%w: text in ds:%s", certs.ErrMalformed, s.tag)
	}
	i := 0
	for _, ks := range s.kids {
		n := 0
		for i < len(kids) && kids[i].Tag == ks.tag && kids[i].NamespaceURI() == dsig.Namespace && (n == 0 || ks.many) {
			if err := matchShape(kids[i], ks); err != nil {
				return err
			}
			i++
			n++
		}
		if n == 0 {
			if ks.tag == dsig.TransformTag || ks.tag == dsig.TransformsTag {
				return fmt.Errorf("%w: ds:%s lacks the transforms %s and exclusive C14N", certs.ErrReference, s.tag, dsig.EnvelopedSignatureAltorithmId)
			}
			return fmt.Errorf("%w: ds:%s lacks ds:%s where expected", certs.ErrMalformed, s.tag, ks.tag)
		}
	}
	if i < len(kids) {
		if kids[i].Tag == dsig.ReferenceTag {
			return fmt.Errorf("%w: more than one ds:Reference", certs.ErrReference)
		}
		return fmt.Errorf("%w: unexpected <%s> in ds:%s", certs.ErrMalformed, kids[i].FullTag(), s.tag)
	}
	return nil
}

// signerCertificate decodes the first X509Certificate of KeyInfo (the
// shape is checked already).
func signerCertificate(sig *etree.Element) (*x509.Certificate, error) {
	var e *etree.Element
	for _, ki := range sig.ChildElements() {
		if ki.Tag == dsig.KeyInfoTag {
			e = ki.ChildElements()[0].ChildElements()[0]
		}
	}
	var sb strings.Builder
	for _, t := range e.Child {
		if d, ok := t.(*etree.CharData); ok {
			sb.WriteString(d.Data)
		}
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(sb.String()), ""))
	if err != nil {
		return nil, fmt.Errorf("%w: X509Certificate is not base64: %v", certs.ErrMalformed, err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: X509Certificate: %v", certs.ErrMalformed, err)
	}
	return c, nil
}
