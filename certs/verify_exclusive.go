package certs

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// The verification of what vucelink signs, without goxmldsig: exclusive
// C14N (no prefix list), the enveloped-signature transform followed by
// exclusive C14N, a SHA-256 digest and RSA-SHA256. Every partner running
// vucelink signs so, and so do xmlsec1 and Java when told to. goxmldsig
// digested a copy of the tree (with the signature moved to the front, see
// forGoxmldsig), and then parsed its canonical bytes again to return a
// tree; here the digest is taken over the tree as parsed, skipping the
// signature, and the tree is what the caller gets.
//
// By the time verifyExclusive runs, VerifyElement has checked everything
// but the cryptography: the signature's shape (checkSignatureElement), the
// algorithm policy and the reference (checkAlgorithms), and the signer
// (CheckSigner). Any other profile the policy allows goes to goxmldsig.

// exclusiveProfile reports whether sig is signed with exactly the
// algorithms verifyExclusive handles.
func exclusiveProfile(sig *etree.Element) bool {
	si := child(sig, dsig.SignedInfoTag)
	ref := child(si, dsig.ReferenceTag)
	if !algorithmIs(child(si, dsig.CanonicalizationMethodTag), excC14NAlgorithm) ||
		!algorithmIs(child(si, dsig.SignatureMethodTag), dsig.RSASHA256SignatureMethod) ||
		!algorithmIs(child(ref, dsig.DigestMethodTag), sha256Digest) {
		return false
	}
	// Without a canonicalization transform, the reference's node-set would
	// be serialized with inclusive C14N 1.0 (XMLDSIG 4.3.3.2): not this.
	ts := children(child(ref, dsig.TransformsTag), dsig.TransformTag)
	return len(ts) == 2 &&
		algorithmIs(ts[0], string(dsig.EnvelopedSignatureAltorithmId)) &&
		algorithmIs(ts[1], excC14NAlgorithm)
}

// algorithmIs reports whether e's Algorithm is alg and e has no children
// (an InclusiveNamespaces prefix list, which this path does not apply).
func algorithmIs(e *etree.Element, alg string) bool {
	if e == nil || len(e.ChildElements()) > 0 {
		return false
	}
	a, err := onlyAttr(e, dsig.AlgorithmAttr)
	return err == nil && a == alg
}

// verifyExclusive checks sig's reference digest over root (the whole
// document when the reference is URI="") and its signature value over
// SignedInfo with leaf's key. It does not change the tree.
func verifyExclusive(root, sig *etree.Element, leaf *x509.Certificate) error {
	pub, ok := leaf.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("%w: an RSA-SHA256 signature, but the certificate's key is %T", ErrBadSignature, leaf.PublicKey)
	}
	si := child(sig, dsig.SignedInfoTag)
	ref := child(si, dsig.ReferenceTag)
	uri, _ := onlyAttr(ref, dsig.URIAttr)
	want, err := base64Value(child(ref, dsig.DigestValueTag))
	if err != nil {
		return fmt.Errorf("%w: DigestValue: %v", ErrMalformed, err)
	}
	h := sha256.New()
	doc := root.Parent()
	whole := uri == "" && doc != nil && doc.Tag == "" && doc.Parent() == nil
	if err := canonicalDigest(h, root, sig, whole); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if !bytes.Equal(h.Sum(nil), want) {
		return fmt.Errorf("%w: the document's digest does not match its DigestValue", ErrBadSignature)
	}
	value, err := base64Value(child(sig, dsig.SignatureValueTag))
	if err != nil {
		return fmt.Errorf("%w: SignatureValue: %v", ErrMalformed, err)
	}
	h.Reset()
	if err := canonicalDigest(h, si, nil, false); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h.Sum(nil), value); err != nil {
		return fmt.Errorf("%w: SignatureValue does not match SignedInfo: %v", ErrBadSignature, err)
	}
	return nil
}

// base64Value decodes e's text, ignoring the whitespace signers put in
// long values.
func base64Value(e *etree.Element) ([]byte, error) {
	if e == nil {
		return nil, fmt.Errorf("missing")
	}
	if len(e.ChildElements()) > 0 {
		return nil, fmt.Errorf("has child elements")
	}
	return base64.StdEncoding.DecodeString(strings.Join(strings.Fields(allText(e)), ""))
}
