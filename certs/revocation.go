package certs

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"
)

// ErrRevoked means a certificate was revoked by its issuer.
var ErrRevoked = errors.New("certificate revoked")

// ErrRevocationUnknown means no revocation verdict could be had (responder
// or distribution point unreachable, stale or badly signed answer).
var ErrRevocationUnknown = errors.New("revocation status unknown")

// Revocation checks certificates against their issuers' CRLs and OCSP
// responders, caching each answer until its nextUpdate.
//
// The policy per use decides what "unknown" means: hard-fail refuses the
// certificate, soft-fail accepts it and reports a warning (Warn).
type Revocation struct {
	// Client fetches CRLs and asks responders; nil means a 10 s client.
	Client *http.Client
	// CRLs are extra distribution points to consult for every issuer, in
	// addition to those named in certificates.
	CRLs []string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time

	mu   sync.Mutex
	crls map[string]*x509.RevocationList // by URL
	ocsp map[string]*ocsp.Response       // by issuer key hash + serial
}

// Policy is what to do when no verdict can be had.
type Policy int

const (
	HardFail Policy = iota // no verdict: reject
	SoftFail               // no verdict: accept, with a warning
)

// Check asks whether leaf (issued by issuer) is revoked. It returns nil
// (good), an error wrapping ErrRevoked, or — when no source gave a verdict
// — one wrapping ErrRevocationUnknown under HardFail, or nil and a warning
// under SoftFail. Certificates that name no CRL or OCSP responder (and no
// CRL is configured) have nothing to check: nil.
func (r *Revocation) Check(ctx context.Context, leaf, issuer *x509.Certificate, p Policy) (warning string, err error) {
	warning, _, err = r.check(ctx, leaf, issuer, p)
	return warning, err
}

// check is Check, also returning until when a good verdict holds: the
// nextUpdate of the answer that gave it (the zero time when it names
// none, or when there is no good verdict), or the far future when there
// is nothing to check.
func (r *Revocation) check(ctx context.Context, leaf, issuer *x509.Certificate, p Policy) (warning string, until time.Time, err error) {
	who := fmt.Sprintf("certificate %q (serial %s)", leaf.Subject.String(), leaf.SerialNumber)
	var problems []string
	checked := false
	if len(leaf.OCSPServer) > 0 {
		checked = true
		status, err := r.ocspStatus(ctx, leaf, issuer)
		switch {
		case err != nil:
			problems = append(problems, err.Error())
		case status.Status == ocsp.Revoked:
			return "", time.Time{}, fmt.Errorf("%w: %s, at %s (OCSP)", ErrRevoked, who, status.RevokedAt.UTC().Format(time.RFC3339))
		case status.Status == ocsp.Good:
			return "", status.NextUpdate, nil
		default:
			problems = append(problems, "OCSP responder does not know it")
		}
	}
	points := append(append([]string(nil), leaf.CRLDistributionPoints...), r.CRLs...)
	for _, url := range points {
		checked = true
		crl, err := r.crl(ctx, url, issuer)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		for _, e := range crl.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(leaf.SerialNumber) == 0 {
				return "", time.Time{}, fmt.Errorf("%w: %s, at %s (CRL %s)", ErrRevoked, who, e.RevocationTime.UTC().Format(time.RFC3339), url)
			}
		}
		return "", crl.NextUpdate, nil
	}
	if !checked {
		return "", farFuture, nil
	}
	msg := fmt.Sprintf("%s: %v", who, problems)
	if p == SoftFail {
		return "revocation status unknown, accepted by soft-fail policy: " + msg, time.Time{}, nil
	}
	return "", time.Time{}, fmt.Errorf("%w: %s", ErrRevocationUnknown, msg)
}

// farFuture is when a verdict that needs no renewal expires.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

func (r *Revocation) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// defaultRevocationClient fetches CRLs and OCSP answers directly.
var defaultRevocationClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4}}

func (r *Revocation) client() *http.Client {
	if r.Client != nil {
		return r.Client
	}
	// Never through HTTP_PROXY: a proxy between this node and a CA's CRL
	// or OCSP responder would be one more party able to withhold verdicts,
	// and the environment of a sidecar is not its configuration.
	return defaultRevocationClient
}

// crl returns the CRL at url, fetched again once past its nextUpdate. Its
// signature must be the issuer's.
func (r *Revocation) crl(ctx context.Context, url string, issuer *x509.Certificate) (*x509.RevocationList, error) {
	now := r.now()
	r.mu.Lock()
	cached := r.crls[url]
	r.mu.Unlock()
	if cached != nil && now.Before(cached.NextUpdate) {
		return cached, nil
	}
	body, err := r.fetch(ctx, http.MethodGet, url, "", nil)
	if err != nil {
		return nil, fmt.Errorf("CRL %s: %v", url, err)
	}
	crl, err := x509.ParseRevocationList(body)
	if err != nil {
		return nil, fmt.Errorf("CRL %s: %v", url, err)
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		return nil, fmt.Errorf("CRL %s is not signed by %q: %v", url, issuer.Subject.String(), err)
	}
	if !crl.NextUpdate.IsZero() && now.After(crl.NextUpdate) {
		return nil, fmt.Errorf("CRL %s is stale (next update was %s)", url, crl.NextUpdate.UTC().Format(time.RFC3339))
	}
	r.mu.Lock()
	if r.crls == nil {
		r.crls = map[string]*x509.RevocationList{}
	}
	r.crls[url] = crl
	r.mu.Unlock()
	return crl, nil
}

// ocspStatus asks the leaf's OCSP responder, cached until nextUpdate.
func (r *Revocation) ocspStatus(ctx context.Context, leaf, issuer *x509.Certificate) (*ocsp.Response, error) {
	key := string(issuer.RawSubjectPublicKeyInfo) + "/" + leaf.SerialNumber.String()
	now := r.now()
	r.mu.Lock()
	cached := r.ocsp[key]
	r.mu.Unlock()
	if cached != nil && now.Before(cached.NextUpdate) {
		return cached, nil
	}
	req, err := ocsp.CreateRequest(leaf, issuer, nil)
	if err != nil {
		return nil, err
	}
	var lastErr error
	for _, url := range leaf.OCSPServer {
		body, err := r.fetch(ctx, http.MethodPost, url, "application/ocsp-request", req)
		if err != nil {
			lastErr = fmt.Errorf("OCSP %s: %v", url, err)
			continue
		}
		resp, err := ocsp.ParseResponseForCert(body, leaf, issuer)
		if err != nil {
			lastErr = fmt.Errorf("OCSP %s: %v", url, err)
			continue
		}
		if !resp.NextUpdate.IsZero() && now.After(resp.NextUpdate) {
			lastErr = fmt.Errorf("OCSP %s: stale answer", url)
			continue
		}
		if resp.NextUpdate.IsZero() {
			resp.NextUpdate = now.Add(time.Minute) // no nextUpdate: cache briefly
		}
		r.mu.Lock()
		if r.ocsp == nil {
			r.ocsp = map[string]*ocsp.Response{}
		}
		r.ocsp[key] = resp
		r.mu.Unlock()
		return resp, nil
	}
	return nil, lastErr
}

func (r *Revocation) fetch(ctx context.Context, method, url, contentType string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := r.client().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 16<<20))
}
