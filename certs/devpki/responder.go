package devpki

import (
	"crypto/rand"
	"crypto/x509"
	"io"
	"math/big"
	"net/http"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Responder is a development CA's CRL distribution point (GET /crl) and
// OCSP responder (POST /ocsp) in one http.Handler, whose revocations can
// change while it runs: tests and drills revoke a certificate and watch
// nodes refuse it. Answers are valid for Validity (default one minute),
// so a checker's cache expires quickly.
type Responder struct {
	CA       *CA
	Validity time.Duration
	// Now is the responder's clock; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	revoked map[string]time.Time // serial → revocation time
	down    bool
	number  int64
}

// NewResponder returns a responder for ca with nothing revoked.
func NewResponder(ca *CA) *Responder {
	return &Responder{CA: ca, revoked: map[string]time.Time{}}
}

// Revoke marks a serial number as revoked since a minute ago.
func (r *Responder) Revoke(serial *big.Int) {
	r.mu.Lock()
	r.revoked[serial.String()] = r.now().Add(-time.Minute)
	r.mu.Unlock()
}

// SetDown makes the responder answer 503 (down) or work again.
func (r *Responder) SetDown(down bool) {
	r.mu.Lock()
	r.down = down
	r.mu.Unlock()
}

func (r *Responder) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// ServeHTTP implements http.Handler.
func (r *Responder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	now := r.now()
	validity := r.Validity
	if validity <= 0 {
		validity = time.Minute
	}
	switch req.URL.Path {
	case "/crl":
		r.number++
		tmpl := &x509.RevocationList{Number: big.NewInt(r.number), ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(validity)}
		for s, at := range r.revoked {
			n, _ := new(big.Int).SetString(s, 10)
			tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: n, RevocationTime: at})
		}
		der, err := x509.CreateRevocationList(rand.Reader, tmpl, r.CA.Cert, r.CA.Key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		w.Write(der)
	case "/ocsp":
		body, _ := io.ReadAll(io.LimitReader(req.Body, 64<<10))
		oreq, err := ocsp.ParseRequest(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		tmpl := ocsp.Response{Status: ocsp.Good, SerialNumber: oreq.SerialNumber, ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(validity)}
		if at, ok := r.revoked[oreq.SerialNumber.String()]; ok {
			tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, at, ocsp.KeyCompromise
		}
		der, err := ocsp.CreateResponse(r.CA.Cert, r.CA.Cert, tmpl, r.CA.Key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/ocsp-response")
		w.Write(der)
	default:
		http.NotFound(w, req)
	}
}
