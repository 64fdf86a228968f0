package console

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/certs/devpki"
	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/ops"
	"github.com/vucelink/vucelink/store"
	"github.com/vucelink/vucelink/xmlsafe"
)

// clock is a settable time source shared by the console and the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	srv   *httptest.Server
	store *store.SQLite
	clock *clock
}

const sampleXML = `<rsm:SPSCertificate xmlns:rsm="urn:un:unece:uncefact:data:standard:SPSCertificate:11" xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:14"><rsm:SPSExchangedDocument><ram:ID>CL-2026-000042</ram:ID><ram:IssueDateTime>2026-11-25T10:00:00Z</ram:IssueDateTime></rsm:SPSExchangedDocument><rsm:SPSConsignment><ram:ConsignorSPSParty><ram:Name>Frutícola del Valle &amp; Cía</ram:Name></ram:ConsignorSPSParty><ram:IncludedSPSConsignmentItem><ram:IncludedSPSTradeLineItem><ram:Description languageID="es">Uvas frescas</ram:Description></ram:IncludedSPSTradeLineItem></ram:IncludedSPSConsignmentItem></rsm:SPSConsignment></rsm:SPSCertificate>`

// signedSample signs sampleXML with a development official of Chile.
func signedSample(t *testing.T) []byte {
	t.Helper()
	ca, err := devpki.NewCA("CL")
	if err != nil {
		t.Fatal(err)
	}
	kp, err := ca.IssueOfficial("Ana Inspectora", "SAG", devpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := certs.NewSigner(kp.Key, kp.Cert)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := xmlsafe.Parse([]byte(sampleXML), xmlsafe.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := signer.SignElement(doc.Root())
	if err != nil {
		t.Fatal(err)
	}
	doc.SetRoot(signed)
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hash(t *testing.T, pw string) []byte {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func setup(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "console.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	body := signedSample(t)
	for _, d := range []*store.Document{
		{TrackingID: "CL-T1", Direction: store.Outbound, Partner: "MX", DocumentID: "CL-2026-000042", State: lifecycle.Incomplete, Body: body},
		{TrackingID: "CL-T2", Direction: store.Outbound, Partner: "PE", DocumentID: "CL-2026-000043", State: lifecycle.ReceivedCorrectly, Body: body},
		{TrackingID: "MX-T9", Direction: store.Inbound, Partner: "MX", DocumentID: "MX-2026-9", State: lifecycle.ReceivedCorrectly, Body: body},
	} {
		d.Type, d.Digest, d.Created = "sps", "sha256:"+d.TrackingID, clk.now()
		if _, err := st.Add(ctx, d, "test", "fixture"); err != nil {
			t.Fatal(err)
		}
	}
	partners := []string{"MX", "PE"}
	c, err := New(Options{
		Country: "CL", Partners: partners, Store: st,
		Ops: &ops.Service{Store: st, Partners: partners, Now: clk.now},
		Users: []User{
			{Name: "ana", Role: Operator, PasswordHash: hash(t, "operator-secret")},
			{Name: "victor", Role: Viewer, PasswordHash: hash(t, "viewer-secret")},
		},
		Health: func() []PartnerHealth {
			return []PartnerHealth{{Partner: "MX", State: "unreachable", ConsecutiveFailures: 7, LastError: "connection refused"}}
		},
		Expiry: func() []Expiring {
			return []Expiring{{Kind: "signing", Subject: "CN=Ana", NotAfter: clk.now().Add(10 * 24 * time.Hour)}}
		},
		InsecureCookies: true,
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:             clk.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, store: st, clock: clk}
}

// browser is a client with a cookie jar that does not follow redirects.
type browser struct {
	t      *testing.T
	base   string
	client *http.Client
}

func (f *fixture) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: f.srv.URL, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values, header ...string) response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(raw)}
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in page:\n%s", page)
	}
	return m[1]
}

// login logs in and returns the session's CSRF token.
func (b *browser) login(user, password string) string {
	b.t.Helper()
	form := b.do("GET", "/console/login", nil)
	r := b.do("POST", "/console/login", url.Values{"csrf": {csrfOf(b.t, form.body)}, "username": {user}, "password": {password}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/console/" {
		b.t.Fatalf("login as %s: %d %s\n%s", user, r.status, r.header.Get("Location"), r.body)
	}
	return csrfOf(b.t, b.do("GET", "/console/", nil).body)
}

func TestSecurityHeaders(t *testing.T) {
	f := setup(t)
	b := f.browser(t)
	for _, path := range []string{"/console/login", "/console/", "/console/nope"} {
		r := b.do("GET", path, nil)
		for h, want := range map[string]string{
			"X-Frame-Options":        "DENY",
			"X-Content-Type-Options": "nosniff",
			"Cache-Control":          "no-store",
		} {
			if got := r.header.Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", path, h, got, want)
			}
		}
		if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
	}
}

func TestLogin(t *testing.T) {
	f := setup(t)
	tests := []struct {
		name       string
		user, pass string
		csrf       func(string) string
		status     int
		says       string
	}{
		{"wrong password", "ana", "guess", func(tok string) string { return tok }, http.StatusUnauthorized, "Wrong user name or password."},
		{"unknown user", "mallory", "operator-secret", func(tok string) string { return tok }, http.StatusUnauthorized, "Wrong user name or password."},
		{"form not from this console", "ana", "operator-secret", func(string) string { return "forged" }, http.StatusForbidden, "did not come from this console"},
		{"right password", "ana", "operator-secret", func(tok string) string { return tok }, http.StatusSeeOther, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := f.browser(t)
			tok := csrfOf(t, b.do("GET", "/console/login", nil).body)
			r := b.do("POST", "/console/login", url.Values{"csrf": {tt.csrf(tok)}, "username": {tt.user}, "password": {tt.pass}})
			if r.status != tt.status || !strings.Contains(r.body, tt.says) {
				t.Fatalf("status %d, want %d; body:\n%s", r.status, tt.status, r.body)
			}
			if strings.Contains(r.body, tt.pass) && tt.pass != "" {
				t.Error("the page echoes the password")
			}
		})
	}
}

