// Package paper makes a document's paper copy checkable: the printable
// page carries a QR code holding the URL of a public verification page on
// the issuing node and, after the URL's "#", a compact summary of the
// document signed with the node's signing key, so the paper can be
// checked offline too (vucelink verify-paper).
//
// Why COSE (RFC 9052, COSE_Sign1) rather than JWS: a QR code holds at
// most about 2,900 bytes, and the summary must carry the signer's
// certificate so a destination that trusts only the issuing country's CA
// can check it offline. COSE is binary (CBOR) end to end: the summary,
// signature and certificate cost their own size, where a compact JWS
// base64-encodes the header (with the certificate inside it) and then
// base64-encodes the whole token again for nothing; here one base64url
// pass makes it fit a URL fragment. It is what the EU Digital COVID
// Certificate and ISO mobile driving licences put on paper and screens
// for the same reason. The library is github.com/veraison/go-cose, the
// Veraison project's implementation (used by Notary Project's notation).
//
// The summary says nothing the paper does not already show: document
// number, type, issuing and destination country, tracking ID, signing
// official, issue date and the digest of the signed document.
package paper

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"
)

// Summary is what a paper copy states about its document. CBOR keys are
// small integers to keep the QR code small.
type Summary struct {
	Version     int    `cbor:"1,keyasint"`
	Issuer      string `cbor:"2,keyasint"` // issuing country (this node)
	Destination string `cbor:"3,keyasint"` // importing country
	Type        string `cbor:"4,keyasint"` // document type: sps, cod, …
	DocumentID  string `cbor:"5,keyasint"` // the certificate's number
	TrackingID  string `cbor:"6,keyasint"`
	Official    string `cbor:"7,keyasint"` // who signed the document (subject)
	Issued      int64  `cbor:"8,keyasint"` // when the node signed and accepted it, Unix seconds
	Digest      []byte `cbor:"9,keyasint"` // SHA-256 of the signed document as stored and sent
}

// version of the summary's layout.
const version = 1

// DigestHex is the summary's digest as the paper prints it (sha256:<hex>).
func (s Summary) DigestHex() string { return "sha256:" + hex.EncodeToString(s.Digest) }

// IssuedAt is the issue time.
func (s Summary) IssuedAt() time.Time { return time.Unix(s.Issued, 0).UTC() }

// Key is the part of the public page's path that proves the caller holds
// the paper: the first 128 bits of the digest. A tracking ID alone (which
// travels in e-mails and logs) does not open the page, and nobody can
// walk the node's documents by guessing.
func Key(digest string) string {
	h := strings.TrimPrefix(digest, "sha256:")
	if len(h) < 32 {
		return h
	}
	return h[:32]
}

// DigestBytes parses sha256:<hex>.
func DigestBytes(digest string) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimPrefix(digest, "sha256:"))
	if err != nil || len(b) != sha256.Size || !strings.HasPrefix(digest, "sha256:") {
		return nil, fmt.Errorf("digest %q: want sha256:<64 hex digits>", digest)
	}
	return b, nil
}

// Signer is a key and its certificate chain, leaf first.
type Signer struct {
	Key   crypto.Signer
	Chain []*x509.Certificate
}

func algorithm(pub crypto.PublicKey) (cose.Algorithm, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return cose.AlgorithmPS256, nil
	case *ecdsa.PublicKey:
		switch k.Curve.Params().BitSize {
		case 256:
			return cose.AlgorithmES256, nil
		case 384:
			return cose.AlgorithmES384, nil
		}
	}
	return 0, fmt.Errorf("key %T: want RSA or ECDSA P-256/P-384", pub)
}

// SignCOSE signs payload as a COSE_Sign1 message whose protected header
// carries the algorithm, a content type and the signer's certificate
// chain (x5chain, RFC 9360: protected, so it cannot be swapped).
func SignCOSE(s Signer, contentType string, payload []byte) ([]byte, error) {
	return signCOSE(s, contentType, payload, fullChain)
}

// certForm is how a signed message names its signer's certificate.
type certForm int

const (
	fullChain  certForm = iota // x5chain: the leaf and every intermediate
	leafOnly                   // x5chain: the leaf alone
	thumbprint                 // x5t: the leaf's SHA-256 only (RFC 9360)
)

func (f certForm) String() string {
	return [...]string{"the certificate chain", "the signer's certificate", "the certificate's SHA-256 thumbprint"}[f]
}

