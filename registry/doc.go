// Package registry is the repository of authorized officials of a country,
// published as a signed list and fetched by its partners.
//
// Each country keeps an editable source (Source, a YAML file: the
// officials' certificate files, names, agencies, document types, periods
// of authorization and revocations). Publish turns it into a List, an XML
// document in the Namespace signed with an enveloped XMLDSIG by the
// country's root CA key, and its node serves the signed bytes to partners
// (Handler, at /officials.xml on the partner-facing listener). Each
// partner's node fetches the list (Fetcher), verifies it (Verify), puts it
// in force (Registry) and asks it, for every document received, whether
// the signer may sign that document type at that time (Authorize).
//
// Decisions:
//
//   - Who signs a list. The signing certificate must BE one of the
//     partner's configured root certificates (byte for byte); a
//     certificate that merely chains to a root is refused. Every official
//     chains to the root, so chain-based trust would let any official
//     rewrite the list that says what officials may do. The root's key
//     usage (keyCertSign only, as usual for a CA) is therefore not checked
//     for digital signatures: pinning, not the chain, makes it trusted.
//     This is also why certs.Verifier is not used for the list: it
//     rightly refuses a signer whose key usage excludes digital
//     signatures. Verify instead enforces a fixed profile (exactly what
//     certs.Signer writes: exclusive C14N, RSA-SHA256, SHA-256, one
//     reference to the whole document, the enveloped transform, the
//     signer's certificate in KeyInfo) and hands goxmldsig the pinned root
//     only; input is parsed with xmlsafe, and only what the signature
//     covers is read.
//   - No rollback. A Registry accepts a list only if its Sequence is
//     higher than that of the list in force, or it is the very same list
//     again; the floor survives restarts through the persisted copy.
//   - Expiry. A list past NextUpdate plus the grace period is stale: a
//     warning (logged, in Status, Registry.Stale), not a loss of trust.
//     Dropping it would turn a partner's publishing outage into a trade
//     outage for every document; what a stale list may miss is a recent
//     revocation, which is what the warning tells an operator to chase.
//   - Authorization periods are half-open: an official may sign from
//     ValidFrom (inclusive) until ValidUntil (exclusive). A revocation
//     takes effect at its time (inclusive): documents signed before it
//     remain authorized, so a revocation may be published ahead of time.
//   - Strict format. Elements come in a fixed order and unknown elements
//     are refused: a later, incompatible format gets a new namespace.
//
// Errors wrap a sentinel: the certs ones for signature problems
// (certs.ErrBadSignature, certs.ErrUntrustedSigner, ...), ErrInvalidList,
// ErrWrongCountry, ErrRollback and ErrSequenceReused for lists, and for
// authorization ErrNoList, ErrNotListed, ErrDocumentType,
// ErrNotYetAuthorized, ErrAuthorizationEnded and ErrRevoked, all of which
// also match certs.ErrNotAuthorized.
package registry