func TestLogin_RateLimited(t *testing.T) {
	f := setup(t)
	b := f.browser(t)
	for i := 0; i < 10; i++ {
		tok := csrfOf(t, b.do("GET", "/console/login", nil).body)
		if r := b.do("POST", "/console/login", url.Values{"csrf": {tok}, "username": {"ana"}, "password": {"guess"}}); r.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, r.status)
		}
	}
	tok := csrfOf(t, b.do("GET", "/console/login", nil).body)
	if r := b.do("POST", "/console/login", url.Values{"csrf": {tok}, "username": {"ana"}, "password": {"operator-secret"}}); r.status != http.StatusTooManyRequests {
		t.Fatalf("11th attempt, even with the right password: %d, want 429", r.status)
	}
	f.clock.add(61 * time.Second)
	b.login("ana", "operator-secret")
}

func TestNeedsLogin_AndNoOpenRedirect(t *testing.T) {
	f := setup(t)
	b := f.browser(t)
	r := b.do("GET", "/console/documents?state=incomplete", nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/console/login?next=%2Fconsole%2Fdocuments%3Fstate%3Dincomplete" {
		t.Fatalf("%d %s", r.status, r.header.Get("Location"))
	}
	if r := b.do("POST", "/console/documents/CL-T1/resend", url.Values{"csrf": {"x"}}); r.status != http.StatusUnauthorized {
		t.Fatalf("POST without a session: %d", r.status)
	}
	for next, want := range map[string]string{
		"/console/documents?state=incomplete": "/console/documents?state=incomplete",
		"//evil.example/console/":             "/console/",
		"https://evil.example/console/":       "/console/",
		"/elsewhere":                          "/console/",
	} {
		b := f.browser(t)
		tok := csrfOf(t, b.do("GET", "/console/login?next="+url.QueryEscape(next), nil).body)
		r := b.do("POST", "/console/login", url.Values{"csrf": {tok}, "username": {"ana"}, "password": {"operator-secret"}, "next": {next}})
		if got := r.header.Get("Location"); got != want {
			t.Errorf("next %q: redirected to %q, want %q", next, got, want)
		}
	}
}

