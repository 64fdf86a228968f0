package demo

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/certs/devpki"
	"github.com/vucelink/vucelink/config"
	"github.com/vucelink/vucelink/demo/legacysim"
	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/mapping"
	"github.com/vucelink/vucelink/rules"
	"github.com/vucelink/vucelink/track"
	"github.com/vucelink/vucelink/wire"
)

func startNetwork(t *testing.T, countries ...string) *Network {
	return startNetworkWith(t, Options{Countries: countries})
}

func startNetworkWith(t *testing.T, o Options) *Network {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o.Dir = t.TempDir()
	n, err := Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return n
}

// Two real nodes over real mutual TLS with generated certificates, and
// real HTTP legacy simulators on both sides, both ways into the sidecar.
func TestEndToEnd_TwoNodes(t *testing.T) {
	n := startNetwork(t, "CL", "MX")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	for i, tc := range []struct {
		from, to string
		forward  bool
		items    int
	}{
		{"CL", "MX", false, 10},
		{"MX", "CL", true, 3},
		{"CL", "MX", true, 1},
		{"MX", "CL", false, 1000},
	} {
		t.Run(fmt.Sprintf("%s→%s forward=%v", tc.from, tc.to, tc.forward), func(t *testing.T) {
			res := n.Send(ctx, tc.from, tc.to, 10+i, tc.items, tc.forward)
			if !res.Intact {
				t.Fatalf("not intact: status %d, outcome %s: %v", res.Status, res.Outcome, res.Problems)
			}
			if res.TrackingID == "" || !strings.HasPrefix(res.TrackingID, tc.from+"-") {
				t.Errorf("tracking ID %q", res.TrackingID)
			}
			// Under load the receipt may come with the sender's next
			// attempt (a replay): wait for it before reading the hops.
			waitState(t, n, tc.from, res.TrackingID, lifecycle.ReceivedCorrectly)
			var steps []string
			for _, e := range n.Events.Events(res.TrackingID) {
				steps = append(steps, e.Node+":"+string(e.Step))
			}
			want := []string{
				tc.from + ":accepted", tc.from + ":mapped", tc.from + ":validated", tc.from + ":signed", tc.from + ":queued",
				tc.to + ":received", tc.to + ":verified", tc.to + ":validated", tc.to + ":mapped", tc.to + ":handed-over",
				tc.from + ":delivered",
			}
			// The hops in order; on a loaded machine a sender's retry may
			// add its own (received, failed: in progress), never a second
			// hand-over.
			if !subsequence(want, steps) || strings.Count(strings.Join(steps, " "), tc.to+":handed-over") != 1 {
				t.Errorf("hops:\n got %v\nwant %v in this order, one hand-over", steps, want)
			}
			// The origin keeps the destination's signed receipt as proof of
			// delivery: it verifies against the destination's CA and names
			// the digest of what was sent.
			d, err := n.Nodes[tc.from].Store.Get(ctx, res.TrackingID)
			if err != nil || d.Receipt == nil || len(d.Receipt.Signed) == 0 {
				t.Fatalf("no signed receipt stored at %s: %+v %v", tc.from, d, err)
			}
			v, err := (&certs.Verifier{Roots: mustPool(t, filepath.Join(n.PKI, tc.to, "ca.pem"))}).Verify(context.Background(), d.Receipt.Signed)
			if err != nil {
				t.Fatalf("stored receipt does not verify: %v", err)
			}
			if rc, _ := wire.ParseReceiptXML(v.Element); rc == nil || rc.Digest != d.Digest || rc.Outcome != wire.ReceivedCorrectly {
				t.Errorf("stored receipt %+v does not match the document (digest %s)", rc, d.Digest)
			}
			// The legacy caller's answer is in the shape its route configures
			// and carries the tracking ID.
			got := n.Legacy[tc.to].Received()
			last := got[len(got)-1]
			if last.Header.Get(wire.HeaderTrackingID) != res.TrackingID {
				t.Errorf("legacy received tracking header %q, want %q", last.Header.Get(wire.HeaderTrackingID), res.TrackingID)
			}
		})
	}
}

