package demo

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/config"
	"github.com/vucelink/vucelink/demo/legacysim"
	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/rules"
	"github.com/vucelink/vucelink/store"
	"github.com/vucelink/vucelink/track"
	"github.com/vucelink/vucelink/wire"
)

// do sends one request and returns status, headers and body.
func do(t *testing.T, client *http.Client, req *http.Request) (int, http.Header, string) {
	t.Helper()
	if client == nil {
		client = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{Proxy: nil}}
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func newRequest(t *testing.T, method, u, contentType string, body []byte, header ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return req
}

// TestSecurity_InsideListeners: the legacy listener serves the routes
// only, each to the legacy VUCE's credentials; the admin listener serves
// the API and metrics to authenticated callers only, and records who
// acted by who authenticated.
func TestSecurity_InsideListeners(t *testing.T) {
	n := startNetworkWith(t, Options{Countries: []string{"CL", "MX"}, NoWait: true})
	f, _ := legacysim.FormatFor("CL")
	payload, err := f.Encode(legacysim.Sample("CL", "MX", 501, 1))
	if err != nil {
		t.Fatal(err)
	}
	legacy := "http://" + n.Addrs["CL"]["legacy"]
	route := legacy + legacysim.OutboundPath("CL")
	admin := n.AdminURL("CL")
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

	tests := []struct {
		name     string
		req      *http.Request
		status   int
		contains string
	}{
		// The legacy listener: no API, console or metrics there.
		{"API on the legacy listener", newRequest(t, "GET", legacy+"/api/v1/documents", "", nil, bearer(n.OperatorToken)...), 404, ""},
		{"metrics on the legacy listener", newRequest(t, "GET", legacy+"/metrics", "", nil, bearer(n.ViewerToken)...), 404, ""},
		{"console on the legacy listener", newRequest(t, "GET", legacy+"/console/", "", nil), 404, ""},
		{"healthz on the legacy listener", newRequest(t, "GET", legacy+"/healthz", "", nil), 200, "ok"},
		// Routes ask for the legacy VUCE's credentials.
		{"route without credentials", newRequest(t, "POST", route, f.ContentType(), payload), 401, "route sps-out: no credentials"},
		{"route with a wrong password", withBasic(newRequest(t, "POST", route, f.ContentType(), payload), n.RouteUser, "guess"), 401, "wrong username or password"},
		{"route with the operator's token", newRequest(t, "POST", route, f.ContentType(), payload, bearer(n.OperatorToken)...), 401, `client "ops-tool" is not one this route accepts`},
		{"route with the legacy client's token", newRequest(t, "POST", route, f.ContentType(), payload, bearer(n.LegacyToken)...), 202, "ENVIADO"},
		// The admin listener.
		{"API without credentials", newRequest(t, "GET", admin+"/api/v1/documents", "", nil), 401, "authentication required: no credentials"},
		{"API with a viewer's token", newRequest(t, "GET", admin+"/api/v1/documents", "", nil, bearer(n.ViewerToken)...), 200, `"documents"`},
		{"metrics without credentials", newRequest(t, "GET", admin+"/metrics", "", nil), 401, "authentication required"},
		{"metrics with the legacy VUCE's token", newRequest(t, "GET", admin+"/metrics", "", nil, bearer(n.LegacyToken)...), 403, "metrics are for viewers and operators"},
		{"metrics with a viewer's token", newRequest(t, "GET", admin+"/metrics", "", nil, bearer(n.ViewerToken)...), 200, "vucelink_"},
		{"a viewer pausing a partner", newRequest(t, "POST", admin+"/api/v1/partners/MX/pause", "application/json", []byte(`{}`), bearer(n.ViewerToken)...), 403, "needs the operator role"},
		{"a cross-site form pausing a partner", newRequest(t, "POST", admin+"/api/v1/partners/MX/pause", "text/plain", []byte(`{"reason":"x"}`), "Origin", "http://evil.example"), 403, "cross-site"},
		{"a text/plain post with the operator's token", newRequest(t, "POST", admin+"/api/v1/partners/MX/pause", "text/plain", []byte(`{}`), bearer(n.OperatorToken)...), 415, "application/json"},
		{"readyz for a probe", newRequest(t, "GET", admin+"/readyz", "", nil), 200, `{"ready":true}`},
		{"readyz for a viewer", newRequest(t, "GET", admin+"/readyz", "", nil, bearer(n.ViewerToken)...), 200, `"checks"`},
		{"the console's login page", newRequest(t, "GET", admin+"/console/login", "", nil), 200, "<form"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := do(t, nil, tt.req)
			var p struct{ Detail string }
			if json.Unmarshal([]byte(body), &p) == nil && p.Detail != "" {
				body = p.Detail // a problem document: compare its words
			}
			if status != tt.status || !strings.Contains(body, tt.contains) {
				t.Errorf("got %d %s\nwant %d containing %q", status, truncate(body), tt.status, tt.contains)
			}
		})
	}
	// With the legacy VUCE's basic credentials (in the URL).
	if status, _, body := do(t, nil, newRequest(t, "POST", n.LegacyOutboundURL("CL"), f.ContentType(), mustEncode(t, f, 502))); status != 202 {
		t.Errorf("route with basic credentials: %d %s", status, body)
	}
	// The forward proxy asks for them as a proxy does (407), and takes them
	// from HTTP_PROXY's userinfo.
	target := "http://" + ForwardHost("CL") + legacysim.OutboundPath("CL")
	noCreds, _ := url.Parse("http://" + n.Addrs["CL"]["forward_proxy"])
	status, hdr, body := do(t, &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(noCreds)}},
		newRequest(t, "POST", target, f.ContentType(), mustEncode(t, f, 503)))
	if status != http.StatusProxyAuthRequired || !strings.HasPrefix(hdr.Get("Proxy-Authenticate"), "Basic") {
		t.Errorf("forward proxy without credentials: %d %v %s", status, hdr, body)
	}
	withCreds, _ := url.Parse(n.ForwardProxyURL("CL"))
	if status, _, body := do(t, &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(withCreds)}},
		newRequest(t, "POST", target, f.ContentType(), mustEncode(t, f, 504))); status != 202 {
		t.Errorf("forward proxy with credentials: %d %s", status, body)
	}

	// The hostile calls changed nothing: MX is not paused.
	paused, err := n.Nodes["CL"].Store.Paused(context.Background())
	if err != nil || paused["MX"] {
		t.Fatalf("MX paused by a refused request (%v)", err)
	}
	// An operator acts; the audit trail names the token's client, and a
	// body cannot say otherwise.
	status, _, body = do(t, nil, newRequest(t, "POST", admin+"/api/v1/partners/MX/pause", "application/json", []byte(`{"reason":"drill","actor":"the-president"}`), bearer(n.OperatorToken)...))
	if status != 400 || !strings.Contains(body, "actor: not accepted") {
		t.Errorf("an actor in the body: %d %s", status, body)
	}
	status, _, body = do(t, nil, newRequest(t, "POST", admin+"/api/v1/partners/MX/pause", "application/json", []byte(`{"reason":"drill"}`), bearer(n.OperatorToken)...))
	if status != 200 {
		t.Fatalf("operator pause: %d %s", status, body)
	}
	events, err := n.Nodes["CL"].Store.PartnerEvents(context.Background(), "MX")
	if err != nil || len(events) != 1 || events[0].Actor != "operator:ops-tool" {
		t.Errorf("partner events %+v (%v), want one by operator:ops-tool", events, err)
	}
}

