package registry

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vucelink/vucelink/xmlsafe"
)

// DefaultGrace is how long past its NextUpdate a list is in force before
// it is reported stale.
const DefaultGrace = 7 * 24 * time.Hour

// Options tune a Registry.
type Options struct {
	// Grace is how long past NextUpdate the list may go before it is stale
	// (a warning; it stays in force). Zero means DefaultGrace.
	Grace time.Duration
	// Limits bound a list document.
	Limits xmlsafe.Limits
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Registry holds one partner country's list of officials in force, and
// answers for it. It is safe for concurrent use: Authorize never waits for
// Accept, which swaps the list atomically.
type Registry struct {
	country string
	roots   []*x509.Certificate
	opts    Options

	accept sync.Mutex // serializes Accept
	cur    atomic.Pointer[inForce]
}

type inForce struct {
	list *List
	raw  []byte
}

// New returns an empty Registry (nobody is authorized) for country's lists,
// signed by one of roots: the partner country's root certificates as
// configured.
func New(country string, roots []*x509.Certificate, o Options) (*Registry, error) {
	if err := checkCountry(country); err != nil {
		return nil, err
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("officials of %s: no root certificates", country)
	}
	if o.Grace == 0 {
		o.Grace = DefaultGrace
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Registry{country: country, roots: slices.Clone(roots), opts: o}, nil
}

// Country is the country whose officials the registry holds.
func (r *Registry) Country() string { return r.country }

// Accept verifies data (Verify, against the registry's country and roots,
// no lower than the sequence in force) and puts it in force. The list in
// force is kept on any error. The same list again is accepted and changes
// nothing (changed is false); a different list with the same sequence is
// refused with ErrSequenceReused.
func (r *Registry) Accept(data []byte) (l *List, changed bool, err error) {
	r.accept.Lock()
	defer r.accept.Unlock()
	cur := r.cur.Load()
	var floor uint64
	if cur != nil {
		if bytes.Equal(cur.raw, data) {
			return cur.list, false, nil
		}
		floor = cur.list.Sequence
	}
	l, err = Verify(data, r.roots, VerifyOptions{Country: r.country, MinSequence: floor, Now: r.opts.Now(), Limits: r.opts.Limits})
	if err != nil {
		return nil, false, err
	}
	if cur != nil && l.Sequence == cur.list.Sequence {
		return nil, false, fmt.Errorf("%w: %s list sequence %d", ErrSequenceReused, r.country, l.Sequence)
	}
	r.cur.Store(&inForce{list: l, raw: slices.Clone(data)})
	return l, true, nil
}

// List returns the list in force, nil if none. It must not be modified.
func (r *Registry) List() *List {
	if c := r.cur.Load(); c != nil {
		return c.list
	}
	return nil
}

// Bytes returns the signed document of the list in force, nil if none.
func (r *Registry) Bytes() []byte {
	if c := r.cur.Load(); c != nil {
		return slices.Clone(c.raw)
	}
	return nil
}

// Authorize returns nil if cert may sign a document of type docType at
// time at according to the list in force (List.Authorize), else an error
// that matches certs.ErrNotAuthorized and one of this package's
// authorization errors (ErrNoList if no list is in force). A stale list
// still answers.
func (r *Registry) Authorize(cert *x509.Certificate, docType string, at time.Time) error {
	l := r.List()
	if l == nil {
		who := "signer"
		if cert != nil {
			who = fmt.Sprintf("signer %q", cert.Subject.String())
		}
		return fmt.Errorf("%s: %w of %s", who, ErrNoList, r.country)
	}
	return l.Authorize(cert, docType, at)
}

// Stale reports whether the list in force is past its NextUpdate plus the
// grace period (or there is none).
func (r *Registry) Stale() bool {
	l := r.List()
	return l == nil || l.Expired(r.opts.Now(), r.opts.Grace)
}
