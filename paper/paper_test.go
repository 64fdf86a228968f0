package paper

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"

	"github.com/vucelink/vucelink/certs/devpki"
	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/store"
)

var now = time.Now().UTC().Truncate(time.Second)

type pki struct {
	ca     *devpki.CA
	signer Signer
	roots  *x509.CertPool
}

func newPKI(t *testing.T, country string) *pki {
	t.Helper()
	ca, err := devpki.NewCA(country)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := ca.IssueOfficial("Ana Inspectora", "SAG", devpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	return &pki{ca: ca, signer: Signer{Key: kp.Key, Chain: []*x509.Certificate{kp.Cert}}, roots: roots}
}

func sampleDoc() *store.Document {
	return &store.Document{TrackingID: "CL-20261125-0123456789abcdef0123", Direction: store.Outbound, Partner: "MX", Type: "sps",
		DocumentID: "CL-2026-000042", State: lifecycle.ReceivedCorrectly, Created: now.Add(-time.Hour),
		Digest: "sha256:" + strings.Repeat("ab", 32), Body: []byte("<x/>")}
}

// rasterize draws the SVG's modules as pixels, 4 per module, as a
// printer would, for a decoder to read back.
func rasterize(t *testing.T, svg string) image.Image {
	t.Helper()
	vb := regexp.MustCompile(`viewBox="0 0 (\d+) (\d+)"`).FindStringSubmatch(svg)
	if vb == nil {
		t.Fatal("no viewBox in the SVG")
	}
	n, _ := strconv.Atoi(vb[1])
	const scale = 4
	img := image.NewGray(image.Rect(0, 0, n*scale, n*scale))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for _, m := range regexp.MustCompile(`M(\d+) (\d+)h(\d+)`).FindAllStringSubmatch(svg, -1) {
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		w, _ := strconv.Atoi(m[3])
		for px := x * scale; px < (x+w)*scale; px++ {
			for py := y * scale; py < (y+1)*scale; py++ {
				img.Set(px, py, color.Gray{0})
			}
		}
	}
	return img
}

func TestPrint_QRDecodesAndVerifies(t *testing.T) {
	p := newPKI(t, "CL")
	pr := &Printer{Country: "CL", BaseURL: "https://verificar.vuce.cl.example/", Signer: func(string) (Signer, error) { return p.signer, nil }}
	d := sampleDoc()
	code, svg, err := pr.Print(d)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := QR(code)
	t.Logf("code: %d characters; QR code %d×%d modules", len(code), q.Size, q.Size)
	img := rasterize(t, svg)
	got, err := Decode(img)
	if err != nil {
		t.Fatal(err)
	}
	if got != code {
		t.Fatalf("decoded %q\nwant    %q", got, code)
	}
	if z := zbarDecode(t, img); z != "" && z != code {
		t.Fatalf("ZBar read %q\nwant      %q", z, code)
	}
	c, err := Verify(got, p.roots, now)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Summary
	if s.DocumentID != d.DocumentID || s.TrackingID != d.TrackingID || s.Issuer != "CL" || s.Destination != "MX" ||
		s.DigestHex() != d.Digest || !s.IssuedAt().Equal(d.Created) || c.Signer.Subject.CommonName != "Ana Inspectora" {
		t.Fatalf("summary %+v signed by %s", s, c.Signer.Subject)
	}
	if !strings.HasPrefix(c.URL, "https://verificar.vuce.cl.example/p/"+d.TrackingID+"/abababab") {
		t.Fatalf("URL %s", c.URL)
	}
}

// Every code must be readable by ZXing (inside many phone scanners) and
// by ZBar (another reader altogether) from the SVG the page carries,
// drawn at 4 pixels a module. mask0-unreadable.txt is a real code whose
// lowest-penalty mask ZXing cannot find (QR's read-back skips it); the
// others are fresh codes, each with its own certificate, since the
// certificate is most of a code's bits.
func TestQR_EveryCodeReadable(t *testing.T) {
	fixture, err := os.ReadFile(filepath.Join("testdata", "mask0-unreadable.txt"))
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]string{"mask0-unreadable.txt": strings.TrimSpace(string(fixture))}
	for i := range 6 {
		p := newPKI(t, "CL")
		pr := &Printer{Country: "CL", BaseURL: "https://verificar.vuce.cl.example/", Signer: func(string) (Signer, error) { return p.signer, nil }}
		code, _, err := pr.Print(sampleDoc())
		if err != nil {
			t.Fatal(err)
		}
		codes["fresh "+strconv.Itoa(i)] = code
	}
	for name, code := range codes {
		t.Run(name, func(t *testing.T) {
			q, err := QR(code)
			if err != nil {
				t.Fatal(err)
			}
			img := rasterize(t, SVG(q, "QR"))
			if got, err := Decode(img); err != nil || got != code {
				t.Errorf("ZXing: %v (read %d of %d characters)", err, len(got), len(code))
			}
			if z := zbarDecode(t, img); z != "" && z != code {
				t.Errorf("ZBar read %d characters, want %d: %q", len(z), len(code), z)
			}
		})
	}
}