func withBasic(r *http.Request, user, pass string) *http.Request {
	r.SetBasicAuth(user, pass)
	return r
}

func mustEncode(t *testing.T, f legacysim.Format, seq int) []byte {
	t.Helper()
	b, err := f.Encode(legacysim.Sample("CL", "MX", seq, 1))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func truncate(s string) string {
	if len(s) > 400 {
		return s[:400] + "…"
	}
	return s
}

// partnerPost is one partner-side call with everything the answer says:
// status, whether the receipt came signed (and by whom), the receipt.
type partnerAnswer struct {
	status     int
	signed     bool
	retryAfter string
	receipt    wire.Receipt
	raw        string
}

func partnerPost(t *testing.T, n *Network, from, to, docType, tracking string, body []byte) partnerAnswer {
	t.Helper()
	cfg, err := config.Load(n.Configs[from])
	if err != nil {
		t.Fatal(err)
	}
	client := mustKeyPair(t, filepath.Join(n.PKI, from, "client.pem"), filepath.Join(n.PKI, from, "client.key"))
	roots := mustPool(t, filepath.Join(n.PKI, to, "ca.pem"))
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil,
		TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{client}, MinVersion: tls.VersionTLS12}}}
	req, _ := http.NewRequest(http.MethodPost, "https://"+n.Addrs[to]["partners"]+wire.DocumentsPath+docType, bytes.NewReader(body))
	req.SetBasicAuth(from, cfg.Partners[to].OutboundAuth.Password)
	req.Header.Set(wire.HeaderSender, from)
	req.Header.Set(wire.HeaderTrackingID, tracking)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := partnerAnswer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), raw: string(raw)}
	if resp.Header.Get("Content-Type") == wire.ReceiptContentType {
		v, err := (&certs.Verifier{Roots: roots}).Verify(context.Background(), raw)
		if err != nil {
			t.Fatalf("status %d: receipt signature: %v", resp.StatusCode, err)
		}
		rc, err := wire.ParseReceiptXML(v.Element)
		if err != nil {
			t.Fatal(err)
		}
		a.signed, a.receipt = true, *rc
		return a
	}
	if err := json.Unmarshal(raw, &a.receipt); err != nil {
		t.Fatalf("status %d without a receipt: %v: %s", resp.StatusCode, err, raw)
	}
	return a
}

