package hub_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/certs/devpki"
	"github.com/vucelink/vucelink/delivery"
	"github.com/vucelink/vucelink/demo/hubsim"
	"github.com/vucelink/vucelink/demo/legacysim"
	"github.com/vucelink/vucelink/hub"
	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/mapping"
	"github.com/vucelink/vucelink/proxy"
	"github.com/vucelink/vucelink/rules"
	"github.com/vucelink/vucelink/schema"
	"github.com/vucelink/vucelink/store"
	"github.com/vucelink/vucelink/wire"
	"github.com/vucelink/vucelink/xmlsafe"
)

// nppo is one country at the simulated hub: its CA, official, and a
// client of the hub with its own client certificate.
type nppo struct {
	cc         string
	ca         *devpki.CA
	official   *certs.Signer
	officialKP *devpki.KeyPair
	client     *hub.Client
}

type world struct {
	t     *testing.T
	sim   *hubsim.Server
	url   string
	roots *x509.CertPool
	n     map[string]*nppo
	st    store.Store
}

func newWorld(t *testing.T, countries ...string) *world {
	t.Helper()
	w := &world{t: t, sim: hubsim.New(), n: map[string]*nppo{}}
	hubCA, err := devpki.NewCA("UN")
	if err != nil {
		t.Fatal(err)
	}
	srvKP, err := hubCA.IssueServer(devpki.Options{}, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(w.sim)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{srvKP.TLS()}, ClientAuth: tls.RequireAnyClientCert, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	w.url = srv.URL + "/hub/DeliveryService"
	w.roots = x509.NewCertPool()
	w.roots.AddCert(hubCA.Cert)
	for _, cc := range countries {
		ca, err := devpki.NewCA(cc)
		if err != nil {
			t.Fatal(err)
		}
		off, err := ca.IssueOfficial("Official of "+cc, "NPPO "+cc, devpki.Options{})
		if err != nil {
			t.Fatal(err)
		}
		cl, err := ca.IssueClient("national system "+cc, devpki.Options{})
		if err != nil {
			t.Fatal(err)
		}
		signer, err := certs.NewSigner(off.Key, off.Cert)
		if err != nil {
			t.Fatal(err)
		}
		tc := cl.TLS()
		pool := x509.NewCertPool()
		pool.AddCert(ca.Cert)
		w.sim.AddMember(hubsim.Member{Country: cc, ClientCAs: pool, Signing: []*x509.Certificate{off.Cert}})
		w.n[cc] = &nppo{cc: cc, ca: ca, official: signer, officialKP: off, client: &hub.Client{URL: w.url,
			HTTP: hub.NewHTTPClient(w.roots, func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &tc, nil }, 5*time.Second)}}
	}
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w.st = st
	return w
}