func signCOSE(s Signer, contentType string, payload []byte, form certForm) ([]byte, error) {
	if s.Key == nil || len(s.Chain) == 0 {
		return nil, errors.New("no signing key or certificate")
	}
	alg, err := algorithm(s.Key.Public())
	if err != nil {
		return nil, err
	}
	signer, err := cose.NewSigner(alg, s.Key)
	if err != nil {
		return nil, err
	}
	hdr := cose.Headers{Protected: cose.ProtectedHeader{
		cose.HeaderLabelAlgorithm:   alg,
		cose.HeaderLabelContentType: contentType,
	}}
	switch {
	case form == thumbprint:
		sum := sha256.Sum256(s.Chain[0].Raw)
		hdr.Protected[cose.HeaderLabelX5T] = []any{int64(hashSHA256), sum[:]}
	case form == leafOnly || len(s.Chain) == 1:
		hdr.Protected[cose.HeaderLabelX5Chain] = s.Chain[0].Raw
	default:
		ders := make([][]byte, len(s.Chain))
		for i, c := range s.Chain {
			ders[i] = c.Raw
		}
		hdr.Protected[cose.HeaderLabelX5Chain] = ders
	}
	return cose.Sign1(rand.Reader, signer, hdr, payload, nil)
}

// hashSHA256 is SHA-256's COSE algorithm identifier (RFC 9054), the
// first half of an x5t header.
const hashSHA256 = -16

// VerifyOptions say what a signature is checked against.
type VerifyOptions struct {
	Roots *x509.CertPool // trusted CAs of the signer's country
	// Certificates are certificates the message may not carry: the
	// signer's, when the message names it by thumbprint only (x5t), and
	// intermediate CAs. Those the message carries are used first.
	Certificates []*x509.Certificate
	Now          time.Time
}

// Verified is a checked COSE_Sign1 message.
type Verified struct {
	Payload []byte
	Signer  *x509.Certificate
	Chain   []*x509.Certificate // from the signer to one of the roots
}

// VerifyCOSE checks msg's signature with the certificate it carries and
// that certificate's chain to roots at now, and that its content type is
// contentType.
func VerifyCOSE(msg []byte, contentType string, roots *x509.CertPool, now time.Time) (*Verified, error) {
	return VerifyCOSEWith(msg, contentType, VerifyOptions{Roots: roots, Now: now})
}

