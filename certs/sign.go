package certs

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
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

// Rekey returns a Signer with the same certificates whose key is
// wrap(key): the same key, with its operations elsewhere (OpenSSL, see
// package opensslkey). The wrapped key must still match the certificate.
func (s *Signer) Rekey(wrap func(crypto.Signer) (crypto.Signer, error)) (*Signer, error) {
	key, err := wrap(s.key)
	if err != nil {
		return nil, fmt.Errorf("signer %q: %w", s.chain[0].Subject.String(), err)
	}
	return NewSigner(key, s.chain...)
}

// Key returns the signer's private key (an HSM's handle, an
// opensslkey.Key, or a key in memory).
func (s *Signer) Key() crypto.Signer { return s.key }

// Certificate returns the signer's certificate.
func (s *Signer) Certificate() *x509.Certificate { return s.chain[0] }

// SignElement returns a signed copy of root, a document's root element: an
// enveloped signature is appended as its last child. The reference is to
// the whole document (URI="") unless root carries an ID attribute, in which
// case it is "#<ID>". root itself is not modified. A caller that owns the
// tree and needs no copy uses SignInPlace.
func (s *Signer) SignElement(root *etree.Element) (*etree.Element, error) {
	sig, err := s.signature(root)
	if err != nil {
		return nil, err
	}
	signed := root.Copy()
	signed.AddChild(sig)
	return signed, nil
}

// SignInPlace signs root, a document's root element, by appending an
// enveloped signature to it, as SignElement does to its copy.
func (s *Signer) SignInPlace(root *etree.Element) error {
	sig, err := s.signature(root)
	if err != nil {
		return err
	}
	root.AddChild(sig)
	return nil
}

// signature returns the enveloped ds:Signature for root, as goxmldsig
// would write it: RSA-SHA256 over the exclusive canonical form of
// SignedInfo, whose one reference digests the exclusive canonical form of
// the document (or of root alone when it is referenced by its ID) with
// SHA-256.
//
// The canonicalization is this package's (excc14n.go), in one pass over
// the tree straight into the hash; goxmldsig's copied the tree three times
// and a namespace map at every element, and put attributes from two
// namespaces, and processing instructions beside the root, where xmlsec1
// does not. Exclusive C14N is the algorithm because it is what partners'
// verifiers (xmlsec1, Java, the ePhyto hub) handle most consistently, and
// because it keeps the signature valid when the document is later carried
// inside an envelope that declares other namespaces (the Pacific
// Alliance's SOAP messages, the hub's).
func (s *Signer) signature(root *etree.Element) (*etree.Element, error) {
	if root == nil {
		return nil, errors.New("sign: no element")
	}
	// An element inside another would be digested without the namespaces
	// its ancestors declare, and Verifier only accepts a signature over the
	// whole document anyway.
	doc := root.Parent()
	if doc != nil && (doc.Tag != "" || doc.Parent() != nil) {
		return nil, fmt.Errorf("sign: <%s> is not a document's root element", root.FullTag())
	}
	uri := ""
	for _, a := range root.Attr {
		if a.Space == "" && a.Key == dsig.DefaultIdAttr {
			uri = "#" + a.Value
			break
		}
	}
	h := sha256.New()
	// URI="" is the whole document: the processing instructions beside
	// the root count.
	if err := canonicalDigest(h, root, nil, uri == "" && doc != nil); err != nil {
		return nil, fmt.Errorf("signer %q: %w", s.chain[0].Subject.String(), err)
	}
	digest := h.Sum(nil)

	sig := etree.NewElement("ds:" + dsig.SignatureTag)
	sig.CreateAttr("xmlns:ds", dsig.Namespace)
	si := sig.CreateElement("ds:" + dsig.SignedInfoTag)
	si.CreateElement("ds:"+dsig.CanonicalizationMethodTag).CreateAttr(dsig.AlgorithmAttr, excC14NAlgorithm)
	si.CreateElement("ds:"+dsig.SignatureMethodTag).CreateAttr(dsig.AlgorithmAttr, dsig.RSASHA256SignatureMethod)
	ref := si.CreateElement("ds:" + dsig.ReferenceTag)
	ref.CreateAttr(dsig.URIAttr, uri)
	ts := ref.CreateElement("ds:" + dsig.TransformsTag)
	ts.CreateElement("ds:"+dsig.TransformTag).CreateAttr(dsig.AlgorithmAttr, string(dsig.EnvelopedSignatureAltorithmId))
	ts.CreateElement("ds:"+dsig.TransformTag).CreateAttr(dsig.AlgorithmAttr, excC14NAlgorithm)
	ref.CreateElement("ds:"+dsig.DigestMethodTag).CreateAttr(dsig.AlgorithmAttr, sha256Digest)
	ref.CreateElement("ds:" + dsig.DigestValueTag).SetText(base64.StdEncoding.EncodeToString(digest))

	h.Reset()
	if err := canonicalDigest(h, si, nil, false); err != nil {
		return nil, err
	}
	value, err := s.key.Sign(rand.Reader, h.Sum(nil), crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("signer %q: %w", s.chain[0].Subject.String(), err)
	}
	sig.CreateElement("ds:" + dsig.SignatureValueTag).SetText(base64.StdEncoding.EncodeToString(value))
	x509Data := sig.CreateElement("ds:" + dsig.KeyInfoTag).CreateElement("ds:" + dsig.X509DataTag)
	for _, der := range s.der {
		x509Data.CreateElement("ds:" + dsig.X509CertificateTag).SetText(base64.StdEncoding.EncodeToString(der))
	}
	return sig, nil
}

