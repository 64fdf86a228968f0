package certs

import (
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"slices"
	"sync"
)

// Officials is one country's repository of authorized officials: which
// certificate may sign which document types. It is safe for concurrent use.
type Officials struct {
	mu sync.RWMutex
	m  map[[32]byte][]string
}

// NewOfficials returns an empty repository: nobody may sign anything.
func NewOfficials() *Officials { return &Officials{m: map[[32]byte][]string{}} }

// Add authorizes cert for the given document types.
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
// else an error wrapping ErrNotAuthorized. Certificates are matched on the
// hash of their DER encoding: a re-issued certificate with the same name is
// a different official until it is added.
func (o *Officials) Authorize(cert *x509.Certificate, document string) error {
	o.mu.RLock()
	docs, known := o.m[sha256.Sum256(cert.Raw)]
	o.mu.RUnlock()
	switch {
	case !known:
		return fmt.Errorf("%w: signer %q is not in the repository of authorized officials", ErrNotAuthorized, cert.Subject.String())
	case !slices.Contains(docs, document):
		return fmt.Errorf("%w: signer %q may sign %v, not %q", ErrNotAuthorized, cert.Subject.String(), docs, document)
	}
	return nil
}
