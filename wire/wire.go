// Package wire is the protocol between vucelink nodes: the URL a signed
// document is posted to, the headers that travel with it, and the receipt
// the receiving node answers with.
//
// A sending node POSTs the signed standard XML to
//
//	{partner URL}/vucelink/v1/documents/{document type}
//
// over mutual TLS with HTTP basic credentials. The receiving node answers
// 200 with a Receipt whenever it took a decision about the document itself
// (received correctly, or received with errors and why), and 4xx with a
// Receipt whose outcome is "rejected" when the request never got that far
// (authentication, oversize, a signature that does not verify). 5xx means
// "try again later": the legacy VUCE behind the partner is unavailable.
package wire

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// DocumentsPath is the prefix of the partner-facing document endpoint.
const DocumentsPath = "/vucelink/v1/documents/"

// Headers sent with every document.
const (
	HeaderTrackingID   = "X-Vucelink-Tracking-Id"
	HeaderSender       = "X-Vucelink-Sender"        // ISO alpha-2 of the sending country
	HeaderDocumentType = "X-Vucelink-Document-Type" // e.g. "sps"
	HeaderDocumentID   = "X-Vucelink-Document-Id"
)

// ContentType of documents on the wire.
const ContentType = "application/xml"

// Outcome is the receiving node's verdict on a document.
type Outcome string

const (
	// ReceivedCorrectly: verified, translated and accepted by the legacy VUCE.
	ReceivedCorrectly Outcome = "received-correctly"
	// ReceivedWithErrors: verified, but it could not be translated or the
	// legacy VUCE refused it; Reasons say why. It was not handed over.
	ReceivedWithErrors Outcome = "received-with-errors"
	// Rejected: refused before verification succeeded (credentials, size,
	// malformed or untrusted signature). Nothing was handed over.
	Rejected Outcome = "rejected"
)

// Reason is one specific problem with a document.
type Reason struct {
	Code    string `json:"code"`            // stable, machine-readable (e.g. "signature.untrusted")
	Field   string `json:"field,omitempty"` // element or field path when the problem is in one
	Message string `json:"message"`
}

// Receipt is the receiving node's answer about one document.
type Receipt struct {
	TrackingID   string    `json:"tracking_id"`
	DocumentID   string    `json:"document_id,omitempty"`
	DocumentType string    `json:"document_type"`
	From         string    `json:"from"`
	To           string    `json:"to"`
	Digest       string    `json:"digest,omitempty"` // sha256:<hex> of the body as received
	Outcome      Outcome   `json:"outcome"`
	Reasons      []Reason  `json:"reasons,omitempty"`
	Time         time.Time `json:"time"`

	// Signed is the receipt as the receiving node signed it (XML with an
	// enveloped signature), when it was signed: the proof both sides keep.
	Signed []byte `json:"-"`
	// Signer names who signed it.
	Signer string `json:"signer,omitempty"`
}

// Error summarises the reasons in one line.
func (r *Receipt) Error() string {
	parts := make([]string, len(r.Reasons))
	for i, x := range r.Reasons {
		if x.Field != "" {
			parts[i] = fmt.Sprintf("%s: %s (%s)", x.Code, x.Message, x.Field)
		} else {
			parts[i] = fmt.Sprintf("%s: %s", x.Code, x.Message)
		}
	}
	return fmt.Sprintf("%s: %s", r.Outcome, strings.Join(parts, "; "))
}

// Digest returns "sha256:<hex>" of b.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// NewTrackingID returns a fresh tracking ID: the origin country, the UTC date
// and 80 random bits, e.g. "CL-20261125-3f9a0c1b2d4e5f6a7b8c". It sorts by
// day, says where the document started, and cannot be guessed.
func NewTrackingID(country string, now time.Time) string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return fmt.Sprintf("%s-%s-%s", country, now.UTC().Format("20060102"), hex.EncodeToString(b[:]))
}