func TestPages(t *testing.T) {
	f := setup(t)
	b := f.browser(t)
	b.login("victor", "viewer-secret")
	tests := []struct {
		path     string
		contains []string
		lacks    []string
	}{
		{"/console/", []string{"<strong>1</strong> incomplete", "unreachable", "7 failed attempts", "connection refused", "renew soon"}, nil},
		{"/console/documents?direction=outbound&state=incomplete", []string{"Incomplete documents", "CL-2026-000042"}, []string{"CL-2026-000043", "MX-2026-9"}},
		{"/console/documents?direction=inbound", []string{"Incoming documents", "MX-2026-9"}, []string{"CL-2026-000042"}},
		{"/console/documents?q=CL-2026-00004", []string{"CL-2026-000042", "CL-2026-000043"}, []string{"MX-2026-9"}},
		{"/console/documents?state=lost&partner=AR", []string{`Unknown state &#34;lost&#34;`, `&#34;AR&#34; is not a partner`}, nil},
		{"/console/documents/CL-T1", []string{"incomplete", "CL-T1", "Printable version", "may look but not act", "<strong>test</strong>: fixture"}, []string{`action="/console/documents/CL-T1/resend"`}},
		{"/console/partners", []string{"MX", "PE", "unreachable"}, []string{`action="/console/partners/MX/pause"`}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := b.do("GET", tt.path, nil)
			if r.status != http.StatusOK {
				t.Fatalf("status %d\n%s", r.status, r.body)
			}
			for _, c := range tt.contains {
				if !strings.Contains(r.body, c) {
					t.Errorf("page lacks %q", c)
				}
			}
			for _, c := range tt.lacks {
				if strings.Contains(r.body, c) {
					t.Errorf("page has %q", c)
				}
			}
		})
	}
}

func TestActions(t *testing.T) {
	f := setup(t)
	ctx := context.Background()

	viewer := f.browser(t)
	vtok := viewer.login("victor", "viewer-secret")
	if r := viewer.do("POST", "/console/documents/CL-T1/resend", url.Values{"csrf": {vtok}}); r.status != http.StatusForbidden {
		t.Fatalf("viewer resend: %d", r.status)
	}

	op := f.browser(t)
	tok := op.login("ana", "operator-secret")
	if r := op.do("POST", "/console/documents/CL-T1/resend", url.Values{"csrf": {"forged"}}); r.status != http.StatusForbidden {
		t.Fatalf("forged CSRF: %d", r.status)
	}
	if r := op.do("POST", "/console/documents/CL-T1/resend", url.Values{"csrf": {tok}}, "Sec-Fetch-Site", "cross-site"); r.status != http.StatusForbidden {
		t.Fatalf("cross-site POST: %d", r.status)
	}
	if d, _ := f.store.Get(ctx, "CL-T1"); d.State != lifecycle.Incomplete {
		t.Fatalf("a refused request changed the document: %s", d.State)
	}

	steps := []struct {
		path, reason string
		status       int
		doc          string
		want         lifecycle.State
	}{
		{"/console/documents/CL-T1/resend", "partner back", http.StatusSeeOther, "CL-T1", lifecycle.Sent},
		{"/console/documents/CL-T1/paper", "outage over 24 h", http.StatusSeeOther, "CL-T1", lifecycle.HandledOnPaper},
		{"/console/documents/CL-T1/resend", "", http.StatusConflict, "CL-T1", lifecycle.HandledOnPaper},
		{"/console/documents/CL-T2/withdraw", "wrong consignee", http.StatusSeeOther, "CL-T2", lifecycle.Withdrawn},
		{"/console/documents/MX-T9/request-replacement", "weight differs", http.StatusSeeOther, "MX-T9", lifecycle.ReplacementRequested},
		{"/console/documents/MX-T9/explode", "", http.StatusNotFound, "MX-T9", lifecycle.ReplacementRequested},
	}
	for _, s := range steps {
		r := op.do("POST", s.path, url.Values{"csrf": {tok}, "reason": {s.reason}})
		if r.status != s.status {
			t.Fatalf("%s: status %d, want %d\n%s", s.path, r.status, s.status, r.body)
		}
		d, _ := f.store.Get(ctx, s.doc)
		if d.State != s.want {
			t.Fatalf("%s: state %s, want %s", s.path, d.State, s.want)
		}
		if s.status == http.StatusSeeOther {
			hist, _ := f.store.History(ctx, s.doc)
			last := hist[len(hist)-1]
			if last.Actor != "operator:ana" || (s.reason != "" && !strings.Contains(last.Reason, s.reason)) {
				t.Errorf("%s: audit trail %+v", s.path, last)
			}
			page := op.do("GET", r.header.Get("Location"), nil)
			if !strings.Contains(page.body, `role="status"`) {
				t.Errorf("%s: no confirmation on the page", s.path)
			}
		}
	}

	for _, a := range []string{"pause", "resend", "resume"} {
		if r := op.do("POST", "/console/partners/MX/"+a, url.Values{"csrf": {tok}, "reason": {"drill"}}); r.status != http.StatusSeeOther {
			t.Fatalf("partner %s: %d %s", a, r.status, r.body)
		}
	}
	ev, _ := f.store.PartnerEvents(ctx, "MX")
	if len(ev) != 3 || ev[0].Action != "pause" || ev[0].Actor != "operator:ana" || ev[2].Action != "resume" {
		t.Errorf("partner audit trail %+v", ev)
	}
}

