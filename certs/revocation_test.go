package certs

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/vucelink/vucelink/certs/devpki"
)

// authority is a real CRL distribution point and OCSP responder for one
// development CA, on loopback, whose revocations can change mid-test.
type authority struct {
	ca      *devpki.CA
	mu      sync.Mutex
	revoked map[string]time.Time // serial → revocation time
	down    bool
	srv     *httptest.Server
	number  int64
	now     func() time.Time // the test's clock, shared with the checker
}

func newAuthority(t *testing.T, ca *devpki.CA) *authority {
	a := &authority{ca: ca, revoked: map[string]time.Time{}, now: time.Now}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *authority) revoke(serial *big.Int) {
	a.mu.Lock()
	a.revoked[serial.String()] = time.Now().Add(-time.Minute)
	a.mu.Unlock()
}

func (a *authority) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	now := a.now()
	switch r.URL.Path {
	case "/crl":
		a.number++
		tmpl := &x509.RevocationList{Number: big.NewInt(a.number), ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Minute)}
		for s, at := range a.revoked {
			n, _ := new(big.Int).SetString(s, 10)
			tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: n, RevocationTime: at})
		}
		der, err := x509.CreateRevocationList(rand.Reader, tmpl, a.ca.Cert, a.ca.Key)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Write(der)
	case "/ocsp":
		body, _ := io.ReadAll(r.Body)
		req, err := ocsp.ParseRequest(body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		tmpl := ocsp.Response{Status: ocsp.Good, SerialNumber: req.SerialNumber, ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Minute)}
		if at, ok := a.revoked[req.SerialNumber.String()]; ok {
			tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, at, ocsp.KeyCompromise
		}
		der, err := ocsp.CreateResponse(a.ca.Cert, a.ca.Cert, tmpl, a.ca.Key)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Write(der)
	default:
		http.NotFound(w, r)
	}
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
	a.now = now
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
			a.revoke(kp.Cert.SerialNumber)
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
		a.now = time.Now
		v := &Verifier{Roots: roots, Revocation: &Revocation{}}
		if _, err := v.Verify(signed); err != nil {
			t.Fatalf("before revocation: %v", err)
		}
		a.revoke(kp.Cert.SerialNumber)
		v.Revocation = &Revocation{} // a node restarted, or its cache expired
		if _, err := v.Verify(signed); !errors.Is(err, ErrRevoked) {
			t.Fatalf("after revocation: %v", err)
		}
	})
}