// zbarDecode reads the QR code in img with ZBar's zbarimg (Debian's
// zbar-tools), or returns "" when it is not installed and
// VUCELINK_REQUIRE_ZBAR is unset (CI sets it). A code ZBar cannot find
// fails the test.
func zbarDecode(t *testing.T, img image.Image) string {
	t.Helper()
	bin, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv("VUCELINK_REQUIRE_ZBAR") != "" {
			t.Fatal("zbarimg not found but VUCELINK_REQUIRE_ZBAR is set")
		}
		t.Log("zbarimg not installed: codes not read by ZBar")
		return ""
	}
	file := filepath.Join(t.TempDir(), "code.png")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", file)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ZBar found no QR code: %v\n%s", err, stderr.Bytes())
	}
	return strings.TrimSuffix(string(out), "\n")
}

// tamper changes one field of the signed summary and keeps the signature.
func tamper(t *testing.T, code string, change func(*Summary)) string {
	t.Helper()
	page, enc, _ := strings.Cut(code, "#")
	raw, _ := base64.RawURLEncoding.DecodeString(enc)
	var m cose.Sign1Message
	if err := m.UnmarshalCBOR(raw); err != nil {
		t.Fatal(err)
	}
	var s Summary
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

func TestVerify_Refuses(t *testing.T) {
	p := newPKI(t, "CL")
	other := newPKI(t, "CL") // another CA with the same name: a forger's
	d := sampleDoc()
	sign := func(s Signer, base string) string {
		code, _, err := (&Printer{Country: "CL", BaseURL: base, Signer: func(string) (Signer, error) { return s, nil }}).Print(d)
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	good := sign(p.signer, "https://v.example")
	if _, err := Verify(good, p.roots, now); err != nil {
		t.Fatalf("the untouched code: %v", err)
	}
	for _, tt := range []struct {
		name, code string
		says       string
	}{
		{"document number changed", tamper(t, good, func(s *Summary) { s.DocumentID = "CL-2026-000043" }), "verification error"},
		{"destination changed", tamper(t, good, func(s *Summary) { s.Destination = "PE" }), "verification error"},
		{"issue date changed", tamper(t, good, func(s *Summary) { s.Issued++ }), "verification error"},
		{"signed by another CA's official", sign(other.signer, "https://v.example"), "certificate signed by unknown authority"},
		{"URL of another document", strings.Replace(good, d.TrackingID, "CL-20261125-ffffffffffffffffffff", 1), ErrURLMismatch.Error()},
		{"only a URL", strings.Split(good, "#")[0], "nothing after #"},
		{"not base64", "https://v.example/p/x/y#***", "base64url"},
		{"expired", good, "expired"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			at := now
			if tt.name == "expired" {
				at = now.AddDate(30, 0, 0)
			}
			_, err := Verify(tt.code, p.roots, at)
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("error %v, want one saying %q", err, tt.says)
			}
		})
	}
}

type memStore struct {
	docs map[string]*store.Document
	hist map[string][]store.Transition
}

func (m *memStore) Get(_ context.Context, id string) (*store.Document, error) {
	if d, ok := m.docs[id]; ok {
		return d, nil
	}
	return nil, store.ErrNotFound
}
func (m *memStore) History(_ context.Context, id string) ([]store.Transition, error) {
	return m.hist[id], nil
}

