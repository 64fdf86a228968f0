// Package delivery hands a signed document to a partner node over HTTPS
// with mutual TLS and basic credentials, and returns the partner's receipt.
//
// It owns only the short, in-request retry budget (a few attempts with
// jittered exponential backoff, via go-retryablehttp). Anything longer —
// a partner down for hours — is the caller's business: callers depend on the
// Deliverer interface so that a durable outbox can sit in front of it.
package delivery

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/wire"
)

// ReceiptVerifier checks a partner's signed receipt. *certs.Verifier
// implements it.
type ReceiptVerifier interface {
	Verify(ctx context.Context, data []byte) (*certs.Verified, error)
}

// Document is what is delivered.
type Document struct {
	Partner    string // ISO alpha-2 of the destination country
	Type       string // document type, e.g. "sps"
	ID         string // the document's own ID
	TrackingID string
	Body       []byte // signed standard XML, sent byte for byte
}

// Deliverer sends a document and returns the partner's receipt.
type Deliverer interface {
	Deliver(ctx context.Context, doc *Document) (*wire.Receipt, error)
}

// ErrUnavailable means the partner could not give a verdict within the
// retry budget (network failure, timeouts, 5xx). Trying later may succeed.
var ErrUnavailable = errors.New("partner unavailable")

// ErrBadReceipt means the partner answered with a receipt that cannot be
// trusted (unsigned, badly signed, or not about what was sent). The
// document is tried again later.
var ErrBadReceipt = errors.New("untrustworthy receipt")

// ErrUnknownPartner means no partner is configured under that code.
var ErrUnknownPartner = errors.New("unknown partner")

// Partner is one destination.
type Partner struct {
	URL      string         // base URL of the partner node's partner-facing listener
	RootCAs  *x509.CertPool // the partner country's CAs: its server certificate must chain to one
	Username string
	Password string
	// Receipts verifies the partner's signed receipts. When set, a verdict
	// on a document must come signed by one of the partner's officials.
	Receipts ReceiptVerifier
}

// Options configure an HTTPS deliverer.
type Options struct {
	Sender string // this node's country code
	// ClientCertificate returns this node's TLS client certificate; called
	// per handshake, so a rotated certificate is picked up without restart.
	ClientCertificate func(*tls.CertificateRequestInfo) (*tls.Certificate, error)
	Partners          map[string]Partner
	Timeout           time.Duration // per attempt
	Retries           int
	BackoffMin        time.Duration
	BackoffMax        time.Duration
	Logger            *slog.Logger
}

// HTTPS is the Deliverer that talks to partner nodes.
type HTTPS struct {
	sender   string
	partners map[string]*partnerClient
}

type partnerClient struct {
	Partner
	endpoint *url.URL
	client   *retryablehttp.Client
}

// maxReceiptBytes bounds what we read back from a partner.
const maxReceiptBytes = 1 << 20

// NewHTTPS builds one HTTP client per partner, each trusting only that
// partner's CAs for the server certificate.
func NewHTTPS(o Options) (*HTTPS, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	h := &HTTPS{sender: o.Sender, partners: map[string]*partnerClient{}}
	for cc, p := range o.Partners {
		u, err := url.Parse(p.URL)
		if err != nil || u.Scheme != "https" {
			return nil, fmt.Errorf("partner %s: url %q is not https", cc, p.URL)
		}
		tr := &http.Transport{
			Proxy: nil, // never route partner traffic through an ambient HTTP_PROXY
			TLSClientConfig: &tls.Config{
				MinVersion:           tls.VersionTLS12,
				RootCAs:              p.RootCAs,
				GetClientCertificate: o.ClientCertificate,
			},
			MaxIdleConnsPerHost:   16,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   o.Timeout,
			ResponseHeaderTimeout: o.Timeout,
			ForceAttemptHTTP2:     true,
		}
		rc := retryablehttp.NewClient()
		rc.HTTPClient = &http.Client{Transport: tr, Timeout: o.Timeout}
		rc.RetryMax = o.Retries
		rc.RetryWaitMin = o.BackoffMin
		rc.RetryWaitMax = o.BackoffMax
		rc.Backoff = JitterBackoff
		rc.ErrorHandler = retryablehttp.PassthroughErrorHandler // keep the last response to read its receipt
		rc.Logger = o.Logger.With("partner", cc)
		h.partners[cc] = &partnerClient{
			Partner:  p,
			endpoint: u.JoinPath(wire.DocumentsPath),
			client:   rc,
		}
	}
	return h, nil
}