// The algorithms Signer writes, and the only ones the fast verification
// path (verifyExclusive) handles.
const (
	excC14NAlgorithm = string(dsig.CanonicalXML10ExclusiveAlgorithmId)
	sha256Digest     = "http://www.w3.org/2001/04/xmlenc#sha256"
)

// writeSettings serialize the signature element so that any conformant
// parser reads back exactly the values that were signed (etree's defaults
// write a tab or line break in an attribute, and a carriage return in
// text, as the raw character, which a reader normalizes). Nothing is
// indented or reflowed.
var writeSettings = etree.WriteSettings{CanonicalText: true, CanonicalAttrVal: true}

// Sign parses data safely, signs its root and returns data with the
// signature inserted as the root's last child (where the scan saw the
// root end), every other byte as it
// was: the XML declaration, byte order mark, whitespace, comments,
// processing instructions, CDATA sections and character references the
// sender wrote. Any conformant parser reads the result into the tree that
// was signed, plus the signature. Inserting the signature into the bytes,
// rather than writing the whole tree out again, also spares a copy of the
// document.
func (s *Signer) Sign(data []byte) ([]byte, error) {
	doc, err := xmlsafe.ParseLocated(data, xmlsafe.Limits{})
	if err != nil {
		return nil, err
	}
	root := doc.Doc.Root()
	sig, err := s.signature(root)
	if err != nil {
		return nil, err
	}
	at, empty := doc.RootEnd, doc.RootEmpty
	var sb bytes.Buffer
	sb.Grow(4096)
	sig.WriteTo(&sb, &writeSettings)
	closing := ""
	if empty {
		// <r/> becomes <r><ds:Signature>…</ds:Signature></r>.
		closing = "</" + root.FullTag() + ">"
	}
	out := make([]byte, 0, len(data)+sb.Len()+len(closing)+1)
	out = append(out, data[:at]...)
	if empty {
		out = append(out, '>')
		out = append(out, sb.Bytes()...)
		out = append(out, closing...)
		return append(out, data[at+2:]...), nil
	}
	out = append(out, sb.Bytes()...)
	return append(out, data[at:]...), nil
}