func TestEndToEnd_LegacyAnswerShape(t *testing.T) {
	n := startNetwork(t, "CL", "MX")
	ctx := context.Background()
	f, _ := legacysim.FormatFor("MX")
	status, body, err := legacysim.Send(ctx, http.DefaultClient, n.LegacyOutboundURL("MX"), f, legacysim.Sample("MX", "CL", 1, 2))
	if err != nil || status != http.StatusAccepted {
		t.Fatalf("status %d, err %v, body %s", status, err, body)
	}
	if !bytes.HasPrefix(body, []byte("<respuesta><estatus>ENVIADO</estatus><folio>MX-")) {
		t.Errorf("MX legacy answer not in its configured shape: %s", body)
	}
}

func TestForwardProxy_RefusesOtherHosts(t *testing.T) {
	n := startNetwork(t, "CL", "MX")
	pu := n.ForwardProxyURL("CL")
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: func(*http.Request) (*url.URL, error) { return url.Parse(pu) }}}
	for _, target := range []string{
		"http://example.com/",                                  // not a partner host
		"http://" + ForwardHost("CL") + "/some/other/path",     // partner host, wrong path
		"http://" + n.Nodes["MX"].Addr("legacy") + "/anything", // a real loopback server: still refused
	} {
		resp, err := client.Post(target, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", target, resp.StatusCode)
		}
	}
	// CONNECT tunnels are refused too.
	// (the refusal itself must be the proxy's 403, not some other failure)
	resp, err := client.Get("https://" + ForwardHost("CL") + "/")
	if err == nil {
		resp.Body.Close()
		t.Errorf("CONNECT through the forward proxy succeeded with %d", resp.StatusCode)
	} else if !strings.Contains(err.Error(), "Forbidden") {
		t.Errorf("CONNECT failed, but not with the proxy's refusal: %v", err)
	}
	if len(n.Legacy["MX"].Received()) != 0 {
		t.Errorf("refused requests reached MX's legacy VUCE")
	}
}

// inboundClient calls MX's partner endpoint as CL would, with the given
// client certificate (nil for none) and password.
type inboundCall struct {
	cert     *tls.Certificate
	user     string
	password string
	sender   string
	tracking string
	body     []byte
}