// Deliver posts doc to its partner and returns the receipt. A receipt is
// returned with a nil error whenever the partner took a decision, whatever
// the outcome; ErrUnavailable (wrapped) when it did not.
func (h *HTTPS) Deliver(ctx context.Context, doc *Document) (*wire.Receipt, error) {
	p, ok := h.partners[doc.Partner]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownPartner, doc.Partner)
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, p.endpoint.JoinPath(doc.Type).String(), doc.Body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", wire.ContentType)
	req.Header.Set(wire.HeaderTrackingID, doc.TrackingID)
	req.Header.Set(wire.HeaderSender, h.sender)
	req.Header.Set(wire.HeaderDocumentType, doc.Type)
	req.Header.Set(wire.HeaderDocumentID, doc.ID)
	req.SetBasicAuth(p.Username, p.Password)

	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("deliver %s to %s: %w: %v", doc.ID, doc.Partner, ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReceiptBytes))
	if err != nil {
		return nil, fmt.Errorf("deliver %s to %s: %w: reading receipt: %v", doc.ID, doc.Partner, ErrUnavailable, err)
	}
	if resp.StatusCode >= 500 {
		return nil, fmt.Errorf("deliver %s to %s: %w: HTTP %d: %s", doc.ID, doc.Partner, ErrUnavailable, resp.StatusCode, snippet(body))
	}
	r, err := p.receipt(ctx, resp.Header.Get("Content-Type"), body)
	if err != nil {
		return nil, fmt.Errorf("deliver %s to %s: HTTP %d: %w", doc.ID, doc.Partner, resp.StatusCode, err)
	}
	if r.TrackingID != doc.TrackingID {
		return nil, fmt.Errorf("deliver %s to %s: receipt is for tracking ID %q, not %q", doc.ID, doc.Partner, r.TrackingID, doc.TrackingID)
	}
	if r.Outcome != wire.Rejected && r.Digest != wire.Digest(doc.Body) {
		return nil, fmt.Errorf("deliver %s to %s: receipt is for digest %s, not what was sent (%s)", doc.ID, doc.Partner, r.Digest, wire.Digest(doc.Body))
	}
	return r, nil
}

// receipt reads a partner's answer: a signed XML receipt (verified here),
// or a JSON one, which is only believed for refusals.
func (p *partnerClient) receipt(ctx context.Context, contentType string, body []byte) (*wire.Receipt, error) {
	if strings.HasPrefix(contentType, wire.ReceiptContentType) {
		if p.Receipts == nil {
			return nil, errors.New("signed receipt, but no verifier for this partner's receipts")
		}
		v, err := p.Receipts.Verify(ctx, body)
		if err != nil {
			return nil, fmt.Errorf("%w: receipt signature: %v", ErrBadReceipt, err)
		}
		r, err := wire.ParseReceiptXML(v.Element)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadReceipt, err)
		}
		r.Signed, r.Signer = body, v.Signer.Subject.String()
		return r, nil
	}
	var r wire.Receipt
	if err := json.Unmarshal(body, &r); err != nil || r.Outcome == "" {
		return nil, fmt.Errorf("%w: no receipt in the answer: %s", ErrBadReceipt, snippet(body))
	}
	if p.Receipts != nil && r.Outcome != wire.Rejected {
		return nil, fmt.Errorf("%w: unsigned receipt claims %s", ErrBadReceipt, r.Outcome)
	}
	return &r, nil
}

// JitterBackoff waits an exponentially growing, randomly jittered time
// ("equal jitter": half fixed, half random) so that many senders retrying
// after the same outage do not hit the partner in lockstep. A Retry-After
// header on 429/503 is honoured, capped at max.
func JitterBackoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			return minDur(time.Duration(s)*time.Second, max)
		}
	}
	ceiling := max
	if attempt < 30 {
		ceiling = minDur(min<<attempt, max)
	}
	half := ceiling / 2
	return half + rand.N(half+1)
}

func minDur(a, b time.Duration) time.Duration {
	if a < b {
		return a
	}
	return b
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(bytes.ToValidUTF8(b, nil)))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
