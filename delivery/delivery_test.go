package delivery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/certs/devpki"
	"github.com/vucelink/vucelink/wire"
)

type pki struct {
	partnerCA, ownCA, otherCA *devpki.CA
	server, otherServer       *devpki.KeyPair
	client                    *devpki.KeyPair
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	var p pki
	var err error
	for _, x := range []struct {
		ca **devpki.CA
		cc string
	}{{&p.partnerCA, "MX"}, {&p.ownCA, "CL"}, {&p.otherCA, "PE"}} {
		if *x.ca, err = devpki.NewCA(x.cc); err != nil {
			t.Fatal(err)
		}
	}
	if p.server, err = p.partnerCA.IssueServer(devpki.Options{}, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if p.otherServer, err = p.otherCA.IssueServer(devpki.Options{}, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if p.client, err = p.ownCA.IssueClient("vucelink CL", devpki.Options{}); err != nil {
		t.Fatal(err)
	}
	return &p
}

// partnerServer is a real mutual-TLS server standing in for a partner node.
func partnerServer(t *testing.T, p *pki, serverCert *devpki.KeyPair, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(p.ownCA.Cert)
	s.TLS = &tls.Config{
		Certificates: []tls.Certificate{serverCert.TLS()},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    clientCAs,
		MinVersion:   tls.VersionTLS12,
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func newDeliverer(t *testing.T, p *pki, url string, retries int) *HTTPS {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(p.partnerCA.Cert)
	clientCert := p.client.TLS()
	d, err := NewHTTPS(Options{
		Sender: "CL",
		ClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &clientCert, nil
		},
		Partners:   map[string]Partner{"MX": {URL: url, RootCAs: roots, Username: "CL", Password: "pw"}},
		Timeout:    5 * time.Second,
		Retries:    retries,
		BackoffMin: time.Millisecond,
		BackoffMax: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func receiptFor(r *http.Request, outcome wire.Outcome) wire.Receipt {
	body, _ := io.ReadAll(r.Body)
	return wire.Receipt{TrackingID: r.Header.Get(wire.HeaderTrackingID), DocumentType: "sps", From: "CL", To: "MX",
		Digest: wire.Digest(body), Outcome: outcome, Time: time.Now()}
}

func doc() *Document {
	return &Document{Partner: "MX", Type: "sps", ID: "CL-1", TrackingID: "CL-20261125-abc", Body: []byte("<x/>")}
}

func TestDeliver_SendsCredentialsAndReturnsReceipt(t *testing.T) {
	p := newPKI(t)
	srv := partnerServer(t, p, p.server, func(w http.ResponseWriter, r *http.Request) {
		u, pw, ok := r.BasicAuth()
		if !ok || u != "CL" || pw != "pw" {
			t.Errorf("basic auth %q %q %v", u, pw, ok)
		}
		if r.URL.Path != wire.DocumentsPath+"sps" || r.Header.Get(wire.HeaderSender) != "CL" || r.Header.Get(wire.HeaderDocumentID) != "CL-1" {
			t.Errorf("request %s %v", r.URL.Path, r.Header)
		}
		if len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.CommonName != "vucelink CL" {
			t.Errorf("client certificate not presented")
		}
		json.NewEncoder(w).Encode(receiptFor(r, wire.ReceivedCorrectly))
	})
	rc, err := newDeliverer(t, p, srv.URL, 0).Deliver(context.Background(), doc())
	if err != nil || rc.Outcome != wire.ReceivedCorrectly || rc.TrackingID != "CL-20261125-abc" {
		t.Fatalf("receipt %+v, err %v", rc, err)
	}
}

func TestDeliver_Retries(t *testing.T) {
	tests := []struct {
		name      string
		failFirst int32 // answer 503 this many times
		retries   int
		wantCalls int32
		wantErr   error
		outcome   wire.Outcome
	}{
		{"recovers within budget", 2, 3, 3, nil, wire.ReceivedCorrectly},
		{"budget exhausted", 100, 2, 3, ErrUnavailable, ""},
		{"no retries", 1, 0, 1, ErrUnavailable, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPKI(t)
			var calls atomic.Int32
			srv := partnerServer(t, p, p.server, func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) <= tt.failFirst {
					http.Error(w, "legacy down", http.StatusServiceUnavailable)
					return
				}
				json.NewEncoder(w).Encode(receiptFor(r, wire.ReceivedCorrectly))
			})
			rc, err := newDeliverer(t, p, srv.URL, tt.retries).Deliver(context.Background(), doc())
			if calls.Load() != tt.wantCalls {
				t.Errorf("partner called %d times, want %d", calls.Load(), tt.wantCalls)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || rc.Outcome != tt.outcome {
				t.Fatalf("receipt %+v err %v", rc, err)
			}
		})
	}
}

func TestDeliver_RejectedIsAVerdictNotAnError(t *testing.T) {
	p := newPKI(t)
	var calls atomic.Int32
	srv := partnerServer(t, p, p.server, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		rc := receiptFor(r, wire.ReceivedWithErrors)
		rc.Reasons = []wire.Reason{{Code: "signature.untrusted", Message: "no"}}
		w.WriteHeader(http.StatusUnprocessableEntity)
		json.NewEncoder(w).Encode(rc)
	})
	rc, err := newDeliverer(t, p, srv.URL, 3).Deliver(context.Background(), doc())
	if err != nil || rc.Outcome != wire.ReceivedWithErrors || rc.Reasons[0].Code != "signature.untrusted" {
		t.Fatalf("receipt %+v err %v", rc, err)
	}
	if calls.Load() != 1 {
		t.Errorf("a 4xx verdict was retried: %d calls", calls.Load())
	}
}

func TestDeliver_RefusesServerFromAnotherCA(t *testing.T) {
	p := newPKI(t)
	var calls atomic.Int32
	srv := partnerServer(t, p, p.otherServer, func(w http.ResponseWriter, r *http.Request) { calls.Add(1) })
	_, err := newDeliverer(t, p, srv.URL, 2).Deliver(context.Background(), doc())
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err %v, want a certificate error", err)
	}
	if calls.Load() != 0 {
		t.Errorf("request reached a server with an untrusted certificate")
	}
}

func TestDeliver_UnknownPartner(t *testing.T) {
	p := newPKI(t)
	d := newDeliverer(t, p, "https://127.0.0.1:1", 0)
	x := doc()
	x.Partner = "AR"
	if _, err := d.Deliver(context.Background(), x); !errors.Is(err, ErrUnknownPartner) {
		t.Fatalf("err %v", err)
	}
}

func TestJitterBackoff(t *testing.T) {
	min, max := 100*time.Millisecond, 2*time.Second
	tests := []struct {
		attempt int
		lo, hi  time.Duration
	}{
		{0, 50 * time.Millisecond, 100 * time.Millisecond},
		{1, 100 * time.Millisecond, 200 * time.Millisecond},
		{3, 400 * time.Millisecond, 800 * time.Millisecond},
		{10, time.Second, 2 * time.Second},
		{62, time.Second, 2 * time.Second},
	}
	for _, tt := range tests {
		seen := map[time.Duration]bool{}
		for range 50 {
			d := JitterBackoff(min, max, tt.attempt, nil)
			if d < tt.lo || d > tt.hi {
				t.Errorf("attempt %d: %s outside [%s, %s]", tt.attempt, d, tt.lo, tt.hi)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("attempt %d: no jitter (%v)", tt.attempt, seen)
		}
	}
	resp := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"1"}}}
	if d := JitterBackoff(min, max, 0, resp); d != time.Second {
		t.Errorf("Retry-After: %s", d)
	}
}

