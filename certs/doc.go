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
// only what the signature covers, so nothing unsigned can reach the code
// that uses the document.
//
// What vucelink signs with (exclusive C14N, enveloped, SHA-256,
// RSA-SHA256) is canonicalized and digested here, in one pass over the
// parsed tree straight into the hash (excc14n.go), for signing and for
// verifying (verify_exclusive.go): no copy of the tree, and verification
// hands over the tree it parsed. Every other profile the policy allows
// (inclusive C14N, SHA-1 where a partner's policy allows it, the
// certificates of origin's sibling signatures) goes to goxmldsig.
// goxmldsig trusts by pinning (the signature's certificate must equal one
// it was given) and builds no chain, so chain building and validity are
// done here with crypto/x509 first, and cached per certificate
// (chaincache.go); goxmldsig is then handed exactly that one leaf. It also
// accepts algorithms this package does not (RSA-SHA1, comment-preserving
// canonicalizations), so the algorithm policy is enforced here, on the
// signature as parsed, before either path runs.
//
// Errors wrap one of the sentinels below, so callers branch with
// errors.Is, and name the signer's certificate subject wherever it is
// known: a rejection must tell an operator whose signature failed and why.
package certs