func TestInbound_Rejections(t *testing.T) {
	n := startNetwork(t, "CL", "MX", "PE")
	pkiDir := n.PKI
	mxCA := mustPool(t, filepath.Join(pkiDir, "MX", "ca.pem"))
	clClient := mustKeyPair(t, filepath.Join(pkiDir, "CL", "client.pem"), filepath.Join(pkiDir, "CL", "client.key"))
	peClient := mustKeyPair(t, filepath.Join(pkiDir, "PE", "client.pem"), filepath.Join(pkiDir, "PE", "client.key"))
	clCfg, err := config.Load(n.Configs["CL"])
	if err != nil {
		t.Fatal(err)
	}
	clPassword := clCfg.Partners["MX"].OutboundAuth.Password

	// A valid document as CL would send it, and variants.
	unsigned := mapSample(t, "CL", "MX")
	clOfficial, err := certs.LoadSigner(filepath.Join(pkiDir, "CL", "official.key"), filepath.Join(pkiDir, "CL", "official.pem"))
	if err != nil {
		t.Fatal(err)
	}
	valid := mustSign(t, clOfficial, unsigned)
	peOfficial, err := certs.LoadSigner(filepath.Join(pkiDir, "PE", "official.key"), filepath.Join(pkiDir, "PE", "official.pem"))
	if err != nil {
		t.Fatal(err)
	}
	clCA := loadCA(t, pkiDir, "CL")
	expiredKP, err := clCA.IssueOfficial("Expired Official", "SAG", devpki.Options{
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	expired := mustSigner(t, expiredKP)
	strangerKP, err := clCA.IssueOfficial("Not An Official", "SAG", devpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stranger := mustSigner(t, strangerKP)

	tampered := bytes.Replace(valid, []byte(legacysim.Sample("CL", "MX", 1, 3).Consignee.Name), []byte("Someone Else S.A."), 1)
	if bytes.Equal(tampered, valid) {
		t.Fatal("tampering did not change the document")
	}
	// Signed by an authorized official, but a package count the schema
	// does not allow (the rules carry it as it is; the code tables catch a
	// bad unit before the schema would), and a number of its own, since a
	// rejected document is recorded under its ID.
	invalid := mustSign(t, clOfficial, mapNative(t, "CL", withWordyPackages(t, legacysim.Sample("CL", "MX", 7, 3))))
	withDTD := []byte(`<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>` + string(valid[bytes.Index(valid, []byte("<rsm:")):]))
	oversize := append(bytes.Repeat([]byte(" "), 9<<20), valid...)

	base := inboundCall{cert: &clClient, user: "CL", password: clPassword, sender: "CL", tracking: "CL-TEST-1", body: valid}
	tests := []struct {
		name   string
		call   func(c inboundCall) inboundCall
		status int
		code   string
	}{
		{"no client certificate", func(c inboundCall) inboundCall { c.cert = nil; return c }, 401, "auth.client-certificate"},
		{"wrong password", func(c inboundCall) inboundCall { c.password = "guess"; return c }, 401, "auth.credentials"},
		{"wrong username", func(c inboundCall) inboundCall { c.user = "MX"; return c }, 401, "auth.credentials"},
		{"PE certificate calling as CL", func(c inboundCall) inboundCall { c.cert = &peClient; return c }, 403, "auth.client-certificate"},
		{"unknown sender", func(c inboundCall) inboundCall { c.sender = "AR"; return c }, 403, "auth.sender"},
		{"tracking ID with markup", func(c inboundCall) inboundCall { c.tracking = "'><script>"; return c }, 400, "request.tracking-id"},
		{"tracking ID too long", func(c inboundCall) inboundCall { c.tracking = strings.Repeat("A", 65); return c }, 400, "request.tracking-id"},
		{"tampered document", func(c inboundCall) inboundCall { c.body = tampered; return c }, 422, "signature.mismatch"},
		{"signer from another country's CA", func(c inboundCall) inboundCall { c.body = mustSign(t, peOfficial, unsigned); return c }, 422, "signature.untrusted"},
		{"expired signer", func(c inboundCall) inboundCall { c.body = mustSign(t, expired, unsigned); return c }, 422, "signature.expired"},
		{"signer not an authorized official", func(c inboundCall) inboundCall { c.body = mustSign(t, stranger, unsigned); return c }, 422, "signature.not-authorized"},
		{"unsigned document", func(c inboundCall) inboundCall { c.body = unsigned; return c }, 422, "signature.missing"},
		{"signed document that breaks the schema", func(c inboundCall) inboundCall { c.body = invalid; return c }, 422, "schema.invalid"},
		{"DTD and entity declaration", func(c inboundCall) inboundCall { c.body = withDTD; return c }, 400, "xml.dtd"},
		{"body over the size limit", func(c inboundCall) inboundCall { c.body = oversize; return c }, 413, "request.too-large"},
	}
	endpoint := "https://" + n.Nodes["MX"].Addr("partners") + wire.DocumentsPath + "sps"
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(n.Legacy["MX"].Received())
			// Each its own tracking ID: one names one document for good.
			c := base
			c.tracking = fmt.Sprintf("CL-TEST-R%d", i)
			c = tt.call(c)
			status, rc := postInbound(t, endpoint, mxCA, c)
			if status != tt.status {
				t.Errorf("status %d, want %d (receipt %+v)", status, tt.status, rc)
			}
			if rc.Outcome == wire.ReceivedCorrectly || len(rc.Reasons) == 0 || rc.Reasons[0].Code != tt.code {
				t.Errorf("receipt %+v, want reason %s", rc, tt.code)
			}
			if after := len(n.Legacy["MX"].Received()); after != before {
				t.Errorf("rejected document reached MX's legacy VUCE")
			}
			failed := false
			for _, e := range n.Events.Events("") {
				if e.Node == "MX" && e.Step == track.Failed && strings.Contains(e.Err, tt.code) {
					failed = true
				}
			}
			if !failed {
				t.Errorf("rejection %s not recorded", tt.code)
			}
		})
	}

	// And the valid call, same client: accepted and handed over once.
	before := len(n.Legacy["MX"].Received())
	status, rc := postInbound(t, endpoint, mxCA, base)
	if status != 200 || rc.Outcome != wire.ReceivedCorrectly || rc.Digest != wire.Digest(valid) {
		t.Fatalf("valid document: status %d, receipt %+v", status, rc)
	}
	if got := len(n.Legacy["MX"].Received()); got != before+1 {
		t.Errorf("valid document handed over %d times", got-before)
	}
}