func clSigned(t *testing.T, n *Network, to string, seq int) (legacysim.Certificate, []byte) {
	t.Helper()
	c := legacysim.Sample("CL", to, seq, 2)
	official, err := certs.LoadSigner(filepath.Join(n.PKI, "CL", "official.key"), filepath.Join(n.PKI, "CL", "official.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return c, mustSign(t, official, mapCertificate(t, "CL", c))
}

// TestSecurity_InboundGaps: each hole an outside attack found, closed —
// with its exact reason code, a signed verdict where the partner
// authenticated, and nothing handed to the legacy VUCE that should not be.
func TestSecurity_InboundGaps(t *testing.T) {
	n := startNetworkWith(t, Options{Countries: []string{"CL", "MX", "PE"}, NoWait: true})
	mx := n.Nodes["MX"].Store
	ctx := context.Background()

	t.Run("a certificate addressed to another country", func(t *testing.T) {
		c, toPE := clSigned(t, n, "PE", 601)
		before := len(n.Legacy["MX"].Received())
		a := partnerPost(t, n, "CL", "MX", "sps", "CL-SEC-DEST-1", toPE)
		if a.status != 422 || !a.signed || a.receipt.Outcome != wire.ReceivedWithErrors || a.receipt.Reasons[0].Code != "document.destination" ||
			!strings.Contains(a.receipt.Reasons[0].Message, "addressed to PE, not to MX") {
			t.Fatalf("got %+v", a)
		}
		if len(n.Legacy["MX"].Received()) != before {
			t.Error("MX's legacy VUCE received a certificate addressed to PE")
		}
		d, err := mx.Find(ctx, store.Inbound, "CL", "sps", c.ID)
		if err != nil || d.State != lifecycle.ReceivedWithErrors {
			t.Errorf("not recorded as received with errors: %+v %v", d, err)
		}
	})

	t.Run("a refusal after authentication is signed, recorded and final", func(t *testing.T) {
		_, valid := clSigned(t, n, "MX", 602)
		tampered := bytes.Replace(valid, []byte("<ram:Name>"), []byte("<ram:Name>X"), 1)
		before := len(n.Legacy["MX"].Received())
		a := partnerPost(t, n, "CL", "MX", "sps", "CL-SEC-TAMPER-1", tampered)
		if a.status != 422 || !a.signed || a.receipt.Outcome != wire.ReceivedWithErrors || a.receipt.Reasons[0].Code != "signature.mismatch" ||
			a.receipt.Digest != wire.Digest(tampered) {
			t.Fatalf("got %+v", a)
		}
		d, err := mx.Get(ctx, "CL-SEC-TAMPER-1")
		if err != nil || d.State != lifecycle.ReceivedWithErrors || d.DocumentID != "unverified:CL-SEC-TAMPER-1" || !bytes.Equal(d.Body, tampered) {
			t.Fatalf("recorded as %+v (%v)", d, err)
		}
		// The sender's retry gets the same verdict, signed, without a second
		// verification.
		again := partnerPost(t, n, "CL", "MX", "sps", "CL-SEC-TAMPER-1", tampered)
		if again.status != 422 || !again.signed || again.raw != a.raw {
			t.Errorf("retry: %+v", again)
		}
		if len(n.Legacy["MX"].Received()) != before {
			t.Error("a tampered certificate reached MX's legacy VUCE")
		}
	})

	t.Run("a tracking ID used again for another document", func(t *testing.T) {
		_, first := clSigned(t, n, "MX", 603)
		if a := partnerPost(t, n, "CL", "MX", "sps", "CL-SEC-REUSE-1", first); a.status != 200 {
			t.Fatalf("first: %+v", a)
		}
		before := len(n.Legacy["MX"].Received())
		_, second := clSigned(t, n, "MX", 604)
		a := partnerPost(t, n, "CL", "MX", "sps", "CL-SEC-REUSE-1", second)
		if a.status != 409 || a.receipt.Reasons[0].Code != "request.tracking-id-reused" ||
			!strings.Contains(a.receipt.Reasons[0].Message, "a new document needs a new tracking ID") {
			t.Fatalf("got %+v", a)
		}
		if len(n.Legacy["MX"].Received()) != before {
			t.Error("the second document was handed over")
		}
		// The first one, sent again, is a retry: its own receipt.
		if a := partnerPost(t, n, "CL", "MX", "sps", "CL-SEC-REUSE-1", first); a.status != 200 || len(n.Legacy["MX"].Received()) != before {
			t.Errorf("retry of the first: %+v", a)
		}
	})

	t.Run("receipts keep the legacy VUCE's details on the node", func(t *testing.T) {
		secret := "ORA-12541 vuce-db01.interno.mx:1521"
		n.Legacy["MX"].Fail(http.StatusUnprocessableEntity, "campo pais invalido; "+secret)
		defer n.Legacy["MX"].Fail(0, "")
		_, doc := clSigned(t, n, "MX", 605)
		a := partnerPost(t, n, "CL", "MX", "sps", "CL-SEC-LEAK-1", doc)
		if a.status != 422 || !a.signed || a.receipt.Reasons[0].Code != "legacy.refused" ||
			!strings.Contains(a.receipt.Reasons[0].Message, "(reference ") {
			t.Fatalf("got %+v", a)
		}
		for _, leak := range []string{secret, "campo pais", n.Addrs["MX"]["sim"], legacysim.InboundPath("MX")} {
			if strings.Contains(a.raw, leak) {
				t.Errorf("the receipt carries %q:\n%s", leak, a.raw)
			}
		}
		hist, err := mx.History(ctx, "CL-SEC-LEAK-1")
		if err != nil || len(hist) == 0 || !strings.Contains(hist[len(hist)-1].Reason, secret) {
			t.Errorf("MX's history lacks the details: %+v (%v)", hist, err)
		}

		// A temporary failure: nothing final, a Retry-After, no details.
		n.Legacy["MX"].Fail(http.StatusInternalServerError, "panic at "+secret)
		_, doc = clSigned(t, n, "MX", 606)
		a = partnerPost(t, n, "CL", "MX", "sps", "CL-SEC-LEAK-2", doc)
		if a.status != 503 || a.signed || a.retryAfter == "" || a.receipt.Reasons[0].Code != "legacy.unavailable" || strings.Contains(a.raw, secret) {
			t.Fatalf("got %+v", a)
		}
		logged := false
		for _, e := range n.Events.Events("CL-SEC-LEAK-2") {
			logged = logged || (e.Node == "MX" && e.Step == track.Failed && strings.Contains(e.Err, secret))
		}
		if !logged {
			t.Error("MX's log lacks the details of the temporary failure")
		}
	})

	t.Run("wrong passwords without the partner's certificate lock nobody out", func(t *testing.T) {
		pe := mustKeyPair(t, filepath.Join(n.PKI, "PE", "client.pem"), filepath.Join(n.PKI, "PE", "client.key"))
		roots := mustPool(t, filepath.Join(n.PKI, "MX", "ca.pem"))
		endpoint := "https://" + n.Addrs["MX"]["partners"] + wire.DocumentsPath + "sps"
		for i := range 30 {
			call := inboundCall{cert: &pe, user: "CL", password: "guess", sender: "CL", tracking: fmt.Sprintf("CL-SEC-LOCK-%d", i), body: []byte("<x/>")}
			if status, rc := postInbound(t, endpoint, roots, call); status != 403 || rc.Reasons[0].Code != "auth.client-certificate" {
				t.Fatalf("attempt %d: %d %+v", i, status, rc)
			}
		}
		_, doc := clSigned(t, n, "MX", 607)
		if a := partnerPost(t, n, "CL", "MX", "sps", "CL-SEC-LOCK-OK", doc); a.status != 200 {
			t.Errorf("the real partner after 30 failures by another: %+v", a)
		}
	})
}

// TestSecurity_CODUnsignedContent: a certificate of origin whose two
// signatures verify, carrying an unsigned Header ("CERTIFICADO ANULADO")
// beside them, is refused whole: never handed over, never printed.
func TestSecurity_CODUnsignedContent(t *testing.T) {
	n := startNetworkWith(t, Options{Countries: []string{"CL", "CO"}, NoWait: true})
	std, err := rules.FS.ReadFile("CL/examples/cod/sample.standard.xml")
	if err != nil {
		t.Fatal(err)
	}
	exporter, err := certs.LoadSigner(filepath.Join(n.PKI, "CL", "exporter.key"), filepath.Join(n.PKI, "CL", "exporter.pem"))
	if err != nil {
		t.Fatal(err)
	}
	official, err := certs.LoadSigner(filepath.Join(n.PKI, "CL", "official.key"), filepath.Join(n.PKI, "CL", "official.pem"))
	if err != nil {
		t.Fatal(err)
	}
	signed, err := exporter.SignCODExporter(std)
	if err != nil {
		t.Fatal(err)
	}
	if signed, err = official.SignCODOfficial(signed); err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(signed); err != nil {
		t.Fatal(err)
	}
	root := doc.Root()
	h := etree.NewElement(root.Space + ":Header")
	h.CreateElement("Aviso").SetText("CERTIFICADO ANULADO - NO VALIDO")
	root.InsertChildAt(0, h)
	withHeader, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	before := len(n.Legacy["CO"].Documents("cod"))
	a := partnerPost(t, n, "CL", "CO", "cod", "CL-SEC-COD-1", withHeader)
	if a.status != 422 || !a.signed || a.receipt.Reasons[0].Code != "document.unsigned-content" || !strings.Contains(a.receipt.Reasons[0].Message, "Header") {
		t.Fatalf("got %+v", a)
	}
	if len(n.Legacy["CO"].Documents("cod")) != before {
		t.Error("CO's legacy VUCE received it")
	}
	// The same certificate without the addition is received.
	if a := partnerPost(t, n, "CL", "CO", "cod", "CL-SEC-COD-2", signed); a.status != 200 {
		t.Errorf("the certificate as signed: %+v", a)
	}
}

// TestSecurity_Limits: a partner's share of the node is capped (503 with
// Retry-After past it); a body trickled in is cut off; connections past
// the cap wait.
func TestSecurity_Limits(t *testing.T) {
	n := startNetworkWith(t, Options{Countries: []string{"CL", "MX"}, NoWait: true,
		InflightPerPartner: 1, ReadTimeout: 2 * time.Second, MaxConnections: 6})

	t.Run("in-flight documents per partner", func(t *testing.T) {
		n.Legacy["MX"].Hold(2 * time.Second)
		defer n.Legacy["MX"].Hold(0)
		_, first := clSigned(t, n, "MX", 701)
		_, second := clSigned(t, n, "MX", 702)
		var wg sync.WaitGroup
		var a1 partnerAnswer
		wg.Add(1)
		go func() { defer wg.Done(); a1 = partnerPost(t, n, "CL", "MX", "sps", "CL-SEC-BUSY-1", first) }()
		time.Sleep(700 * time.Millisecond) // the first is being handed over
		a2 := partnerPost(t, n, "CL", "MX", "sps", "CL-SEC-BUSY-2", second)
		wg.Wait()
		if a2.status != 503 || a2.retryAfter != "1" || a2.receipt.Reasons[0].Code != "request.busy" {
			t.Errorf("second while the first is in progress: %+v", a2)
		}
		if a1.status != 200 {
			t.Errorf("first: %+v", a1)
		}
		if a := partnerPost(t, n, "CL", "MX", "sps", "CL-SEC-BUSY-2", second); a.status != 200 {
			t.Errorf("second, retried: %+v", a)
		}
	})

	t.Run("a body trickled in is cut off", func(t *testing.T) {
		client := mustKeyPair(t, filepath.Join(n.PKI, "CL", "client.pem"), filepath.Join(n.PKI, "CL", "client.key"))
		conn, err := tls.Dial("tcp", n.Addrs["MX"]["partners"], &tls.Config{RootCAs: mustPool(t, filepath.Join(n.PKI, "MX", "ca.pem")),
			Certificates: []tls.Certificate{client}, MinVersion: tls.VersionTLS12, ServerName: "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST %ssps HTTP/1.1\r\nHost: mx\r\nContent-Length: 100000\r\n%s: CL\r\n%s: CL-SEC-SLOW-1\r\n\r\n", wire.DocumentsPath, wire.HeaderSender, wire.HeaderTrackingID)
		start := time.Now()
		var werr error
		for i := 0; i < 40 && werr == nil; i++ { // at most 20 s
			time.Sleep(500 * time.Millisecond)
			_, werr = conn.Write([]byte("<"))
			if werr == nil {
				conn.SetReadDeadline(time.Now().Add(time.Millisecond))
				var b [1]byte
				if _, rerr := conn.Read(b[:]); rerr != nil && !isTimeout(rerr) {
					werr = rerr
				}
			}
		}
		if werr == nil {
			t.Fatal("the server still reads a body trickled in for 20 s")
		}
		if took := time.Since(start); took > 8*time.Second {
			t.Errorf("cut off after %s, want about the 2 s read timeout", took)
		}
	})

	t.Run("connections past the cap wait", func(t *testing.T) {
		addr := n.Addrs["MX"]["legacy"]
		var idle []net.Conn
		for range 6 {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			idle = append(idle, c)
		}
		defer func() {
			for _, c := range idle {
				c.Close()
			}
		}()
		time.Sleep(200 * time.Millisecond)
		hc := &http.Client{Timeout: 700 * time.Millisecond, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
		if resp, err := hc.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			t.Fatal("a seventh connection was served while six were open")
		}
		idle[0].Close()
		idle = idle[1:]
		hc.Timeout = 5 * time.Second
		resp, err := hc.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatalf("after one closed: %v", err)
		}
		resp.Body.Close()
	})
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestSecurity_AdminTLSClientCertificates: with TLS on the admin listener,
// an operators' tool authenticates with its client certificate alone; a
// certificate of the same CA that is not a configured client is refused,
// and so is plain HTTP.
func TestSecurity_AdminTLSClientCertificates(t *testing.T) {
	n := startNetworkWith(t, Options{Countries: []string{"CL", "MX"}, NoWait: true, AdminTLS: true})
	roots := mustPool(t, filepath.Join(n.PKI, "CL", "ca.pem"))
	robot := mustKeyPair(t, filepath.Join(n.PKI, "CL", "ops-robot.pem"), filepath.Join(n.PKI, "CL", "ops-robot.key"))
	partnerClient := mustKeyPair(t, filepath.Join(n.PKI, "CL", "client.pem"), filepath.Join(n.PKI, "CL", "client.key"))
	client := func(cert *tls.Certificate) *http.Client {
		tc := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		if cert != nil {
			tc.Certificates = []tls.Certificate{*cert}
		}
		return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{Proxy: nil, TLSClientConfig: tc}}
	}
	admin := n.AdminURL("CL")
	if !strings.HasPrefix(admin, "https://") {
		t.Fatalf("admin URL %s", admin)
	}
	tests := []struct {
		name     string
		client   *http.Client
		req      *http.Request
		status   int
		contains string
	}{
		{"the robot reads", client(&robot), newRequest(t, "GET", admin+"/api/v1/partners", "", nil), 200, `"code": "MX"`},
		{"the robot acts", client(&robot), newRequest(t, "POST", admin+"/api/v1/partners/MX/pause", "application/json", []byte(`{"reason":"certificate drill"}`)), 200, `"pause"`},
		{"a certificate of the CA that is no client", client(&partnerClient), newRequest(t, "GET", admin+"/api/v1/partners", "", nil), 401, "is not a configured client"},
		{"no certificate, no token", client(nil), newRequest(t, "GET", admin+"/api/v1/partners", "", nil), 401, "no credentials"},
		{"no certificate, a token", client(nil), newRequest(t, "GET", admin+"/api/v1/partners", "", nil, "Authorization", "Bearer "+n.ViewerToken), 200, `"code": "MX"`},
		{"the robot, cross-site", client(&robot), newRequest(t, "POST", admin+"/api/v1/partners/MX/resume", "application/json", []byte(`{}`), "Sec-Fetch-Site", "cross-site"), 403, "cross-site"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := do(t, tt.client, tt.req)
			if status != tt.status || !strings.Contains(body, tt.contains) {
				t.Errorf("got %d %s\nwant %d containing %q", status, truncate(body), tt.status, tt.contains)
			}
		})
	}
	events, err := n.Nodes["CL"].Store.PartnerEvents(context.Background(), "MX")
	if err != nil || len(events) != 1 || events[0].Actor != "operator:ops-robot" {
		t.Errorf("partner events %+v (%v), want one pause by operator:ops-robot", events, err)
	}
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + n.Addrs["CL"]["admin"] + "/api/v1/partners"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("plain HTTP on the TLS admin listener answered 200: %s", b)
		}
	}
}

