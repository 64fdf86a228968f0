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
func (p *Printer) Print(d *store.Document) (code, svg string, err error) {
	sum, err := SummaryOf(p.Country, d)
	if err != nil {
		return "", "", err
	}
	s, err := p.Signer(d.Type)
	if err != nil {
		return "", "", fmt.Errorf("no key signs %s summaries: %w", d.Type, err)
	}
	signed, err := Sign(s, sum)
	if err != nil {
		return "", "", fmt.Errorf("signing the summary of %s: %w", d.TrackingID, err)
	}
	code = Code(PageURL(p.BaseURL, d.TrackingID, d.Digest), signed)
	q, err := QR(code)
	if err != nil {
		return "", "", err
	}
	return code, SVG(q, "QR: "+d.DocumentID), nil
}
