package certs

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vucelink/vucelink/certs/devpki"
)

// A remembered chain never outlives the revocation verdict it was checked
// with: once the OCSP answer's nextUpdate has passed, a revoked official
// is refused although the chain is cached.
func TestChainCache_ExpiresWithTheRevocationVerdict(t *testing.T) {
	ca, err := devpki.NewCA("CL")
	if err != nil {
		t.Fatal(err)
	}
	a := newAuthority(t, ca)
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	a.Now = now
	kp, err := ca.IssueOfficial("Ana", "SAG", devpki.Options{OCSP: a.srv.URL + "/ocsp"})
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := NewSigner(kp.Key, kp.Cert)
	signed, err := signer.Sign([]byte(`<r xmlns="urn:x"><a>1</a></r>`))
	if err != nil {
		t.Fatal(err)
	}
	v := &Verifier{Roots: pool(ca.Cert), Revocation: &Revocation{Now: now}, Now: now}
	ctx := context.Background()
	if _, err := v.Verify(ctx, signed); err != nil {
		t.Fatal(err)
	}
	if _, ok := chainsCache.get(v.chainKey([]*x509.Certificate{kp.Cert}), now()); !ok {
		t.Fatal("the verified chain is not remembered")
	}
	a.Revoke(kp.Cert.SerialNumber)
	if _, err := v.Verify(ctx, signed); err != nil {
		t.Fatalf("within the OCSP answer's validity (as Revocation's own cache): %v", err)
	}
	mu.Lock()
	clock = clock.Add(2 * time.Minute) // past the answer's nextUpdate, well within chainCacheMaxAge
	mu.Unlock()
	if _, err := v.Verify(ctx, signed); !errors.Is(err, ErrRevoked) {
		t.Fatalf("after the verdict expired: err = %v, want ErrRevoked", err)
	}
}

// Authorize runs on every document, remembered chain or not.
func TestChainCache_AuthorizesEveryTime(t *testing.T) {
	f := newFixture(t)
	allowed := true
	v := &Verifier{Roots: pool(f.ca.Cert), Authorize: func(*x509.Certificate) error {
		if !allowed {
			return errors.New("struck off the officials list")
		}
		return nil
	}}
	signed, err := f.signer.Sign(f.doc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), signed); err != nil {
		t.Fatal(err)
	}
	allowed = false
	if _, err := v.Verify(context.Background(), signed); !errors.Is(err, ErrNotAuthorized) {
		t.Fatalf("err = %v, want ErrNotAuthorized", err)
	}
}

// A soft-fail acceptance is not remembered: each document asks again and
// is warned about again.
func TestChainCache_SoftFailIsNotRemembered(t *testing.T) {
	ca, err := devpki.NewCA("CL")
	if err != nil {
		t.Fatal(err)
	}
	kp, err := ca.IssueOfficial("Ana", "SAG", devpki.Options{OCSP: "http://127.0.0.1:1/ocsp"})
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := NewSigner(kp.Key, kp.Cert)
	signed, err := signer.Sign([]byte(`<r xmlns="urn:x"><a>1</a></r>`))
	if err != nil {
		t.Fatal(err)
	}
	var warnings []string
	v := &Verifier{Roots: pool(ca.Cert), Revocation: &Revocation{}, RevocationPolicy: SoftFail,
		Warn: func(w string) { warnings = append(warnings, w) }}
	for range 2 {
		if _, err := v.Verify(context.Background(), signed); err != nil {
			t.Fatal(err)
		}
	}
	if len(warnings) != 2 || !strings.Contains(warnings[1], "soft-fail") {
		t.Fatalf("warnings %q, want one per document", warnings)
	}
}

// Another Verifier's trust (other roots) never finds this one's chains.
func TestChainCache_KeyedByTrust(t *testing.T) {
	f := newFixture(t)
	signed, err := f.signer.Sign(f.doc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.verifier.Verify(context.Background(), signed); err != nil {
		t.Fatal(err)
	}
	other, err := devpki.NewCA("PE")
	if err != nil {
		t.Fatal(err)
	}
	v := &Verifier{Roots: pool(other.Cert)}
	if _, err := v.Verify(context.Background(), signed); !errors.Is(err, ErrUntrustedSigner) {
		t.Fatalf("err = %v, want ErrUntrustedSigner", err)
	}
}

// The cache's own rules: an entry ends at the chain's earliest NotAfter,
// starts at its latest NotBefore, lasts chainCacheMaxAge at most, and the
// cache never holds more than chainCacheSize entries.
func TestChainCache_Bounds(t *testing.T) {
	c := &chainCache{m: map[chainKey]*chainEntry{}}
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	leaf := &x509.Certificate{NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(time.Hour)}
	ca := &x509.Certificate{NotBefore: t0.Add(-time.Minute), NotAfter: t0.Add(5 * time.Minute)}
	k := chainKey{certs: sha256.Sum256([]byte("a"))}
	c.put(k, []*x509.Certificate{leaf, ca}, t0, farFuture)
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{
		{t0, true},
		{t0.Add(5*time.Minute - time.Second), true},
		{t0.Add(5 * time.Minute), false},      // the CA's NotAfter
		{t0.Add(-2 * time.Minute), false},     // before the CA's NotBefore
		{t0.Add(-30 * time.Second), true},     // inside every window
		{t0.Add(chainCacheMaxAge + 1), false}, // too old anyway
	} {
		if _, ok := c.get(k, tc.at); ok != tc.want {
			t.Errorf("at %s: hit %v, want %v", tc.at.Sub(t0), ok, tc.want)
		}
	}
	c.put(k, []*x509.Certificate{leaf}, t0, t0.Add(time.Minute))
	if _, ok := c.get(k, t0.Add(time.Minute)); ok {
		t.Error("outlived the revocation verdict")
	}
	c.put(k, []*x509.Certificate{leaf}, t0, time.Time{})
	if _, ok := c.get(k, t0); ok {
		t.Error("an entry without a revocation verdict's expiry was kept")
	}
	long := &x509.Certificate{NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(24 * time.Hour)}
	for i := range chainCacheSize + 100 {
		c.put(chainKey{certs: sha256.Sum256(fmt.Append(nil, i))}, []*x509.Certificate{long}, t0, farFuture)
	}
	if n := len(c.m); n > chainCacheSize {
		t.Fatalf("%d entries, bound %d", n, chainCacheSize)
	}
}