// TestSecurity_LegacyTLSClientCertificates: with TLS on the legacy
// listener, the legacy VUCE authenticates with its client certificate
// alone (role legacy, a route's client) and its document reaches the
// partner; the route's password still works without a certificate; a
// certificate of the same CA that is no client is refused, and so are
// plain HTTP and a server the legacy system does not trust.
func TestSecurity_LegacyTLSClientCertificates(t *testing.T) {
	n := startNetworkWith(t, Options{Countries: []string{"CL", "MX"}, NoWait: true, LegacyTLS: true})
	roots := mustPool(t, filepath.Join(n.PKI, "CL", "ca.pem"))
	vuce := mustKeyPair(t, filepath.Join(n.PKI, "CL", "vuce-legacy.pem"), filepath.Join(n.PKI, "CL", "vuce-legacy.key"))
	partnerClient := mustKeyPair(t, filepath.Join(n.PKI, "CL", "client.pem"), filepath.Join(n.PKI, "CL", "client.key"))
	client := func(cert *tls.Certificate, roots *x509.CertPool) *http.Client {
		tc := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		if cert != nil {
			tc.Certificates = []tls.Certificate{*cert}
		}
		return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{Proxy: nil, TLSClientConfig: tc}}
	}
	withPassword := n.LegacyOutboundURL("CL")
	if !strings.HasPrefix(withPassword, "https://") {
		t.Fatalf("legacy URL %s", withPassword)
	}
	u, _ := url.Parse(withPassword)
	u.User = nil
	bare := u.String()
	f, _ := legacysim.FormatFor("CL")
	for i, tt := range []struct {
		name   string
		client *http.Client
		url    string
		status int
		says   string
	}{
		{"the legacy VUCE's certificate alone", client(&vuce, roots), bare, http.StatusAccepted, ""},
		{"the route's password, no certificate", client(nil, roots), withPassword, http.StatusAccepted, ""},
		{"a certificate of the CA that is no client", client(&partnerClient, roots), bare, http.StatusUnauthorized, "not a configured client"},
		{"no certificate, no password", client(nil, roots), bare, http.StatusUnauthorized, ""},
		{"a configured client of another role (the viewer's token)", bearer(client(nil, roots), n.ViewerToken), bare, http.StatusUnauthorized, "not one this route accepts"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := legacysim.Sample("CL", "MX", 900+i, 1)
			status, body, err := legacysim.Send(context.Background(), tt.client, tt.url, f, c)
			if err != nil || status != tt.status || !strings.Contains(string(body), tt.says) {
				t.Fatalf("status %d err %v: %s\nwant %d containing %q", status, err, truncate(string(body)), tt.status, tt.says)
			}
			_, ferr := n.Nodes["CL"].Store.Find(context.Background(), store.Outbound, "MX", "sps", c.ID)
			if queued := ferr == nil; queued != (tt.status == http.StatusAccepted) {
				t.Fatalf("queued %v after %d", queued, status)
			}
		})
	}
	// Both accepted documents reach MX's legacy system.
	deadline := time.Now().Add(30 * time.Second)
	for len(n.Legacy["MX"].Received()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 2 documents reached MX", len(n.Legacy["MX"].Received()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Plain HTTP, and a client that does not trust the node's server
	// certificate, get nowhere.
	plain := strings.Replace(bare, "https://", "http://", 1)
	if status, body, err := legacysim.Send(context.Background(), http.DefaultClient, plain, f, legacysim.Sample("CL", "MX", 910, 1)); err == nil && status == http.StatusAccepted {
		t.Errorf("plain HTTP on the TLS legacy listener accepted a document: %s", body)
	}
	if _, _, err := legacysim.Send(context.Background(), client(&vuce, x509.NewCertPool()), bare, f, legacysim.Sample("CL", "MX", 911, 1)); err == nil {
		t.Error("a client that does not trust the node's certificate connected")
	}
}

