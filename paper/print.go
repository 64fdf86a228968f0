package paper

import (
	"fmt"

	"github.com/vucelink/vucelink/store"
)

// Printer makes the verification code printed on a document's paper copy.
type Printer struct {
	Country string
	// BaseURL is the public listener's address as the world reaches it
	// (https://verificar.vuce.example), which the QR code names.
	BaseURL string
	// Signer returns the key that signs summaries of a document type: the
	// node's signing official for it, whose chain the destination already
	// trusts for the electronic document.
	Signer func(docType string) (Signer, error)
}

// Print returns the QR code's text and the code as SVG.
//
// The code carries the signer's certificate chain when it fits, so that
// anyone trusting the issuing country's CA can check it offline. A QR
// code holds at most 2,953 bytes (2,331 at level M), and a national
// PKI's certificates are often larger than a test PKI's (long policies,
// 3,072- or 4,096-bit keys, intermediates): then the leaf alone, and if
// even that does not fit, the leaf's SHA-256 thumbprint (COSE x5t),
// which the checker matches against the official's certificate it is
// given (verify-paper --certs, the partner's officials list).
func (p *Printer) Print(d *store.Document) (code, svg string, err error) {
	sum, err := SummaryOf(p.Country, d)
	if err != nil {
		return "", "", err
	}
	s, err := p.Signer(d.Type)
	if err != nil {
		return "", "", fmt.Errorf("no key signs %s summaries: %w", d.Type, err)
	}
	page := PageURL(p.BaseURL, d.TrackingID, d.Digest)
	var tooLong error
	for _, form := range []certForm{fullChain, leafOnly, thumbprint} {
		if form == leafOnly && len(s.Chain) < 2 {
			continue
		}
		signed, err := sign(s, sum, form)
		if err != nil {
			return "", "", fmt.Errorf("signing the summary of %s: %w", d.TrackingID, err)
		}
		code = Code(page, signed)
		if len(code) > maxQRBytes {
			tooLong = fmt.Errorf("with %s the code is %d bytes, more than a QR code holds (%d)", form, len(code), maxQRBytes)
			continue
		}
		q, err := QR(code)
		if err != nil {
			return "", "", err
		}
		return code, SVG(q, "QR: "+d.DocumentID), nil
	}
	return "", "", fmt.Errorf("paper code of %s: %w", d.TrackingID, tooLong)
}

// maxQRBytes is what a QR code holds in byte mode: version 40, level L.
const maxQRBytes = 2953
