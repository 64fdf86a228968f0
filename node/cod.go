package node

import (
	"context"
	"crypto/x509"
	"fmt"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/proxy"
	"github.com/vucelink/vucelink/xmlsafe"
)

// routeSigner is how a route's documents are signed: one enveloped
// signature by the official, or — for the ALADI certificate of origin —
// the exporter's signature over #COD and then the official's over #CODEH.
func routeSigner(profile string, official, exporter *signer, exporters *certs.CODVerifier) proxy.Signer {
	if profile != "aladi-cod" {
		if official == nil {
			return nil
		}
		return official
	}
	return codSigner{exporter: exporter, official: official, exporters: exporters}
}

// codSigner signs a mapped certificate of origin. The exporter's signature
// is the one the payload carried, verified (rules copy the exporter's
// signed part unchanged), or else applied with the node's exporter key;
// the certifying official then signs CODEH.
type codSigner struct {
	exporter, official *signer
	// exporters verifies an exporter's signature the document carries;
	// nil: such a document is refused (exporters.ca is not configured).
	exporters *certs.CODVerifier
}

// SignElement implements proxy.Signer.
func (s codSigner) SignElement(root *etree.Element) (*etree.Element, error) {
	signed, _, err := s.SignElementDetail(root)
	return signed, err
}

// SignElementDetail implements proxy.DetailedSigner: the detail says
// whether the exporter's signature was kept or applied, and by whom, so
// an operator reading the track can tell a VUCE-made exporter signature
// from the node's.
func (s codSigner) SignElementDetail(root *etree.Element) (*etree.Element, string, error) {
	if s.official == nil {
		return nil, "", fmt.Errorf("no certifying official is configured to sign certificates of origin (signing: role official)")
	}
	doc := etree.NewDocument()
	doc.SetRoot(root)
	b, err := doc.WriteToBytes()
	if err != nil {
		return nil, "", err
	}
	var exporterDetail string
	if carriesExporterSignature(root) {
		if s.exporters == nil {
			return nil, "", fmt.Errorf("%w: the certificate of origin carries the exporter's signature, and no exporters' CA is configured to verify it (exporters.ca)", proxy.ErrUnsignable)
		}
		// Verified in the document as it will travel: a copy that changed
		// what the exporter signed fails here, not at the partner.
		v, err := s.exporters.VerifyExporter(context.Background(), b)
		if err != nil {
			return nil, "", fmt.Errorf("%w: the exporter's signature it carries: %w", proxy.ErrUnsignable, err)
		}
		exporterDetail = "exporter's signature kept from the payload (verified; " + signedBy(v.Signer) + ")"
	} else {
		if s.exporter == nil {
			return nil, "", fmt.Errorf("%w: the certificate of origin carries no exporter's signature and no exporter key is configured to apply one (signing: role exporter)", proxy.ErrUnsignable)
		}
		es := s.exporter.current()
		if b, err = es.SignCODExporter(b); err != nil {
			return nil, "", fmt.Errorf("exporter's signature: %w", err)
		}
		exporterDetail = "exporter's signature applied by the node (" + signedBy(es.Certificate()) + ")"
	}
	off := s.official.current()
	if b, err = off.SignCODOfficial(b); err != nil {
		return nil, "", fmt.Errorf("official's signature: %w", err)
	}
	signed, err := xmlsafe.Parse(b, xmlsafe.Limits{})
	if err != nil {
		return nil, "", err
	}
	return signed.Root(), exporterDetail + "; official's signature applied (" + signedBy(off.Certificate()) + ")", nil
}

// signedBy names a signer for the track: subject common name and serial,
// enough to find the certificate in the officials' or exporters' register.
func signedBy(c *x509.Certificate) string {
	return fmt.Sprintf("%s, serial %s", c.Subject.CommonName, c.SerialNumber.Text(16))
}

// carriesExporterSignature reports whether a ds:Signature sits in
// CODExporter, where the exporter's goes. Whether it is one, over #COD,
// and valid is VerifyExporter's business.
func carriesExporterSignature(root *etree.Element) bool {
	found := false
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		for _, c := range e.ChildElements() {
			if found {
				return
			}
			if c.Tag == "CODExporter" {
				for _, s := range c.ChildElements() {
					if s.Tag == dsig.SignatureTag && s.NamespaceURI() == dsig.Namespace {
						found = true
					}
				}
				continue
			}
			walk(c)
		}
	}
	walk(root)
	return found
}

// codVerifier verifies both signatures of a certificate of origin and
// hands on only CODEH, the part the official signed, with the official as
// the signer.
type codVerifier struct{ *certs.CODVerifier }

// Verify implements proxy.DocumentVerifier.
func (v codVerifier) Verify(ctx context.Context, data []byte) (*certs.Verified, error) {
	got, err := v.CODVerifier.Verify(ctx, data)
	if err != nil {
		return nil, err
	}
	return &certs.Verified{Element: got.CODEH, Signer: got.Official.Signer, Chain: got.Official.Chain}, nil
}