// bearer adds a bearer token to c's requests.
func bearer(c *http.Client, token string) *http.Client {
	next := c.Transport
	c.Transport = roundTripper(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+token)
		return next.RoundTrip(r)
	})
	return c
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestSecurity_LegacyPayloadValues: the exporter's e-mail a payload
// carries is one plain address or the document is refused before it is
// signed (422 naming the field), and values put into the legacy system's
// answer are escaped for its content type.
func TestSecurity_LegacyPayloadValues(t *testing.T) {
	n := startNetworkWith(t, Options{Countries: []string{"CL", "MX"}, NoWait: true})
	f, _ := legacysim.FormatFor("CL")
	for i, bad := range []string{`"Ana" <ana@exporter.example>`, "ana@exporter.example, jefe@exporter.example", "ana@exporter.example\r\nBcc: x@evil.example"} {
		c := legacysim.Sample("CL", "MX", 800+i, 1)
		c.ExporterEmail = bad
		status, body, err := legacysim.Send(context.Background(), http.DefaultClient, n.LegacyOutboundURL("CL"), f, c)
		if err != nil || status != http.StatusUnprocessableEntity || !strings.Contains(string(body), "exporter_email") || !strings.Contains(string(body), "exportador.correo") {
			t.Errorf("%q: %d %v %s", bad, status, err, body)
		}
		if _, err := n.Nodes["CL"].Store.Find(context.Background(), store.Outbound, "MX", "sps", c.ID); err == nil {
			t.Errorf("%q: the document was queued", bad)
		}
	}
	// A certificate number with a quote and a backslash: the JSON answer
	// still parses and gives the number back as it was.
	c := legacysim.Sample("CL", "MX", 810, 1)
	c.ID = `CL-FITO-2026-"810"\x`
	status, body, err := legacysim.Send(context.Background(), http.DefaultClient, n.LegacyOutboundURL("CL"), f, c)
	var answer map[string]any
	if jerr := json.Unmarshal(body, &answer); err != nil || jerr != nil {
		t.Fatalf("%d %v: the answer is not JSON (%v): %s", status, err, jerr, body)
	}
	if status != http.StatusAccepted || answer["numeroCertificado"] != c.ID {
		t.Errorf("numeroCertificado %q, want %q", answer["numeroCertificado"], c.ID)
	}
}