// VerifyCOSEWith is VerifyCOSE with certificates the message may name
// without carrying (o.Certificates).
func VerifyCOSEWith(msg []byte, contentType string, o VerifyOptions) (*Verified, error) {
	var m cose.Sign1Message
	if err := m.UnmarshalCBOR(msg); err != nil {
		return nil, fmt.Errorf("not a COSE_Sign1 message: %w", err)
	}
	if ct, _ := m.Headers.Protected[cose.HeaderLabelContentType].(string); ct != contentType {
		return nil, fmt.Errorf("content type %q, want %q", ct, contentType)
	}
	certs, err := signerCertificates(m.Headers.Protected, o.Certificates)
	if err != nil {
		return nil, err
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	for _, c := range o.Certificates {
		inter.AddCert(c)
	}
	chains, err := certs[0].Verify(x509.VerifyOptions{Roots: o.Roots, Intermediates: inter, CurrentTime: o.Now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return nil, fmt.Errorf("signer %q: %w", certs[0].Subject, err)
	}
	alg, err := m.Headers.Protected.Algorithm()
	if err != nil {
		return nil, err
	}
	if want, err := algorithm(certs[0].PublicKey); err != nil || want != alg {
		return nil, fmt.Errorf("algorithm %v does not fit the signer's key", alg)
	}
	verifier, err := cose.NewVerifier(alg, certs[0].PublicKey)
	if err != nil {
		return nil, err
	}
	if err := m.Verify(nil, verifier); err != nil {
		return nil, fmt.Errorf("signature of %q: %w", certs[0].Subject, err)
	}
	return &Verified{Payload: m.Payload, Signer: certs[0], Chain: chains[0]}, nil
}

// ErrSignerNotGiven: the message names its signer's certificate by
// thumbprint and none of the certificates given has it.
var ErrSignerNotGiven = errors.New("the signer's certificate is named by its thumbprint only")

// signerCertificates are the certificates a protected header names,
// signer first: those it carries (x5chain), or the one of known whose
// SHA-256 its x5t holds.
func signerCertificates(h cose.ProtectedHeader, known []*x509.Certificate) ([]*x509.Certificate, error) {
	if t, ok := h[cose.HeaderLabelX5T]; ok {
		if _, both := h[cose.HeaderLabelX5Chain]; both {
			return nil, errors.New("both x5chain and x5t: one names the signer")
		}
		pair, _ := t.([]any)
		if len(pair) != 2 {
			return nil, errors.New("x5t is not [hash algorithm, hash]")
		}
		alg, _ := pair[0].(int64)
		sum, _ := pair[1].([]byte)
		if alg != hashSHA256 || len(sum) != sha256.Size {
			return nil, fmt.Errorf("x5t: hash algorithm %v (%d bytes), want SHA-256 (%d)", pair[0], len(sum), hashSHA256)
		}
		for _, c := range known {
			if got := sha256.Sum256(c.Raw); subtle.ConstantTimeCompare(got[:], sum) == 1 {
				return []*x509.Certificate{c}, nil
			}
		}
		return nil, fmt.Errorf("%w (sha256:%x) and none of the %d certificates given has it: give the issuing official's certificate", ErrSignerNotGiven, sum, len(known))
	}
	var ders [][]byte
	switch v := h[cose.HeaderLabelX5Chain].(type) {
	case []byte:
		ders = [][]byte{v}
	case []any:
		for _, e := range v {
			b, ok := e.([]byte)
			if !ok {
				return nil, errors.New("x5chain holds something other than certificates")
			}
			ders = append(ders, b)
		}
	default:
		return nil, errors.New("no signer certificate (protected x5chain or x5t)")
	}
	if len(ders) == 0 {
		return nil, errors.New("x5chain is empty")
	}
	certs := make([]*x509.Certificate, len(ders))
	for i, d := range ders {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			return nil, fmt.Errorf("certificate %d of x5chain: %w", i+1, err)
		}
		certs[i] = c
	}
	return certs, nil
}

// contentType of a paper summary.
const contentType = "application/vnd.vucelink.paper+cbor"

// Sign signs a summary, carrying the signer's certificate chain.
func Sign(s Signer, sum *Summary) ([]byte, error) {
	return sign(s, sum, fullChain)
}

func sign(s Signer, sum *Summary, form certForm) ([]byte, error) {
	sum.Version = version
	payload, err := cbor.Marshal(sum)
	if err != nil {
		return nil, err
	}
	return signCOSE(s, contentType, payload, form)
}

// Code is what a QR code on paper holds: the public page's URL, a "#",
// and the signed summary in base64url. A phone opens the page (browsers
// never send the part after "#" to the server); verify-paper checks the
// summary without a network.
func Code(pageURL string, signed []byte) string {
	return pageURL + "#" + base64.RawURLEncoding.EncodeToString(signed)
}

// PageURL is the public page of a document on a node whose public base
// URL is base.
func PageURL(base, trackingID, digest string) string {
	return strings.TrimSuffix(base, "/") + "/p/" + url.PathEscape(trackingID) + "/" + Key(digest)
}

// Checked is a verified paper code.
type Checked struct {
	Summary *Summary
	URL     string // the public page the code names
	*Verified
}

// ErrURLMismatch: the code's URL names another document than its signed
// summary (someone pasted a signed summary behind another page).
var ErrURLMismatch = errors.New("the page URL does not name the signed document")

// Verify checks a paper code (the QR code's text): the summary's
// signature and its signer's chain to roots, and that the URL names the
// same document.
func Verify(code string, roots *x509.CertPool, now time.Time) (*Checked, error) {
	return VerifyWith(code, VerifyOptions{Roots: roots, Now: now})
}

// VerifyWith is Verify with certificates the code may name without
// carrying them (see Printer.Print): the signing official's and
// intermediate CAs.
func VerifyWith(code string, o VerifyOptions) (*Checked, error) {
	code = strings.TrimSpace(code)
	page, enc, ok := strings.Cut(code, "#")
	if !ok {
		return nil, errors.New("no signed summary in the code (nothing after #): it holds only a URL")
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("signed summary is not base64url: %w", err)
	}
	v, err := VerifyCOSEWith(raw, contentType, o)
	if err != nil {
		return nil, err
	}
	var sum Summary
	if err := cbor.Unmarshal(v.Payload, &sum); err != nil {
		return nil, fmt.Errorf("signed summary: %w", err)
	}
	if sum.Version != version {
		return nil, fmt.Errorf("summary version %d, this vucelink reads %d", sum.Version, version)
	}
	c := &Checked{Summary: &sum, URL: page, Verified: v}
	if page != "" {
		u, err := url.Parse(page)
		if err != nil {
			return c, fmt.Errorf("%w: %v", ErrURLMismatch, err)
		}
		parts := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
		if len(parts) < 3 || parts[len(parts)-3] != "p" {
			return c, fmt.Errorf("%w: %s", ErrURLMismatch, page)
		}
		tid, _ := url.PathUnescape(parts[len(parts)-2])
		if tid != sum.TrackingID || parts[len(parts)-1] != Key(sum.DigestHex()) {
			return c, fmt.Errorf("%w: %s names %s, the summary %s", ErrURLMismatch, page, tid, sum.TrackingID)
		}
	}
	return c, nil
}