func TestPublic_ShowsStatusAndNothingElse(t *testing.T) {
	d := sampleDoc()
	in := &store.Document{TrackingID: "MX-1", Direction: store.Inbound, Partner: "MX", Type: "sps", DocumentID: "MX-9", Digest: d.Digest, State: lifecycle.ReceivedCorrectly}
	st := &memStore{docs: map[string]*store.Document{d.TrackingID: d, in.TrackingID: in}, hist: map[string][]store.Transition{}}
	clock := now
	pub := NewPublic(PublicOptions{Country: "CL", Store: st, PerMinute: 6000, Burst: 1000, Total: 60000,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return clock }})
	srv := httptest.NewServer(pub)
	defer srv.Close()
	get := func(method, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	page := "/p/" + d.TrackingID + "/" + Key(d.Digest)
	status, body := get("GET", page)
	if status != 200 || !strings.Contains(body, `data-status="valid"`) || !strings.Contains(body, "CL-2026-000042") || !strings.Contains(body, d.Digest) {
		t.Fatalf("%d\n%s", status, body)
	}
	d.State = lifecycle.Withdrawn
	if _, body := get("GET", page); !strings.Contains(body, `data-status="withdrawn"`) || !strings.Contains(body, "RETIRADO") || !strings.Contains(body, "WITHDRAWN") {
		t.Fatalf("after the withdrawal:\n%s", body)
	}
	d.State = lifecycle.Replaced
	st.hist[d.TrackingID] = []store.Transition{{To: lifecycle.Replaced, Reason: "replaced by CL-2026-000099: wrong weight"}}
	if _, body := get("GET", page); !strings.Contains(body, "REPLACED by CL-2026-000099") {
		t.Fatalf("after the replacement:\n%s", body)
	}
	for _, tt := range []struct{ method, path string }{
		{"GET", "/p/" + d.TrackingID + "/" + strings.Repeat("0", 32)}, // wrong key
		{"GET", "/p/" + d.TrackingID + "/" + Key(d.Digest)[:31]},      // short key
		{"GET", "/p/" + d.TrackingID},                                 // no key
		{"GET", "/p/MX-1/" + Key(in.Digest)},                          // a received document
		{"GET", "/p/nope/" + Key(d.Digest)},
		{"POST", page},
		{"GET", page + "?x=1"},
		{"GET", "/"}, {"GET", "/console/"}, {"GET", "/api/v1/documents"}, {"GET", "/metrics"},
		{"GET", "/healthz"}, {"GET", "/officials.xml"}, {"GET", "/p/../console/"},
	} {
		if status, _ := get(tt.method, tt.path); status != http.StatusNotFound {
			t.Errorf("%s %s: %d, want 404", tt.method, tt.path, status)
		}
	}
}

func TestPublic_RateLimit(t *testing.T) {
	d := sampleDoc()
	st := &memStore{docs: map[string]*store.Document{d.TrackingID: d}}
	clock := now
	pub := NewPublic(PublicOptions{Country: "CL", Store: st, PerMinute: 30, Burst: 10,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return clock }})
	page := "/p/" + d.TrackingID + "/" + Key(d.Digest)
	do := func(addr string) int {
		req := httptest.NewRequest("GET", page, nil)
		req.RemoteAddr = addr
		w := httptest.NewRecorder()
		pub.ServeHTTP(w, req)
		return w.Code
	}
	for i := range 10 {
		if c := do("203.0.113.7:4000"); c != 200 {
			t.Fatalf("request %d of the burst: %d", i+1, c)
		}
	}
	if c := do("203.0.113.7:4001"); c != http.StatusTooManyRequests {
		t.Fatalf("11th request at once: %d, want 429", c)
	}
	if c := do("198.51.100.1:4000"); c != 200 {
		t.Fatalf("another address: %d", c)
	}
	clock = clock.Add(2 * time.Second) // 30 a minute: one more token
	if c := do("203.0.113.7:4002"); c != 200 {
		t.Fatalf("after 2 s: %d", c)
	}
	if c := do("203.0.113.7:4002"); c != http.StatusTooManyRequests {
		t.Fatalf("again at once: %d", c)
	}
	// The total holds against many addresses.
	pub = NewPublic(PublicOptions{Country: "CL", Store: st, PerMinute: 30, Burst: 10, Total: 60,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return clock }})
	ok := 0
	for i := range 100 {
		req := httptest.NewRequest("GET", page, nil)
		req.RemoteAddr = "192.0.2." + strconv.Itoa(i) + ":1"
		w := httptest.NewRecorder()
		pub.ServeHTTP(w, req)
		if w.Code == 200 {
			ok++
		}
	}
	if ok > 10 {
		t.Fatalf("%d of 100 addresses served at once with a total of 60 a minute (burst 10)", ok)
	}
}

func TestStatusOf(t *testing.T) {
	for st, want := range map[lifecycle.State]string{
		lifecycle.Accepted: "valid", lifecycle.ReceivedCorrectly: "valid", lifecycle.HandledOnPaper: "valid", lifecycle.Incomplete: "valid",
		lifecycle.Used: "used", lifecycle.Withdrawn: "withdrawn", lifecycle.ReplacementRequested: "replacement-requested",
		lifecycle.ReceivedWithErrors: "refused", lifecycle.Replaced: "replaced",
	} {
		if got := StatusOf(&store.Document{State: st}, nil).Code; got != want {
			t.Errorf("%s: %s, want %s", st, got, want)
		}
	}
	_ = errors.New
}
