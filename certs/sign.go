// Package certs signs and verifies vucelink documents with XMLDSIG, and
// knows who may sign what.
//
// Signing (Signer) applies an enveloped signature with the authorized
// official's key: RSA-SHA256, SHA-256 digests, exclusive C14N, the
// certificate in KeyInfo/X509Data. Verification (Verifier) checks a signed
// document from a partner: exactly one signature, over the whole root,
// with allowed algorithms only; the signer's certificate chains to the
// partner country's CA and is current; the signer is an authorized official
// for the document type (Officials); and the cryptography holds. It returns
// only the element the signature covers, so nothing unsigned can reach the
// code that uses the document.
//
// goxmldsig does the canonicalization and cryptography. It trusts by
// pinning (the signature's certificate must equal one it was given) and
// builds no chain, so chain building and validity are done here with
// crypto/x509 first, and goxmldsig is then handed exactly that one leaf.
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

// Signer signs documents as one authorized official.
type Signer struct {
	key   crypto.Signer
	chain []*x509.Certificate
	der   [][]byte
}

// NewSigner returns a Signer for key with its certificate chain (leaf
// first). The key must be RSA and match the leaf: goxmldsig writes ECDSA
// signatures DER-encoded rather than as XMLDSIG's raw r||s, which xmlsec1
// and Java reject, so ECDSA would not interoperate.
func NewSigner(key crypto.Signer, chain ...*x509.Certificate) (*Signer, error) {
	if key == nil || len(chain) == 0 {
		return nil, errors.New("signer needs a key and a certificate")
	}
	pub, ok := key.Public().(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("signing key is %T, want RSA (ECDSA signatures from goxmldsig do not interoperate)", key.Public())
	}
	leafPub, ok := chain[0].PublicKey.(*rsa.PublicKey)
	if !ok || !leafPub.Equal(pub) {
		return nil, fmt.Errorf("signing key does not match certificate %q", chain[0].Subject)
	}
	s := &Signer{key: key, chain: chain}
	for _, c := range chain {
		s.der = append(s.der, c.Raw)
	}
	return s, nil
}

// LoadSigner reads a PEM private key (PKCS#1 or PKCS#8) and a PEM
// certificate file whose first certificate is the signer's.
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
		return nil, fmt.Errorf("%s: %w", keyFile, err)
	}
	return s, nil
}

// Certificate returns the signer's certificate.
func (s *Signer) Certificate() *x509.Certificate { return s.chain[0] }

// SignElement returns a copy of root with an enveloped signature appended
// as its last child. The reference is to the whole document (URI="") unless
// root carries an ID attribute.
func (s *Signer) SignElement(root *etree.Element) (*etree.Element, error) {
	ctx, err := dsig.NewSigningContext(s.key, s.der)
	if err != nil {
		return nil, err
	}
	// Pin exclusive C14N: goxmldsig defaults to C14N 1.1, and exclusive
	// C14N is what partners' verifiers (xmlsec1, Java, the ePhyto hub)
	// handle best; it also keeps the signature valid if the document is
	// later embedded in an envelope with other namespaces.
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	ctx.Hash = crypto.SHA256
	if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		return nil, err
	}
	// goxmldsig canonicalizes the element it digests in place (every
	// element then redeclares its namespaces, which made a 1,000-item
	// certificate nine times larger); it gets a copy, and the signature is
	// appended to the document as it was.
	sig, err := ctx.ConstructSignature(root.Copy(), true)
	if err != nil {
		return nil, fmt.Errorf("signing as %q: %w", s.chain[0].Subject, err)
	}
	signed := root.Copy()
	signed.AddChild(sig)
	return signed, nil
}

// Sign parses data safely, signs its root and serializes the result. The
// document is not reformatted: whitespace outside the root is kept as is.
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
	return doc.WriteToBytes()
}
