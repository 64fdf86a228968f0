package certs

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/vucelink/vucelink/xmlsafe"
)

// minRSABits is the smallest signing key accepted: what current national
// PKI policies (and the ePhyto hub) require.
const minRSABits = 2048

// Signer signs documents with an enveloped XMLDSIG signature as one
// authorized official. It is safe for concurrent use if its key is.
type Signer struct {
	key   crypto.Signer
	chain []*x509.Certificate
	der   [][]byte
}

// NewSigner returns a Signer for key with its certificate chain, leaf first;
// every certificate given is written into KeyInfo, so a partner that lacks
// an intermediate can still build the chain.
//
// The key must be RSA (at least 2048 bits) and match the leaf. RSA only,
// because goxmldsig writes ECDSA signature values DER-encoded rather than
// as XMLDSIG's fixed-size r||s, which xmlsec1 and Java reject: an ECDSA
// signature from vucelink would verify nowhere else. The key may live in
// an HSM: only crypto.Signer is used.
func NewSigner(key crypto.Signer, chain ...*x509.Certificate) (*Signer, error) {
	if key == nil {
		return nil, errors.New("signer: no key")
	}
	if len(chain) == 0 {
		return nil, errors.New("signer: no certificate")
	}
	for i, c := range chain {
		if c == nil {
			return nil, fmt.Errorf("signer: certificate %d is nil", i+1)
		}
	}
	leaf := chain[0]
	pub, ok := key.Public().(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("signer %q: key is %T, want RSA (goxmldsig's ECDSA signatures do not interoperate)", leaf.Subject.String(), key.Public())
	}
	if bits := pub.N.BitLen(); bits < minRSABits {
		return nil, fmt.Errorf("signer %q: RSA key of %d bits, want at least %d", leaf.Subject.String(), bits, minRSABits)
	}
	if leafPub, ok := leaf.PublicKey.(*rsa.PublicKey); !ok || !leafPub.Equal(pub) {
		return nil, fmt.Errorf("signer %q: key does not match the certificate", leaf.Subject.String())
	}
	s := &Signer{key: key, chain: chain}
	for _, c := range chain {
		s.der = append(s.der, c.Raw)
	}
	return s, nil
}

// LoadSigner reads a PEM private key (PKCS#1 or PKCS#8) and a PEM
// certificate file whose first certificate is the signer's; any further
// certificates are its chain.
func LoadSigner(keyFile, certFile string) (*Signer, error) {
	chain, err := LoadCertificates(certFile)
	if err != nil {
		return nil, err
	}
	key, err := LoadPrivateKey(keyFile)
	if err != nil {
		return nil, err
	}
	s, err := NewSigner(key, chain...)
	if err != nil {
		return nil, fmt.Errorf("%s, %s: %w", keyFile, certFile, err)
	}
	return s, nil
}

// Certificate returns the signer's certificate.
func (s *Signer) Certificate() *x509.Certificate { return s.chain[0] }

// SignElement returns a signed copy of root, a document's root element: an
// enveloped signature is appended as its last child. The reference is to
// the whole document (URI="") unless root carries an ID attribute, in which
// case it is "#<ID>". root itself is not modified.
func (s *Signer) SignElement(root *etree.Element) (*etree.Element, error) {
	if root == nil {
		return nil, errors.New("sign: no element")
	}
	// An element inside another would be digested without the namespaces
	// its ancestors declare, and Verifier only accepts a signature over the
	// whole document anyway.
	if p := root.Parent(); p != nil && (p.Tag != "" || p.Parent() != nil) {
		return nil, fmt.Errorf("sign: <%s> is not a document's root element", root.FullTag())
	}
	ctx, err := dsig.NewSigningContext(s.key, s.der)
	if err != nil {
		return nil, err
	}
	// goxmldsig defaults to C14N 1.1. Exclusive C14N is pinned because it
	// is what partners' verifiers (xmlsec1, Java, the ePhyto hub) handle
	// most consistently, and because it keeps the signature valid when the
	// document is later carried inside an envelope that declares other
	// namespaces (the Pacific Alliance's SOAP messages, the hub's).
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	ctx.Hash = crypto.SHA256
	if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		return nil, err
	}
	// Not ctx.SignEnveloped: goxmldsig canonicalizes the element it
	// digests in place (every element then redeclares the namespaces it
	// uses, which made a 1,000-item certificate nine times larger), and
	// SignEnveloped returns that element. It digests a copy here (without
	// declarations goxmldsig would canonicalize wrongly), and the signature
	// is appended to the document as it was.
	digested := root.Copy()
	redundantEmptyDefaults(digested, "", true)
	sig, err := ctx.ConstructSignature(digested, true)
	if err != nil {
		return nil, fmt.Errorf("signer %q: %w", s.chain[0].Subject.String(), err)
	}
	signed := root.Copy()
	signed.AddChild(sig)
	return signed, nil
}

// writeSettings serialize a signed document so that any conformant parser
// reads back exactly the values that were signed. etree's defaults write a
// tab or line break in an attribute, and a carriage return in text, as the
// raw character, which the reader then normalizes to a space or a line
// feed: the digest would no longer match. Nothing is indented or reflowed.
var writeSettings = etree.WriteSettings{CanonicalText: true, CanonicalAttrVal: true}

// Sign parses data safely, signs its root and serializes the result. The
// document is not reformatted: whitespace, comments and processing
// instructions outside and inside the root are kept as they were (CDATA
// sections are written as escaped text, which reads the same).
func (s *Signer) Sign(data []byte) ([]byte, error) {
	doc, err := xmlsafe.Parse(data, xmlsafe.Limits{})
	if err != nil {
		return nil, err
	}
	signed, err := s.SignElement(doc.Root())
	if err != nil {
		return nil, err
	}
	doc.SetRoot(signed)
	doc.WriteSettings = writeSettings
	return doc.WriteToBytes()
}
