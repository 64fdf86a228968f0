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
// goxmldsig does the canonicalization and cryptography. It trusts by
// pinning (the signature's certificate must equal one it was given) and
// builds no chain, so chain building and validity are done here with
// crypto/x509 first, and goxmldsig is then handed exactly that one leaf.
// It also accepts algorithms this package does not (RSA-SHA1, XPath-free
// but comment-preserving canonicalizations), so the algorithm policy is
// enforced here, on the signature as parsed, before goxmldsig runs.
//
// Errors wrap one of the sentinels below, so callers branch with
// errors.Is, and name the signer's certificate subject wherever it is
// known: a rejection must tell an operator whose signature failed and why.
package certs
