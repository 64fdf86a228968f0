package certs

import (
	"crypto/sha256"
	"crypto/x509"
	"sync"
	"time"
)

// The chain cache: a partner's documents arrive signed by the same few
// officials, and building and checking each one's chain (x509 path
// building, an RSA verification per link, a copy of the intermediates
// pool, the revocation verdict) was repeated for every document. The
// verdict is remembered per certificate list as presented, for one
// Verifier's trust settings, until the first of:
//
//   - the earliest NotAfter of the chain (and never before the latest
//     NotBefore: the validity window is checked on every use, against
//     Verifier.Now);
//   - the revocation verdict's own expiry, the nextUpdate of the CRL or
//     OCSP answer that gave it (no nextUpdate, or a soft-fail acceptance
//     with its warning, is not remembered at all, so every document asks
//     again and the warning is raised again);
//   - chainCacheMaxAge after it was made, so that a CA's new CRL, published
//     before the old one's nextUpdate, is seen within that time.
//
// Only successes are kept, and Authorize is never skipped: an official
// struck off the officials list is refused from the next document on.
// The cache holds at most chainCacheSize entries; a full cache drops
// expired entries, then an arbitrary one.
//
// The key holds the Verifier's Roots and Intermediates pools and its
// Revocation by identity: a node that changes its trust builds a new
// Verifier with new pools (as config reload does), which misses. A pool
// changed in place (AddCert on a pool in use) is not noticed; nothing in
// vucelink does that.
const (
	chainCacheSize   = 4096
	chainCacheMaxAge = 10 * time.Minute
)

type chainKey struct {
	roots, intermediates *x509.CertPool
	revocation           *Revocation
	policy               Policy
	certs                [sha256.Size]byte // the certificates as presented, in order
}

type chainEntry struct {
	chain     []*x509.Certificate
	notBefore time.Time // the chain's latest NotBefore
	until     time.Time // see above
}

type chainCache struct {
	mu sync.Mutex
	m  map[chainKey]*chainEntry
}

// chains is shared by every Verifier of the process; see chainKey.
var chainsCache = &chainCache{m: map[chainKey]*chainEntry{}}

func (v *Verifier) chainKey(certs []*x509.Certificate) chainKey {
	h := sha256.New()
	for _, c := range certs {
		if c == nil {
			continue
		}
		n := len(c.Raw)
		h.Write([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
		h.Write(c.Raw)
	}
	k := chainKey{roots: v.Roots, intermediates: v.Intermediates, revocation: v.Revocation}
	if v.Revocation != nil {
		k.policy = v.RevocationPolicy
	}
	h.Sum(k.certs[:0])
	return k
}

// get returns the chain remembered for k if it still holds at now.
func (c *chainCache) get(k chainKey, now time.Time) ([]*x509.Certificate, bool) {
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if !ok || now.Before(e.notBefore) || !now.Before(e.until) {
		return nil, false
	}
	return e.chain, true
}

// put remembers chain for k, verified at now, with a revocation verdict
// good until revokedUntil (the zero time: not remembered).
func (c *chainCache) put(k chainKey, chain []*x509.Certificate, now, revokedUntil time.Time) {
	e := &chainEntry{chain: chain, until: now.Add(chainCacheMaxAge)}
	if revokedUntil.Before(e.until) {
		e.until = revokedUntil
	}
	for _, cert := range chain {
		if cert.NotAfter.Before(e.until) {
			e.until = cert.NotAfter
		}
		if cert.NotBefore.After(e.notBefore) {
			e.notBefore = cert.NotBefore
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !now.Before(e.until) {
		// Nothing to remember, and what was remembered is superseded.
		delete(c.m, k)
		return
	}
	if len(c.m) >= chainCacheSize {
		for key, old := range c.m {
			if !now.Before(old.until) {
				delete(c.m, key)
			}
		}
		for key := range c.m {
			if len(c.m) < chainCacheSize {
				break
			}
			delete(c.m, key)
		}
	}
	c.m[k] = e
}
