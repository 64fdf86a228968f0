package node

import (
	"errors"
	"fmt"

	"github.com/beevik/etree"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/proxy"
	"github.com/vucelink/vucelink/xmlsafe"
)

// routeSigner is how a route's documents are signed: one enveloped
// signature by the official, or — for the ALADI certificate of origin —
// the exporter's signature over #COD and then the official's over #CODEH.
func routeSigner(profile string, official, exporter *signer) proxy.Signer {
	if profile != "aladi-cod" {
		if official == nil {
			return nil
		}
		return official
	}
	return codSigner{exporter: exporter, official: official}
}

// codSigner signs a mapped (unsigned) certificate of origin twice.
type codSigner struct{ exporter, official *signer }

// SignElement implements proxy.Signer.
func (s codSigner) SignElement(root *etree.Element) (*etree.Element, error) {
	if s.official == nil {
		return nil, errors.New("no certifying official is configured to sign certificates of origin (signing: role official)")
	}
	if s.exporter == nil {
		return nil, errors.New("the certificate of origin has no exporter signature and no exporter key is configured (signing: role exporter)")
	}
	doc := etree.NewDocument()
	doc.SetRoot(root)
	b, err := doc.WriteToBytes()
	if err != nil {
		return nil, err
	}
	if b, err = s.exporter.current().SignCODExporter(b); err != nil {
		return nil, fmt.Errorf("exporter's signature: %w", err)
	}
	if b, err = s.official.current().SignCODOfficial(b); err != nil {
		return nil, fmt.Errorf("official's signature: %w", err)
	}
	signed, err := xmlsafe.Parse(b, xmlsafe.Limits{})
	if err != nil {
		return nil, err
	}
	return signed.Root(), nil
}

// codVerifier verifies both signatures of a certificate of origin and
// hands on only CODEH, the part the official signed, with the official as
// the signer.
type codVerifier struct{ *certs.CODVerifier }

// Verify implements proxy.DocumentVerifier.
func (v codVerifier) Verify(data []byte) (*certs.Verified, error) {
	got, err := v.CODVerifier.Verify(data)
	if err != nil {
		return nil, err
	}
	return &certs.Verified{Element: got.CODEH, Signer: got.Official.Signer, Chain: got.Official.Chain}, nil
}