func rulesFor(t *testing.T, name string) *mapping.Rules {
	t.Helper()
	r, err := mapping.Load(rules.FS, name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func profile(t *testing.T) *schema.Schema {
	t.Helper()
	s, err := schema.Load(rules.FS, "documents/sps-17a/SPSCertificate_17p0.xsd")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// certificate17A maps c from cc's native format with cc's 17A rules,
// validates it against the profile and has the NPPO's official sign it.
func (w *world) certificate17A(cc string, c legacysim.Certificate) []byte {
	t := w.t
	t.Helper()
	f, err := legacysim.FormatFor(cc)
	if err != nil {
		t.Fatal(err)
	}
	native, err := f.Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	out, err := rulesFor(t, cc+"/sps17a.outbound.yaml").Map(native)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := out.Bytes()
	return w.sign(cc, b)
}

func (w *world) sign(cc string, b []byte) []byte {
	t := w.t
	t.Helper()
	doc, err := xmlsafe.Parse(b, xmlsafe.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := profile(t).ValidateElement(doc.Root()); err != nil {
		t.Fatalf("not valid against the 17A profile: %v", err)
	}
	signed, err := w.n[cc].official.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func spec(t *testing.T) *proxy.DocumentSpec {
	s, err := proxy.NewDocumentSpec("sps17a", "rsm:SPSCertificate", "", "rsm:SPSExchangedDocument/ram:ID", "rsm:SPSConsignment/ram:ImportSPSCountry/ram:ID",
		map[string]string{"rsm": "urn:un:unece:uncefact:data:standard:SPSCertificate:17", "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:21"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// poller is cc's node taking what the hub holds for it, handing it to
// legacy (cc's simulated legacy VUCE).
func (w *world) poller(cc string, legacy *legacysim.Server) *hub.Poller {
	t := w.t
	ls := httptest.NewServer(legacy)
	t.Cleanup(ls.Close)
	f, _ := legacysim.FormatFor(cc)
	dir := &hub.Directory{Client: w.n[cc].client, Records: w.st}
	if err := dir.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &hub.Poller{Client: w.n[cc].client, Ledger: w.st, Directory: dir, Country: cc,
		Target: &proxy.Target{Document: "sps17a", Spec: spec(t), Mapper: rulesFor(t, cc+"/sps17a.inbound.yaml"), Validator: profile(t),
			URL: ls.URL + legacysim.InboundPath(cc), Method: http.MethodPost, ContentType: f.ContentType(), DuplicateStatus: http.StatusConflict},
		Hold: 2 * time.Second}
}

func (w *world) deliverer(cc string, to ...string) *hub.Deliverer {
	m := map[string]bool{}
	for _, c := range to {
		m[c] = true
	}
	return &hub.Deliverer{Client: w.n[cc].client, Records: w.st, NPPO: cc, Countries: m}
}

func doc(from, to string, body []byte, seq int) *delivery.Document {
	return &delivery.Document{Partner: to, Type: "sps17a", ID: legacysim.Sample(from, to, seq, 1).ID, TrackingID: from + "-T" + string(rune('0'+seq)), Body: body}
}

func sample(from, to string, seq int) legacysim.Certificate {
	c := legacysim.Sample(from, to, seq, 3)
	if c.Inspector == "" {
		c.Inspector, c.IssuePlace, c.InspectionPlace = "Inspector of "+from, "Capital of "+from, "Port of "+from
	}
	return c
}

// Outbound: a certificate for a hub country is delivered once as an
// envelope, tracked (PendingDelivery keeps it sent), and settles with the
// importing NPPO's acknowledgement; what the hub carries validates against
// the 17A profile and xmlsec1 verifies its signature.
func TestDeliverer_DeliversOnceAndTracks(t *testing.T) {
	w := newWorld(t, "CL", "NZ")
	d := w.deliverer("CL", "NZ")
	body := w.certificate17A("CL", sample("CL", "NZ", 1))
	ctx := context.Background()
	dd := doc("CL", "NZ", body, 1)
	for i := 0; i < 3; i++ { // the first attempt delivers, the next only ask
		if _, err := d.Deliver(ctx, dd); !errors.Is(err, hub.ErrPending) {
			t.Fatalf("attempt %d: %v, want pending at the hub", i+1, err)
		}
	}
	envs := w.sim.Envelopes()
	if len(envs) != 1 {
		t.Fatalf("%d envelopes at the hub, want 1", len(envs))
	}
	e := envs[0]
	if e.From != "CL" || e.To != "NZ" || e.CertificateType != 851 || e.CertificateStatus != 70 || e.NPPOCertificateNumber != dd.ID {
		t.Errorf("envelope header %+v", e.Header)
	}
	if e.Content != string(body) {
		t.Fatal("the hub does not carry the signed certificate byte for byte")
	}
	xmlsec1Verifies(t, w.n["CL"].ca, []byte(e.Content))
	if id, _ := d.EnvelopeID(ctx, dd.TrackingID); id != e.HubDeliveryNumber {
		t.Errorf("recorded envelope %q, hub has %q", id, e.HubDeliveryNumber)
	}
	// NZ's national system takes it.
	if err := w.n["NZ"].client.AcknowledgeEnvelopeReceipt(ctx, e.HubDeliveryNumber); err != nil {
		t.Fatal(err)
	}
	rc, err := d.Deliver(ctx, dd)
	if err != nil || rc.Outcome != wire.ReceivedCorrectly || !strings.Contains(rc.Signer, e.HubDeliveryNumber) {
		t.Fatalf("after Delivered: %+v, %v", rc, err)
	}
}

func xmlsec1Verifies(t *testing.T, ca *devpki.CA, doc []byte) {
	t.Helper()
	bin, err := exec.LookPath("xmlsec1")
	if err != nil {
		t.Log("xmlsec1 not installed: signature interop not checked")
		return
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ca.pem"), ca.CertPEM, 0o644)
	os.WriteFile(filepath.Join(dir, "doc.xml"), doc, 0o644)
	out, err := exec.Command(bin, "--verify", "--trusted-pem", filepath.Join(dir, "ca.pem"), filepath.Join(dir, "doc.xml")).CombinedOutput()
	if err != nil {
		t.Fatalf("xmlsec1 does not verify what the hub carries: %v\n%s", err, out)
	}
}

// The hub's verdicts become receipts: FailedDelivery and warnings are
// received-with-errors with the hub's message; EnvelopeNotExists and SOAP
// faults are clear errors that leave the document pending.
func TestDeliverer_HubVerdicts(t *testing.T) {
	w := newWorld(t, "CL", "NZ", "AU")
	d := w.deliverer("CL", "NZ", "AU")
	ctx := context.Background()
	dd := doc("CL", "NZ", w.certificate17A("CL", sample("CL", "NZ", 2)), 2)
	d.Deliver(ctx, dd)
	id, _ := d.EnvelopeID(ctx, dd.TrackingID)
	w.sim.SetTracking(id, hub.FailedDelivery, "NZ: importer not registered")
	rc, err := d.Deliver(ctx, dd)
	if err != nil || rc.Outcome != wire.ReceivedWithErrors || !strings.Contains(rc.Error(), "hub.failed-delivery: NZ: importer not registered (envelope "+id+")") {
		t.Fatalf("FailedDelivery: %+v, %v", rc, err)
	}
	w.sim.SetTracking(id, hub.EnvelopeNotExists, "")
	if _, err := d.Deliver(ctx, dd); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("EnvelopeNotExists: %v", err)
	}
	// A fault on delivery: nothing recorded, the next attempt delivers.
	d2 := doc("CL", "AU", w.certificate17A("CL", sample("CL", "AU", 3)), 3)
	w.sim.FailNext("DeliverEnvelope", 1)
	var f *hub.Fault
	if _, err := d.Deliver(ctx, d2); !errors.As(err, &f) || !strings.Contains(err.Error(), "simulated hub failure") {
		t.Fatalf("fault: %v", err)
	}
	w.sim.GarbleNext("DeliverEnvelope", 1)
	if _, err := d.Deliver(ctx, d2); !errors.Is(err, hub.ErrMalformed) {
		t.Fatalf("malformed answer: %v", err)
	}
	w.sim.SetDown(true)
	if _, err := d.Deliver(ctx, d2); !errors.Is(err, hub.ErrUnavailable) {
		t.Fatalf("hub down: %v", err)
	}
	w.sim.SetDown(false)
	if _, err := d.Deliver(ctx, d2); !errors.Is(err, hub.ErrPending) {
		t.Fatalf("hub back: %v", err)
	}
	n := 0
	for _, e := range w.sim.Envelopes() {
		if e.To == "AU" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d envelopes for AU after a fault, a malformed answer, an outage and a success; want 1", n)
	}
	// The hub's own validations: From must be the caller.
	_, err = w.n["CL"].client.DeliverEnvelope(ctx, hub.Envelope{Header: hub.Header{From: "NZ", To: "AU", CertificateType: 851, CertificateStatus: 70, NPPOCertificateNumber: "X"}, Content: string(d2.Body)})
	if !errors.As(err, &f) || !strings.Contains(f.Message, "does not match the caller") {
		t.Errorf("From of another NPPO: %v", err)
	}
	_, err = w.n["CL"].client.DeliverEnvelope(ctx, hub.Envelope{Header: hub.Header{From: "CL", To: "ZZ", CertificateType: 851, CertificateStatus: 70, NPPOCertificateNumber: "X"}, Content: string(d2.Body)})
	if !errors.As(err, &f) || !strings.Contains(f.Message, "not a known NPPO") {
		t.Errorf("unknown To: %v", err)
	}
	_, err = w.n["CL"].client.DeliverEnvelope(ctx, hub.Envelope{Header: hub.Header{From: "CL", To: "AU", CertificateType: 851, CertificateStatus: 70, NPPOCertificateNumber: "X"}, Content: "<a/>"})
	if !errors.As(err, &f) || !strings.Contains(f.Message, "not an SPS 17A certificate") {
		t.Errorf("content not a certificate: %v", err)
	}
}

// Inbound: NZ's certificate for Peru is pulled, verified against NZ's
// certificate on the hub's list, mapped to Peru's format and handed over
// once, field by field equal, then acknowledged. A lost acknowledgement
// is repeated without a second hand-over; faults and malformed answers
// leave the envelope for the next poll.
func TestPoller_HandsOverOnceThenAcknowledges(t *testing.T) {
	w := newWorld(t, "NZ", "PE")
	ctx := context.Background()
	legacy := legacysim.NewServer("PE")
	p := w.poller("PE", legacy)
	sent := sample("NZ", "PE", 5)
	signed := w.sign("NZ", mustMap(t, "CL", sent))
	h, err := w.n["NZ"].client.DeliverEnvelope(ctx, hub.Envelope{Header: hub.Header{From: "NZ", To: "PE", CertificateType: 851, CertificateStatus: 70, NPPOCertificateNumber: sent.ID}, Content: string(signed)})
	if err != nil {
		t.Fatal(err)
	}
	// Faults and malformed answers: nothing handed over, the poller goes on.
	w.sim.FailNext("GetImportEnvelopeHeaders", 1)
	if _, err := p.Poll(ctx); err == nil {
		t.Fatal("a fault listing the envelopes is not an error")
	}
	w.sim.GarbleNext("PULLSingleImportEnvelope", 1)
	if _, err := p.Poll(ctx); !errors.Is(err, hub.ErrMalformed) {
		t.Fatalf("malformed pull: %v", err)
	}
	// The acknowledgement is lost once.
	w.sim.GarbleNext("AcknowledgeEnvelopeReceipt", 1)
	if _, err := p.Poll(ctx); err == nil {
		t.Fatal("a lost acknowledgement is not reported")
	}
	if got := len(legacy.Received()); got != 1 {
		t.Fatalf("legacy has %d certificates, want 1", got)
	}
	if n, err := p.Poll(ctx); err != nil || n != 1 {
		t.Fatalf("second poll: %d settled, %v", n, err)
	}
	if n, err := p.Poll(ctx); err != nil || n != 0 {
		t.Fatalf("third poll: %d settled, %v", n, err)
	}
	got := legacy.Received()
	if len(got) != 1 || len(legacy.Duplicates()) != 0 {
		t.Fatalf("legacy received %d (duplicates %d), want exactly 1", len(got), len(legacy.Duplicates()))
	}
	if ok, diff := sent.Equal(got[0].Certificate); !ok {
		t.Errorf("arrived changed: %v", diff)
	}
	e, _ := w.sim.Envelope(h.HubDeliveryNumber)
	if e.HUBTrackingInfo != hub.Delivered || len(e.Acks) != 1 {
		t.Errorf("hub: %s, acks %v", e.HUBTrackingInfo, e.Acks)
	}
	d, err := w.st.Get(ctx, hub.TrackingID("NZ", h.HubDeliveryNumber))
	if err != nil || d.State != lifecycle.ReceivedCorrectly || d.DocumentID != sent.ID {
		t.Fatalf("ledger: %+v, %v", d, err)
	}
}

func mustMap(t *testing.T, cc string, c legacysim.Certificate) []byte {
	f, _ := legacysim.FormatFor(cc)
	native, err := f.Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	out, err := rulesFor(t, cc+"/sps17a.outbound.yaml").Map(native)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := out.Bytes()
	return b
}

// The real 17A certificate (signed here by NZ's official, as it is
// unsigned) is verified and valid, and refused by Peru's format with the
// complete list of what it cannot carry: AcknowledgeFailedEnvelopeReceipt
// with the reasons. A certificate signed by a key the hub does not list
// for its sender is refused as untrusted.
func TestPoller_RealSampleAndUntrusted(t *testing.T) {
	w := newWorld(t, "NZ", "PE", "AU")
	ctx := context.Background()
	legacy := legacysim.NewServer("PE")
	p := w.poller("PE", legacy)
	raw, err := os.ReadFile("../rules/testdata/sps17a/ephyto-17a-spscertificate.xml")
	if err != nil {
		t.Fatal(err)
	}
	// Addressed to Peru, as it would be; the rest untouched.
	raw = []byte(strings.Replace(string(raw), "<ns1:ID>EC</ns1:ID>", "<ns1:ID>PE</ns1:ID>", 1))
	signed := w.sign("NZ", raw)
	h1, err := w.n["NZ"].client.DeliverEnvelope(ctx, hub.Envelope{Header: hub.Header{From: "NZ", To: "PE", CertificateType: 851, CertificateStatus: 70, NPPOCertificateNumber: "123ABC"}, Content: string(signed)})
	if err != nil {
		t.Fatal(err)
	}
	// AU's envelope claims to be NZ's certificate signed by AU's official.
	forged := w.sign("AU", mustMap(t, "CL", sample("NZ", "PE", 9)))
	h2, err := w.n["AU"].client.DeliverEnvelope(ctx, hub.Envelope{Header: hub.Header{From: "AU", To: "PE", CertificateType: 851, CertificateStatus: 70, NPPOCertificateNumber: "N"}, Content: string(forged)})
	if err != nil {
		t.Fatal(err)
	}
	w.sim.AddMember(hubsim.Member{Country: "AU", ClientCAs: pool(w.n["AU"].ca.Cert), Signing: []*x509.Certificate{w.n["NZ"].officialKP.Cert}})
	p.Directory.Refresh(ctx)
	if n, err := p.Poll(ctx); err != nil || n != 2 {
		t.Fatalf("poll: %d settled, %v", n, err)
	}
	if len(legacy.Received()) != 0 {
		t.Fatal("a refused certificate reached the legacy VUCE")
	}
	e1, _ := w.sim.Envelope(h1.HubDeliveryNumber)
	if e1.HUBTrackingInfo != hub.FailedDelivery || !strings.Contains(e1.HubDeliveryError, "mapping:") || !strings.Contains(e1.HubDeliveryError, `"SPSFL"`) || !strings.Contains(e1.HubDeliveryError, `"DMCL"`) {
		t.Errorf("real sample: %s %q", e1.HUBTrackingInfo, e1.HubDeliveryError)
	}
	e2, _ := w.sim.Envelope(h2.HubDeliveryNumber)
	if e2.HUBTrackingInfo != hub.FailedDelivery || !strings.Contains(e2.HubDeliveryError, "signature.untrusted") {
		t.Errorf("untrusted signer: %s %q", e2.HUBTrackingInfo, e2.HubDeliveryError)
	}
	d, err := w.st.Get(ctx, hub.TrackingID("NZ", h1.HubDeliveryNumber))
	if err != nil || d.State != lifecycle.ReceivedWithErrors {
		t.Fatalf("ledger: %+v %v", d, err)
	}
}

func pool(cs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range cs {
		p.AddCert(c)
	}
	return p
}

// The hub's list of NPPOs: a failed or empty fetch keeps the last good
// list, in memory and in the store.
func TestDirectory_KeepsLastGood(t *testing.T) {
	w := newWorld(t, "NZ", "PE")
	ctx := context.Background()
	d := &hub.Directory{Client: w.n["PE"].client, Records: w.st}
	if err := d.Refresh(ctx); err != nil || d.Trust("NZ") == nil {
		t.Fatalf("first fetch: %v", err)
	}
	w.sim.GarbleNext("GetActiveNppos", 1)
	if err := d.Refresh(ctx); !errors.Is(err, hub.ErrMalformed) || d.Trust("NZ") == nil {
		t.Fatalf("malformed list: %v; NZ trusted: %v", err, d.Trust("NZ") != nil)
	}
	again := &hub.Directory{Client: w.n["PE"].client, Records: w.st}
	if err := again.Load(ctx); err != nil || again.Trust("NZ") == nil {
		t.Fatalf("after a restart: %v", err)
	}
}
