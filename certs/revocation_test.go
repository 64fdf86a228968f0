package certs

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vucelink/vucelink/certs/devpki"
)

// authority is a development CA's CRL distribution point and OCSP
// responder on loopback.
type authority struct {
	*devpki.Responder
	srv *httptest.Server
}

func newAuthority(t *testing.T, ca *devpki.CA) *authority {
	a := &authority{Responder: devpki.NewResponder(ca)}
	a.srv = httptest.NewServer(a.Responder)
	t.Cleanup(a.srv.Close)
	return a
}

func TestRevocation(t *testing.T) {
	ca, err := devpki.NewCA("CL")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := devpki.NewCA("PE")
	a := newAuthority(t, ca)
	forger := newAuthority(t, other) // answers for the right serials, signed by the wrong CA
	issue := func(opts devpki.Options) *devpki.KeyPair {
		kp, err := ca.IssueOfficial("Ana", "SAG", opts)
		if err != nil {
			t.Fatal(err)
		}
		return kp
	}
	ctx := context.Background()
	var clockMu sync.Mutex
	clock := time.Now()
	now := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return clock }
	advance := func(d time.Duration) { clockMu.Lock(); clock = clock.Add(d); clockMu.Unlock() }
	a.Now = now
	r := &Revocation{Now: now}

	for _, src := range []struct {
		name string
		opts devpki.Options
	}{
		{"CRL", devpki.Options{CRL: a.srv.URL + "/crl"}},
		{"OCSP", devpki.Options{OCSP: a.srv.URL + "/ocsp"}},
	} {
		t.Run(src.name+" revoked mid-test", func(t *testing.T) {
			kp := issue(src.opts)
			if _, err := r.Check(ctx, kp.Cert, ca.Cert, HardFail); err != nil {
				t.Fatalf("good certificate: %v", err)
			}
			a.Revoke(kp.Cert.SerialNumber)
			// The cached answer stands until its nextUpdate...
			if _, err := r.Check(ctx, kp.Cert, ca.Cert, HardFail); err != nil {
				t.Fatalf("within the cached answer's validity: %v", err)
			}
			// ...after which the revocation is seen.
			advance(2 * time.Minute)
			_, err := r.Check(ctx, kp.Cert, ca.Cert, HardFail)
			if !errors.Is(err, ErrRevoked) || !strings.Contains(err.Error(), src.name) {
				t.Fatalf("revoked certificate: %v", err)
			}
		})
	}

	t.Run("unreachable: hard-fail rejects, soft-fail warns", func(t *testing.T) {
		kp := issue(devpki.Options{OCSP: "http://127.0.0.1:1/ocsp", CRL: "http://127.0.0.1:1/crl"})
		fresh := &Revocation{}
		if _, err := fresh.Check(ctx, kp.Cert, ca.Cert, HardFail); !errors.Is(err, ErrRevocationUnknown) {
			t.Errorf("hard-fail: %v", err)
		}
		warning, err := fresh.Check(ctx, kp.Cert, ca.Cert, SoftFail)
		if err != nil || !strings.Contains(warning, "soft-fail") {
			t.Errorf("soft-fail: %q %v", warning, err)
		}
	})

	t.Run("answers signed by another CA are not believed", func(t *testing.T) {
		kp := issue(devpki.Options{CRL: forger.srv.URL + "/crl", OCSP: forger.srv.URL + "/ocsp"})
		if _, err := (&Revocation{}).Check(ctx, kp.Cert, ca.Cert, HardFail); !errors.Is(err, ErrRevocationUnknown) {
			t.Errorf("forged answers: %v", err)
		}
	})

	t.Run("verifier refuses a document signed by a revoked official", func(t *testing.T) {
		kp := issue(devpki.Options{OCSP: a.srv.URL + "/ocsp"})
		s, _ := NewSigner(kp.Key, kp.Cert)
		signed, err := s.Sign([]byte(`<r xmlns="urn:x"><a>1</a></r>`))
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AddCert(ca.Cert)
		a.Now = time.Now
		v := &Verifier{Roots: roots, Revocation: &Revocation{}}
		if _, err := v.Verify(context.Background(), signed); err != nil {
			t.Fatalf("before revocation: %v", err)
		}
		a.Revoke(kp.Cert.SerialNumber)
		v.Revocation = &Revocation{} // a node restarted, or its cache expired
		if _, err := v.Verify(context.Background(), signed); !errors.Is(err, ErrRevoked) {
			t.Fatalf("after revocation: %v", err)
		}
	})
}