// Verdicts must come signed by one of the partner's officials, about what
// was sent.
func TestDeliver_SignedReceipts(t *testing.T) {
	p := newPKI(t)
	official, err := p.partnerCA.IssueOfficial("María Hernández", "SENASICA", devpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := p.otherCA.IssueOfficial("Nobody", "X", devpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(p.partnerCA.Cert)
	verifier := &certs.Verifier{Roots: roots}
	signed := func(kp *devpki.KeyPair, edit func(*wire.Receipt)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			rc := receiptFor(r, wire.ReceivedCorrectly)
			if edit != nil {
				edit(&rc)
			}
			s, _ := certs.NewSigner(kp.Key, kp.Cert)
			doc := rc.XML()
			el, _ := s.SignElement(doc.Root())
			doc.SetRoot(el)
			b, _ := doc.WriteToBytes()
			w.Header().Set("Content-Type", wire.ReceiptContentType)
			w.Write(b)
		}
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		wantErr bool
	}{
		{"signed by the partner's official", signed(official, nil), false},
		{"signed by another country's official", signed(stranger, nil), true},
		{"about another digest", signed(official, func(r *wire.Receipt) { r.Digest = "sha256:00" }), true},
		{"unsigned verdict", func(w http.ResponseWriter, r *http.Request) {
			json.NewEncoder(w).Encode(receiptFor(r, wire.ReceivedCorrectly))
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := partnerServer(t, p, p.server, tt.handler)
			d := newDeliverer(t, p, srv.URL, 0)
			part := d.partners["MX"]
			part.Receipts = verifier
			rc, err := d.Deliver(context.Background(), doc())
			if tt.wantErr {
				if err == nil {
					t.Fatalf("accepted receipt %+v", rc)
				}
				return
			}
			if err != nil || rc.Outcome != wire.ReceivedCorrectly || len(rc.Signed) == 0 || !strings.Contains(rc.Signer, "María Hernández") {
				t.Fatalf("receipt %+v err %v", rc, err)
			}
		})
	}
}