func TestSessionExpires(t *testing.T) {
	f := setup(t)
	b := f.browser(t)
	tok := b.login("ana", "operator-secret")
	f.clock.add(14 * time.Minute)
	if r := b.do("GET", "/console/", nil); r.status != http.StatusOK {
		t.Fatalf("active session: %d", r.status)
	}
	f.clock.add(16 * time.Minute)
	if r := b.do("GET", "/console/", nil); r.status != http.StatusSeeOther {
		t.Fatalf("after 16 idle minutes: %d, want a redirect to the login", r.status)
	}
	if r := b.do("POST", "/console/documents/CL-T1/resend", url.Values{"csrf": {tok}}); r.status != http.StatusUnauthorized {
		t.Fatalf("action after expiry: %d", r.status)
	}

	// An active session still ends after the absolute maximum (8 h).
	b.login("ana", "operator-secret")
	for i := 0; i < 8*6+1; i++ {
		f.clock.add(10 * time.Minute)
		b.do("GET", "/console/", nil)
	}
	if r := b.do("GET", "/console/", nil); r.status != http.StatusSeeOther {
		t.Fatalf("after 8 busy hours: %d", r.status)
	}

	b.login("ana", "operator-secret")
	b.do("POST", "/console/logout", url.Values{"csrf": {csrfOf(t, b.do("GET", "/console/", nil).body)}})
	if r := b.do("GET", "/console/", nil); r.status != http.StatusSeeOther {
		t.Fatalf("after logout: %d", r.status)
	}
}

func TestPrint(t *testing.T) {
	f := setup(t)
	b := f.browser(t)
	b.login("victor", "viewer-secret")
	r := b.do("GET", "/console/documents/CL-T1/print", nil)
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	for _, want := range []string{
		"CL-T1", "CL-2026-000042", "sha256:CL-T1", // tracking ID, document ID, digest
		"Consignor SPS Party", "Frutícola del Valle &amp; Cía", "Uvas frescas (language ID: es)",
		"Issue Date Time", "Ana Inspectora", // the signer, from the signature's certificate
		"printed for paper fallback",
	} {
		if !strings.Contains(strings.ToLower(r.body), strings.ToLower(want)) {
			t.Errorf("printable page lacks %q", want)
		}
	}
	if strings.Contains(r.body, "SignatureValue") || strings.Contains(r.body, "<nav") {
		t.Error("the printable page shows the signature's internals or the navigation")
	}
}

func TestLabel(t *testing.T) {
	for in, want := range map[string]string{
		"ConsignorSPSParty": "Consignor SPS Party",
		"IssueDateTime":     "Issue Date Time",
		"ID":                "ID",
		"languageID":        "language ID",
		"CODEH":             "CODEH",
	} {
		if got := label(in); got != want {
			t.Errorf("label(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRender_UnverifiedShowsNothing: a received document that failed
// verification is kept as evidence, but its content is never rendered as
// if it were a certificate.
func TestRender_UnverifiedShowsNothing(t *testing.T) {
	body := []byte(`<rsm:SPSCertificate xmlns:rsm="urn:x"><rsm:Note>CERTIFICADO VALIDO - ACEPTAR</rsm:Note></rsm:SPSCertificate>`)
	p := Render(&store.Document{Direction: store.Inbound, DocumentID: store.UnverifiedPrefix + "CL-1", TrackingID: "CL-1", Body: body})
	if p.Root != nil || len(p.Problems) != 1 || p.Problems[0].ID != "print.unverified" {
		t.Fatalf("rendered %+v", p)
	}
	// The same body as an ordinary document is rendered (the guard, not
	// the body, hides it).
	if p := Render(&store.Document{Direction: store.Inbound, DocumentID: "CL-1", Body: body}); p.Root == nil {
		t.Fatal("an ordinary document was not rendered")
	}
}