func postInbound(t *testing.T, endpoint string, roots *x509.CertPool, c inboundCall) (int, wire.Receipt) {
	t.Helper()
	tc := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if c.cert != nil {
		tc.Certificates = []tls.Certificate{*c.cert}
	}
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: tc, Proxy: nil}}
	req, _ := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(c.body))
	req.SetBasicAuth(c.user, c.password)
	req.Header.Set(wire.HeaderSender, c.sender)
	req.Header.Set(wire.HeaderTrackingID, c.tracking)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("Content-Type") == wire.ReceiptContentType {
		// A verdict on a verified document: signed by MX's official.
		v, err := (&certs.Verifier{Roots: roots}).Verify(context.Background(), body)
		if err != nil {
			t.Fatalf("status %d: receipt signature: %v", resp.StatusCode, err)
		}
		rc, err := wire.ParseReceiptXML(v.Element)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, *rc
	}
	var rc wire.Receipt
	if err := json.Unmarshal(body, &rc); err != nil {
		t.Fatalf("status %d without a receipt: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, rc
}

func mapSample(t *testing.T, from, to string) []byte {
	t.Helper()
	return mapCertificate(t, from, legacysim.Sample(from, to, 1, 3))
}

// mapCertificate maps a legacy certificate with from's outbound rules.
func mapCertificate(t *testing.T, from string, c legacysim.Certificate) []byte {
	t.Helper()
	f, _ := legacysim.FormatFor(from)
	native, err := f.Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	return mapNative(t, from, native)
}

// withWordyPackages is CL's payload for c with every package count
// in words: the rules carry it over, and the schema refuses it.
func withWordyPackages(t *testing.T, c legacysim.Certificate) []byte {
	t.Helper()
	f, _ := legacysim.FormatFor("CL")
	native, err := f.Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	out := regexp.MustCompile(`"bultos": ?[0-9]+`).ReplaceAll(native, []byte(`"bultos":"ciento diez"`))
	if bytes.Equal(out, native) {
		t.Fatal("no package count to replace")
	}
	return out
}

// mapNative maps a native payload with from's outbound rules.
func mapNative(t *testing.T, from string, native []byte) []byte {
	t.Helper()
	r, err := mapping.Load(rules.FS, from+"/sps.outbound.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.Map(native)
	if err != nil {
		t.Fatal(err)
	}
	b, err := out.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustSign(t *testing.T, s *certs.Signer, doc []byte) []byte {
	t.Helper()
	b, err := s.Sign(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustSigner(t *testing.T, kp *devpki.KeyPair) *certs.Signer {
	t.Helper()
	s, err := certs.NewSigner(kp.Key, kp.Cert)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustPool(t *testing.T, file string) *x509.CertPool {
	t.Helper()
	p, err := certs.LoadPool(file)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustKeyPair(t *testing.T, cert, key string) tls.Certificate {
	t.Helper()
	kp, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// loadCA reads a country's development CA back from the PKI directory, to
// issue the odd certificates the hostile cases need.
func loadCA(t *testing.T, dir, country string) *devpki.CA {
	t.Helper()
	certPEM, err := os.ReadFile(filepath.Join(dir, country, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, country, "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	kp, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	ca := &devpki.CA{Country: country}
	ca.Cert, ca.CertPEM, ca.KeyPEM = cert, certPEM, keyPEM
	ca.Key = kp.PrivateKey.(*rsa.PrivateKey)
	return ca
}

// Failures on the outbound side answer the legacy caller in its own error
// shape, with the tracking ID, and deliver nothing.
func TestOutbound_Errors(t *testing.T) {
	n := startNetwork(t, "CL", "MX")
	f, _ := legacysim.FormatFor("CL")
	post := func(t *testing.T, body []byte) (int, map[string]any) {
		t.Helper()
		resp, err := http.Post(n.LegacyOutboundURL("CL"), f.ContentType(), bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatalf("status %d: answer is not CL's JSON shape: %v", resp.StatusCode, err)
		}
		if m["estado"] != "ERROR" || !strings.HasPrefix(fmt.Sprint(m["codigoSeguimiento"]), "CL-") {
			t.Errorf("answer %v lacks CL's error shape or tracking ID", m)
		}
		return resp.StatusCode, m
	}
	toAR, _ := f.Encode(legacysim.Sample("CL", "AR", 1, 1))
	invalid := withWordyPackages(t, legacysim.Sample("CL", "MX", 1, 1))

	tests := []struct {
		name   string
		body   []byte
		before func()
		status int
		detail string
	}{
		{"payload the rules cannot map", []byte(`{}`), nil, 422, "required"},
		{"not JSON at all", []byte(`<<<`), nil, 422, "mapping"},
		{"destination is not a partner", toAR, nil, 422, "AR is not a configured partner"},
		{"mapped document breaks the schema", invalid, nil, 422,
			"breaks its schema (fix the rules or the payload): not valid against documents/sps-d13b/SPSCertificate_11p0.xsd (1 violation):\n" +
				"/rsm:SPSCertificate/rsm:SPSConsignment/ram:IncludedSPSConsignmentItem/ram:IncludedSPSTradeLineItem/ram:PhysicalSPSPackage/ram:ItemQuantity: 'ciento diez' is not a valid value"},
		{"payload over the size limit", bytes.Repeat([]byte(" "), 9<<20), nil, 413, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.before != nil {
				tt.before()
			}
			status, m := post(t, tt.body)
			if status != tt.status || !strings.Contains(fmt.Sprint(m["detalle"]), tt.detail) {
				t.Errorf("status %d detail %q, want %d and %q", status, m["detalle"], tt.status, tt.detail)
			}
			if got := len(n.Legacy["MX"].Received()); got != 0 {
				t.Errorf("MX legacy VUCE received %d documents", got)
			}
		})
	}
}

// The whole demo, as README's first command runs it.
func TestDemo_Run(t *testing.T) {
	var out bytes.Buffer
	// Bounded, with room for a loaded machine under -race.
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	if err := Run(ctx, Options{Dir: t.TempDir(), Out: &out}, false); err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	text := out.String()
	if got := strings.Count(text, "received-correctly"); got < len(Trips) {
		t.Errorf("summary shows %d received-correctly, want %d:\n%s", got, len(Trips), text)
	}
	for _, hop := range []string{"accepted", "signed", "verified", "handed-over", "delivered"} {
		if !strings.Contains(text, hop) {
			t.Errorf("trace lacks %q hops", hop)
		}
	}
}

func TestSummary_FailsOnDifferentContent(t *testing.T) {
	var out bytes.Buffer
	results := []Result{
		{From: "CL", To: "MX", DocumentID: "A", Outcome: "received-correctly", Intact: true},
		{From: "MX", To: "PE", DocumentID: "B", Outcome: "received-correctly", Problems: []string{`Items[2].NetWeight: sent "1.5", received "1"`}},
	}
	err := Summary(&out, results)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 documents did not arrive intact") || !strings.Contains(err.Error(), "Items[2].NetWeight") {
		t.Errorf("err = %v", err)
	}
	if !strings.Contains(out.String(), "DIFFERENT") {
		t.Errorf("table does not flag the document:\n%s", out.String())
	}
}

// The partner is down for a while: documents are committed and answered at
// once, pile up as sent with growing backoff, and all arrive exactly once
// when the partner comes back.
func TestPartnerOutage(t *testing.T) {
	n := startNetworkWith(t, Options{Countries: []string{"CL", "MX"}, NoWait: true})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := n.Stop(ctx, "MX"); err != nil {
		t.Fatal(err)
	}
	const docs = 20
	f, _ := legacysim.FormatFor("CL")
	var tracking []string
	for i := range docs {
		status, body, err := legacysim.Send(ctx, http.DefaultClient, n.LegacyOutboundURL("CL"), f, legacysim.Sample("CL", "MX", 100+i, 2))
		if err != nil || status != http.StatusAccepted {
			t.Fatalf("doc %d: status %d err %v: %s", i, status, err, body)
		}
		var m map[string]any
		json.Unmarshal(body, &m)
		tracking = append(tracking, fmt.Sprint(m["codigoSeguimiento"]))
	}
	// While MX is down: every document is "sent", retried with growing waits.
	st := n.Nodes["CL"].Store
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, err := st.Get(ctx, tracking[0])
		if err != nil {
			t.Fatal(err)
		}
		if d.Attempts >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("first document attempted %d times in 20s", d.Attempts)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, id := range tracking {
		d, err := st.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if d.State != "sent" || d.LastError == "" || d.NextTry.IsZero() {
			t.Errorf("%s: state %s, last error %q, next try %v", id, d.State, d.LastError, d.NextTry)
		}
	}
	if got := len(n.Legacy["MX"].Received()); got != 0 {
		t.Fatalf("MX legacy received %d documents while MX was down", got)
	}

	if err := n.Restart("MX", nil); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		done := 0
		for _, id := range tracking {
			if d, _ := st.Get(ctx, id); d != nil && d.State == "received-correctly" {
				done++
			}
		}
		if done == docs {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d received correctly 30s after MX came back", done, docs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	got := n.Legacy["MX"].Received()
	seen := map[string]int{}
	for _, r := range got {
		seen[r.Certificate.ID]++
	}
	if len(got) != docs || len(seen) != docs {
		t.Errorf("MX legacy received %d documents, %d distinct; want %d each", len(got), len(seen), docs)
	}
	hist, err := st.History(ctx, tracking[0])
	if err != nil {
		t.Fatal(err)
	}
	var path []string
	for _, h := range hist {
		path = append(path, string(h.To))
	}
	if strings.Join(path, ",") != "accepted,sent,received-correctly" {
		t.Errorf("history %v", path)
	}
}

// Credentials cannot be guessed at speed: after 20 failures in a minute a
// source is refused outright, right credentials included.
func TestInbound_RateLimitsAuthFailures(t *testing.T) {
	n := startNetwork(t, "CL", "MX")
	mxCA := mustPool(t, filepath.Join(n.PKI, "MX", "ca.pem"))
	clClient := mustKeyPair(t, filepath.Join(n.PKI, "CL", "client.pem"), filepath.Join(n.PKI, "CL", "client.key"))
	clCfg, err := config.Load(n.Configs["CL"])
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "https://" + n.Nodes["MX"].Addr("partners") + wire.DocumentsPath + "sps"
	call := inboundCall{cert: &clClient, user: "CL", password: "guess", sender: "CL", tracking: "CL-RL-1", body: []byte("<x/>")}
	for i := range 20 {
		if status, rc := postInbound(t, endpoint, mxCA, call); status != 401 || rc.Reasons[0].Code != "auth.credentials" {
			t.Fatalf("guess %d: %d %+v", i+1, status, rc)
		}
	}
	status, rc := postInbound(t, endpoint, mxCA, call)
	if status != http.StatusTooManyRequests || rc.Reasons[0].Code != "auth.rate-limited" {
		t.Fatalf("21st guess: %d %+v", status, rc)
	}
	call.password = clCfg.Partners["MX"].OutboundAuth.Password
	if status, _ := postInbound(t, endpoint, mxCA, call); status != http.StatusTooManyRequests {
		t.Errorf("right password during the block: %d, want 429", status)
	}
}

// subsequence reports whether want appears in got in order (not
// necessarily adjacent).
func subsequence(want, got []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// latin1 is a legacy format written in ISO-8859-1 and declared so (in the
// XML declaration and the Content-Type), as legacy systems often write.
type latin1 struct{ legacysim.Format }

func (f latin1) Encode(c legacysim.Certificate) ([]byte, error) {
	b, err := f.Format.Encode(c)
	if err != nil {
		return nil, err
	}
	return charmap.ISO8859_1.NewEncoder().Bytes(bytes.Replace(b, []byte(`encoding="UTF-8"`), []byte(`encoding="ISO-8859-1"`), 1))
}

func (f latin1) ContentType() string { return "application/xml; charset=ISO-8859-1" }

// Mexico's legacy system, writing Latin-1: its certificate reaches Chile's
// legacy system with every accent and ñ intact, through real nodes.
func TestEndToEnd_LegacyXMLInLatin1(t *testing.T) {
	n := startNetwork(t, "CL", "MX")
	mx, _ := legacysim.FormatFor("MX")
	c := legacysim.Sample("MX", "CL", 7, 2)
	c.Inspector = "Begoña Núñez Peñalosa"
	if b, _ := mx.Encode(c); !bytes.Contains(b, []byte(`encoding="UTF-8"`)) {
		t.Fatalf("MX's format no longer declares UTF-8: %.80s", b)
	}
	status, body, err := legacysim.Send(context.Background(), http.DefaultClient, n.LegacyOutboundURL("MX"), latin1{mx}, c)
	if err != nil || status != http.StatusAccepted {
		t.Fatalf("status %d, err %v: %s", status, err, body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(n.Legacy["CL"].Received()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("nothing reached CL's legacy system")
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := n.Legacy["CL"].Received()[0]
	if got.Err != nil {
		t.Fatal(got.Err)
	}
	if ok, diffs := c.Equal(got.Certificate); !ok {
		t.Fatalf("CL received a different certificate: %v", diffs)
	}
}

// Mexico's legacy system reads its certificates in Latin-1
// (legacy.inbound[].charset): Chile's certificate reaches it in Latin-1,
// declared so in the XML and the Content-Type, with every accent and ñ as
// one Latin-1 byte, and reads back equal field by field.
func TestEndToEnd_HandOverInLatin1(t *testing.T) {
	n := startNetworkWith(t, Options{Countries: []string{"CL", "MX"}, NoWait: true, LegacyCharset: map[string]string{"MX": "ISO-8859-1"}})
	cl, _ := legacysim.FormatFor("CL")
	c := legacysim.Sample("CL", "MX", 8, 2)
	c.Inspector = "Begoña Núñez Peñalosa"
	status, body, err := legacysim.Send(context.Background(), http.DefaultClient, n.LegacyOutboundURL("CL"), cl, c)
	if err != nil || status != http.StatusAccepted {
		t.Fatalf("status %d, err %v: %s", status, err, body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(n.Legacy["MX"].Received()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("nothing reached MX's legacy system")
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := n.Legacy["MX"].Received()[0]
	if ct := got.Header.Get("Content-Type"); !strings.Contains(ct, "charset=ISO-8859-1") {
		t.Errorf("Content-Type %q", ct)
	}
	if !bytes.Contains(got.Body, []byte(`encoding="ISO-8859-1"`)) || !bytes.Contains(got.Body, []byte("Bego\xf1a N\xfa\xf1ez")) {
		t.Errorf("the body is not Latin-1: %.300q", got.Body)
	}
	if got.Err != nil {
		t.Fatal(got.Err)
	}
	if ok, diffs := c.Equal(got.Certificate); !ok {
		t.Fatalf("MX received a different certificate: %v", diffs)
	}
}
