package demo

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"image/png"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"

	"github.com/vucelink/vucelink/evidence"
	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/paper"
)

func caPool(t *testing.T, n *Network, countries ...string) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	for _, cc := range countries {
		b, err := os.ReadFile(filepath.Join(n.PKI, cc, "ca.pem"))
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := pem.Decode(b)
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		pool.AddCert(c)
	}
	return pool
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A busy node's console in both languages, charts included; a paper copy
// whose QR code, read back from the rendered page by an independent
// decoder, verifies offline and names a public page that follows the
// document's status (withdrawn after the operator withdraws it), on a
// listener that serves nothing else and limits how often it is asked;
// and the document's evidence bundle, which verifies whole and names a
// member changed after export.
func TestConsole_BrowserBilingualChartsAndPaper(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	ctx := browserContext(t)
	n := startNetworkWith(t, Options{Countries: []string{"CL", "CO", "MX", "PE"}, NoWait: true})
	tid := sendNative(t, n, 1)
	waitState(t, n, "CL", tid, lifecycle.ReceivedCorrectly)
	began := time.Now()
	seeded := seedTraffic(t, n.Nodes["CL"].Store, "CL", time.Now())
	t.Logf("seeded %d documents in %s", seeded, time.Since(began).Round(time.Millisecond))
	base := n.ConsoleURL("CL")
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return v
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "operator"),
		chromedp.SendKeys(chromedp.CSS("#password"), n.ConsolePassword),
		chromedp.Click(chromedp.CSS(`form.login button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".charts")),
	); err != nil {
		t.Fatal(err)
	}

	// Both languages, switched by the user: every page's words change,
	// and the charts are drawn (three, each with a title and a table).
	for _, lang := range []struct{ code, h1, nav, file string }{
		{"es", "Resumen", "Tráfico", "console.es.png"},
		{"en", "Overview", "Traffic", "console.png"},
	} {
		if err := chromedp.Do(ctx,
			chromedp.Navigate(base+"language?to="+lang.code+"&next=/console/"),
			chromedp.WaitVisible(chromedp.CSS(".charts")),
		); err != nil {
			t.Fatal(err)
		}
		if h := text("main h1"); h != lang.h1 {
			t.Fatalf("%s: heading %q, want %q", lang.code, h, lang.h1)
		}
		if nav := text(`nav[aria-label="Main"]`); !strings.Contains(nav, lang.nav) {
			t.Fatalf("%s: navigation %q", lang.code, nav)
		}
		charts, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('svg.chart-svg[role=img] title').length`))
		if err != nil || charts != 3 {
			t.Fatalf("%s: %d charts with a title (%v)", lang.code, charts, err)
		}
		// The lines are drawn: points across the day, not an empty frame.
		points, err := chromedp.Run(ctx, chromedp.Evaluate[int](`[...document.querySelectorAll('#chart-documents polyline')].reduce((n, p) => n + p.points.numberOfItems, 0)`))
		if err != nil || points < 40 {
			t.Fatalf("%s: the documents chart has %d points (%v)", lang.code, points, err)
		}
		screenshot(t, ctx, lang.file)
		if err := chromedp.Do(ctx,
			chromedp.Navigate(base+"traffic?partner=MX&range=7d"),
			chromedp.WaitVisible(chromedp.CSS(".charts")),
		); err != nil {
			t.Fatal(err)
		}
		screenshot(t, ctx, "console-traffic-MX-7d."+lang.code+".png")
	}

	// The paper copy: its QR code, as the browser draws it, read by
	// ZXing's decoder (not the encoder's code).
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(1280, 1800),
		chromedp.Navigate(base+"documents/"+tid+"/print"),
		chromedp.WaitVisible(chromedp.CSS(".qr svg")),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "paper.png")
	// Scaled up as a printer would (the page shows it 6 cm wide on paper).
	shot, err := chromedp.Run(ctx, chromedp.ScreenshotScale(chromedp.CSS(".qr svg"), 4))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	code, err := paper.Decode(img)
	if err != nil {
		os.WriteFile(filepath.Join(t.ArtifactDir(), "qr.png"), shot, 0o644)
		t.Fatalf("decoding the printed QR code: %v", err)
	}
	clCA := caPool(t, n, "CL")
	checked, err := paper.Verify(code, clCA, time.Now())
	if err != nil {
		t.Fatalf("verify-paper refuses the printed code: %v", err)
	}
	d, _ := n.Nodes["CL"].Store.Get(context.Background(), tid)
	if checked.Summary.DocumentID != d.DocumentID || checked.Summary.DigestHex() != d.Digest || checked.Summary.Destination != "MX" {
		t.Fatalf("summary %+v, document %s %s", checked.Summary, d.DocumentID, d.Digest)
	}
	if _, err := paper.Verify(changeField(t, code, func(s *paper.Summary) { s.Destination = "PE" }), clCA, time.Now()); err == nil {
		t.Fatal("verify-paper accepts the code with its destination changed")
	}
	if _, err := paper.Verify(code, caPool(t, n, "MX"), time.Now()); err == nil {
		t.Fatal("verify-paper accepts the code against another country's CA")
	}

	// The public page, before and after the operator withdraws it.
	if status, body := httpGet(t, checked.URL); status != 200 || !strings.Contains(body, `data-status="valid"`) || !strings.Contains(body, d.DocumentID) {
		t.Fatalf("public page: %d\n%s", status, body)
	}
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(1280, 1000),
		chromedp.Navigate(base+"documents/"+tid),
		chromedp.WaitVisible(chromedp.CSS("#reason-withdraw")),
		chromedp.SendKeys(chromedp.CSS("#reason-withdraw"), "wrong consignee"),
		chromedp.Click(chromedp.CSS("#do-withdraw")),
		chromedp.WaitVisible(chromedp.CSS(`p[role="status"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if status, body := httpGet(t, checked.URL); status != 200 || !strings.Contains(body, `data-status="withdrawn"`) || !strings.Contains(body, "WITHDRAWN") {
		t.Fatalf("public page after the withdrawal: %d\n%s", status, body)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(checked.URL), chromedp.WaitVisible(chromedp.CSS("#status"))); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "public-page.png")

	// The evidence bundle, from the console's link (operators only).
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"documents/"+tid), chromedp.WaitVisible(chromedp.CSS("#evidence"))); err != nil {
		t.Fatalf("no evidence link for an operator: %v", err)
	}
	resp, err := n.AdminRequest(context.Background(), "CL", "GET", "/api/v1/documents/"+tid+"/evidence", n.OperatorToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	bundle, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("evidence: %d %s", resp.StatusCode, bundle)
	}
	roots := caPool(t, n, "CL", "MX")
	r, err := evidence.Verify(context.Background(), bundle, roots)
	if err != nil || !r.OK() {
		t.Fatalf("the exported bundle does not verify: %v %+v", err, r.Failed())
	}
	zr, _ := zip.NewReader(bytes.NewReader(bundle), int64(len(bundle)))
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	t.Logf("evidence bundle: %d bytes, %v", len(bundle), names)
	if !strings.Contains(strings.Join(names, " "), "status/01-outbound-withdrawn.xml") || !strings.Contains(strings.Join(names, " "), evidence.ReceiptMember) {
		t.Errorf("the bundle lacks the withdrawal or the receipt: %v", names)
	}
	altered := alterMember(t, bundle, evidence.HistoryMember)
	if r, _ := evidence.Verify(context.Background(), altered, roots); r == nil || r.OK() || r.Failed()[0].Member != evidence.HistoryMember {
		t.Fatalf("an altered history.json: %+v", r)
	}
	if resp, _ := n.AdminRequest(context.Background(), "CL", "GET", "/api/v1/documents/"+tid+"/evidence", n.ViewerToken, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a viewer's token exports evidence: %d", resp.StatusCode)
	}

	// The public listener serves the page and nothing else, and limits
	// each address (30 a minute, bursts of 10).
	pub := "http://" + n.Addrs["CL"]["public"]
	// From another loopback address: this one has used its burst above.
	other := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext}}
	for _, path := range []string{"/", "/console/", "/api/v1/documents", "/metrics", "/healthz", "/readyz", "/officials.xml", "/p/" + tid} {
		resp, err := other.Get(pub + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if status := resp.StatusCode; status != http.StatusNotFound {
			t.Errorf("public listener %s: %d, want 404", path, status)
		}
	}
	limited := 0
	for range 20 {
		if status, _ := httpGet(t, checked.URL); status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("20 requests at once from one address were all served")
	}
}

// changeField changes one field of a code's signed summary, keeping the
// signature.
func changeField(t *testing.T, code string, change func(*paper.Summary)) string {
	t.Helper()
	page, enc, _ := strings.Cut(code, "#")
	raw, _ := base64.RawURLEncoding.DecodeString(enc)
	var m cose.Sign1Message
	if err := m.UnmarshalCBOR(raw); err != nil {
		t.Fatal(err)
	}
	var s paper.Summary
	if err := cbor.Unmarshal(m.Payload, &s); err != nil {
		t.Fatal(err)
	}
	change(&s)
	m.Payload, _ = cbor.Marshal(&s)
	out, err := m.MarshalCBOR()
	if err != nil {
		t.Fatal(err)
	}
	return page + "#" + base64.RawURLEncoding.EncodeToString(out)
}

// alterMember flips one bit of a bundle member.
func alterMember(t *testing.T, bundle []byte, member string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(bundle), int64(len(bundle)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		if f.Name == member {
			b[len(b)/2] ^= 1
		}
		w, _ := zw.Create(f.Name)
		w.Write(b)
	}
	zw.Close()
	return buf.Bytes()
}
