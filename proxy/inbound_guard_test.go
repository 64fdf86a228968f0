package proxy

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/vucelink/vucelink/access"
	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/mapping"
	"github.com/vucelink/vucelink/store"
	"github.com/vucelink/vucelink/wire"
)

// The inbound guards, each with a request that only that guard refuses:
// the rest of the pipeline (verification, ledger, mapping) is faked.

// guardLedger answers Get with prev (ErrNotFound when nil) and Receive as
// a fresh reception, and records nothing; Find is not reached.
type guardLedger struct {
	Ledger
	prev *store.Document
}

func (l *guardLedger) Get(context.Context, string) (*store.Document, error) {
	if l.prev == nil {
		return nil, store.ErrNotFound
	}
	return l.prev, nil
}

func (l *guardLedger) Receive(_ context.Context, d *store.Document, _ time.Duration, _, _ string) (store.Reception, *store.Document, error) {
	return store.Fresh, &store.Document{TrackingID: d.TrackingID, Lease: 1}, nil
}

func (l *guardLedger) Add(_ context.Context, d *store.Document, _, _ string) (*store.Document, error) {
	return d, nil
}

func (l *guardLedger) Release(context.Context, string, int64) error { return nil }

func (l *guardLedger) Transition(context.Context, string, time.Time, store.Change) (*store.Document, error) {
	return nil, nil
}

// guardVerifier accepts any body as the XML it is; with fail set, it
// refuses everything.
type guardVerifier struct {
	signer *x509.Certificate
	fail   bool
}

func (v guardVerifier) Verify(_ context.Context, data []byte) (*certs.Verified, error) {
	if v.fail {
		return nil, certs.ErrBadSignature
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, err
	}
	return &certs.Verified{Element: doc.Root(), Signer: v.signer}, nil
}

type failMapper struct{}

func (failMapper) MapElement(*etree.Element) (*mapping.Output, error) {
	return nil, errors.New("not mapped in this test")
}

type guardFixture struct {
	in   *Inbound
	cert *x509.Certificate
}

func newGuardFixture(t *testing.T, verifier guardVerifier) *guardFixture {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CL node"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	spec, err := NewDocumentSpec("cert", "c:Cert", "", "c:ID", "c:To", map[string]string{"c": "urn:cert"})
	if err != nil {
		t.Fatal(err)
	}
	verifier.signer = cert
	return &guardFixture{cert: cert, in: &Inbound{
		Country: "AR",
		Peers: map[string]*Peer{"CL": {
			Country: "CL", ClientCAs: pool,
			Credentials: &access.Basic{Username: "cl", Password: "right"},
			Verifiers:   map[string]DocumentVerifier{"cert": verifier},
		}},
		Targets: map[string]*Target{"cert": {Document: "cert", Spec: spec, Mapper: failMapper{}}},
		Ledger:  &guardLedger{},
	}}
}

func (f *guardFixture) request(trackingID, password string, body io.Reader) *http.Request {
	r := httptest.NewRequest(http.MethodPost, wire.DocumentsPath+"cert", body)
	r.Header.Set(wire.HeaderSender, "CL")
	r.Header.Set(wire.HeaderTrackingID, trackingID)
	r.SetBasicAuth("cl", password)
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{f.cert}}
	return r
}

func (f *guardFixture) serve(t *testing.T, r *http.Request) (int, wire.Receipt) {
	t.Helper()
	w := httptest.NewRecorder()
	f.in.ServeHTTP(w, r)
	var rc wire.Receipt
	if err := json.Unmarshal(w.Body.Bytes(), &rc); err != nil {
		t.Fatalf("receipt %q: %v", w.Body.String(), err)
	}
	return w.Code, rc
}

func reason(rc wire.Receipt) string {
	if len(rc.Reasons) == 0 {
		return ""
	}
	return rc.Reasons[0].Code
}

const certForAR = `<Cert xmlns="urn:cert"><ID>C-1</ID><To>AR</To></Cert>`

