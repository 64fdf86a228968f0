package certs

import (
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Officials is the repository of authorized officials of one country: which
// certificate may sign which document type. It is safe for concurrent use.
type Officials struct {
	mu sync.RWMutex
	m  map[[sha256.Size]byte][]string
}

// NewOfficials returns an empty repository: nobody may sign anything.
func NewOfficials() *Officials { return &Officials{m: map[[sha256.Size]byte][]string{}} }

// Add authorizes cert to sign the given document types (for example "sps").
func (o *Officials) Add(cert *x509.Certificate, documents ...string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	k := sha256.Sum256(cert.Raw)
	for _, d := range documents {
		if !slices.Contains(o.m[k], d) {
			o.m[k] = append(o.m[k], d)
		}
	}
}

// Authorize returns nil if cert is an authorized official for document,
// else an error wrapping ErrNotAuthorized that names the subject and the
// document type. Certificates are matched on the SHA-256 of their DER
// encoding, not on their names: a re-issued certificate, or another CA's
// certificate with the same subject, is a different official until added.
func (o *Officials) Authorize(cert *x509.Certificate, document string) error {
	o.mu.RLock()
	docs, known := o.m[sha256.Sum256(cert.Raw)]
	docs = slices.Clone(docs)
	o.mu.RUnlock()
	switch {
	case !known:
		return fmt.Errorf("signer %q: %w for %q: the certificate is not in the repository of officials", cert.Subject.String(), ErrNotAuthorized, document)
	case !slices.Contains(docs, document):
		return fmt.Errorf("signer %q: %w for %q, only for %s", cert.Subject.String(), ErrNotAuthorized, document, strings.Join(quoteAll(docs), ", "))
	}
	return nil
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}
