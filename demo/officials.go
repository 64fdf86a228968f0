package demo

import (
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/certs/devpki"
	"github.com/vucelink/vucelink/registry"
)

// officialsFiles are where a country's repository of officials lives in the
// demo: the editable source and the signed list its node serves.
func (n *Network) officialsFiles(cc string) (source, published string) {
	return filepath.Join(n.Dir, cc, "officials.yaml"), filepath.Join(n.Dir, cc, "officials.xml")
}

// publishOfficials writes a country's first signed list of authorized
// officials: its development official, for phytosanitary certificates,
// signed by the country's development root — what `vucelink officials add`
// and `publish` do by hand.
func (n *Network) publishOfficials(cc string) error {
	source, _ := n.officialsFiles(cc)
	if err := os.MkdirAll(filepath.Dir(source), 0o755); err != nil {
		return err
	}
	src, err := registry.NewSource(source, cc)
	if err != nil {
		return err
	}
	cert := filepath.Join(n.PKI, cc, "official.pem")
	cs, err := certs.LoadCertificates(cert)
	if err != nil {
		return err
	}
	agency := ""
	if len(cs[0].Subject.Organization) > 0 {
		agency = cs[0].Subject.Organization[0]
	}
	if _, err := src.Add(registry.SourceOfficial{Cert: cert, Name: cs[0].Subject.CommonName, Agency: agency, Documents: n.docTypes()}); err != nil {
		return err
	}
	return n.republish(src)
}

// docTypes are every document type the network exchanges.
func (n *Network) docTypes() []string {
	out := []string{"sps"}
	for _, d := range n.extra {
		out = append(out, d.Name)
	}
	return out
}

// RevokeOfficial revokes one of a country's officials (by certificate)
// from now on and publishes the country's next list. Partners see it at
// their next fetch (node.RefreshOfficials fetches at once).
func (n *Network) RevokeOfficial(cc string, cert *x509.Certificate, reason string) error {
	source, _ := n.officialsFiles(cc)
	src, err := registry.LoadSource(source)
	if err != nil {
		return err
	}
	if _, err := src.Revoke("", cert, time.Now(), reason); err != nil {
		return err
	}
	return n.republish(src)
}

// AddOfficial authorizes one more official of a country (for the listed
// document types) and publishes the country's next list.
func (n *Network) AddOfficial(cc, certFile string, documents ...string) error {
	source, _ := n.officialsFiles(cc)
	src, err := registry.LoadSource(source)
	if err != nil {
		return err
	}
	cs, err := certs.LoadCertificates(certFile)
	if err != nil {
		return err
	}
	if _, err := src.Add(registry.SourceOfficial{Cert: certFile, Name: cs[0].Subject.CommonName, Agency: "demo", Documents: documents}); err != nil {
		return err
	}
	return n.republish(src)
}

func (n *Network) republish(src *registry.Source) error {
	ca, err := devpki.LoadCA(n.PKI, src.Country)
	if err != nil {
		return err
	}
	root, err := certs.NewSigner(ca.Key, ca.Cert)
	if err != nil {
		return err
	}
	signed, _, err := registry.Publish(src, root, time.Now())
	if err != nil {
		return fmt.Errorf("officials of %s: %w", src.Country, err)
	}
	_, published := n.officialsFiles(src.Country)
	if err := registry.WriteFileAtomic(published, signed, 0o644); err != nil {
		return err
	}
	return src.Save()
}