// TestInbound_TrackingIDReused: a tracking ID already recorded for another
// document is refused 409, before verification.
func TestInbound_TrackingIDReused(t *testing.T) {
	f := newGuardFixture(t, guardVerifier{fail: true})
	f.in.Ledger = &guardLedger{prev: &store.Document{
		TrackingID: "CL-1", Direction: store.Inbound, Partner: "CL", Type: "cert", DocumentID: "C-0", Digest: wire.Digest([]byte("another document")),
	}}
	status, rc := f.serve(t, f.request("CL-1", "right", bytes.NewBufferString(certForAR)))
	if status != http.StatusConflict || reason(rc) != "request.tracking-id-reused" {
		t.Fatalf("%d %+v, want 409 request.tracking-id-reused", status, rc.Reasons)
	}
}

// TestInbound_DestinationElsewhere: a well-signed document addressed to
// another country is received with errors (422) and not handed over.
func TestInbound_DestinationElsewhere(t *testing.T) {
	f := newGuardFixture(t, guardVerifier{})
	body := `<Cert xmlns="urn:cert"><ID>C-1</ID><To>PE</To></Cert>`
	status, rc := f.serve(t, f.request("CL-1", "right", bytes.NewBufferString(body)))
	if status != http.StatusUnprocessableEntity || rc.Outcome != wire.ReceivedWithErrors || reason(rc) != "document.destination" {
		t.Fatalf("%d %s %+v, want 422 document.destination", status, rc.Outcome, rc.Reasons)
	}
}

// TestInbound_LockoutPerCertificate: wrong passwords with one client
// certificate block it (429), even for the right password, until the
// minute passes.
func TestInbound_LockoutPerCertificate(t *testing.T) {
	f := newGuardFixture(t, guardVerifier{fail: true})
	now := time.Now()
	f.in.Now = func() time.Time { return now }
	f.in.AuthFailuresPerMinute = 3
	for i := range 3 {
		if status, rc := f.serve(t, f.request("CL-1", "wrong", nil)); status != http.StatusUnauthorized || reason(rc) != "auth.credentials" {
			t.Fatalf("wrong password %d: %d %+v", i, status, rc.Reasons)
		}
	}
	if status, rc := f.serve(t, f.request("CL-1", "right", nil)); status != http.StatusTooManyRequests || reason(rc) != "auth.rate-limited" {
		t.Fatalf("after 3 wrong passwords: %d %+v, want 429 auth.rate-limited", status, rc.Reasons)
	}
	now = now.Add(61 * time.Second)
	if status, rc := f.serve(t, f.request("CL-1", "right", nil)); status == http.StatusTooManyRequests {
		t.Fatalf("still locked out after the minute: %+v", rc.Reasons)
	}
}

// TestInbound_InflightCap: a partner with its share of documents in
// progress gets 503 request.busy with Retry-After, and its slot back once
// one finishes.
func TestInbound_InflightCap(t *testing.T) {
	f := newGuardFixture(t, guardVerifier{fail: true})
	f.in.MaxInflightPerPartner = 1
	pr, pw := io.Pipe()
	done := make(chan int)
	go func() {
		w := httptest.NewRecorder()
		f.in.ServeHTTP(w, f.request("CL-1", "right", pr))
		done <- w.Code
	}()
	// The first request holds the only slot while its body trickles in.
	if _, err := pw.Write([]byte("<Cert")); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	f.in.ServeHTTP(w, f.request("CL-2", "right", bytes.NewBufferString(certForAR)))
	var rc wire.Receipt
	if err := json.Unmarshal(w.Body.Bytes(), &rc); err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusServiceUnavailable || reason(rc) != "request.busy" || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("second request: %d %+v Retry-After %q, want 503 request.busy", w.Code, rc.Reasons, w.Header().Get("Retry-After"))
	}
	pw.Close()
	<-done
	if status, rc := f.serve(t, f.request("CL-3", "right", bytes.NewBufferString(certForAR))); status == http.StatusServiceUnavailable {
		t.Fatalf("slot not given back: %+v", rc.Reasons)
	}
}
