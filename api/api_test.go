package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vucelink/vucelink/access"
	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/ops"
	"github.com/vucelink/vucelink/store"
)

type recorded struct{ docs []*store.Document }

func (r *recorded) Wake(string) {}

// StatusMessage records the change a message is written for (the
// document as it will be once changed).
func (r *recorded) StatusMessage(d *store.Document, to lifecycle.State, _, _ string, at time.Time) (*store.Document, error) {
	changed := *d
	changed.State = to
	r.docs = append(r.docs, &changed)
	return &store.Document{TrackingID: "msg-" + d.TrackingID + "-" + string(to), Direction: store.Outbound, Partner: d.Partner,
		Type: "status", DocumentID: d.DocumentID + "/" + string(to), Digest: "m", State: lifecycle.Accepted, NextTry: at, Created: at}, nil
}

// Tokens of the test's callers, one per role.
var (
	operatorToken, operatorHash = access.NewToken()
	viewerToken, viewerHash     = access.NewToken()
	legacyToken, legacyHash     = access.NewToken()
)

func setup(t *testing.T) (*httptest.Server, *recorded) {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "api.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	st.Add(ctx, &store.Document{TrackingID: "CL-1", Direction: store.Outbound, Partner: "MX", Type: "sps", DocumentID: "A", Digest: "d", State: lifecycle.Accepted, Created: t0}, "legacy", "accepted")
	st.Add(ctx, &store.Document{TrackingID: "MX-9", Direction: store.Inbound, Partner: "MX", Type: "sps", DocumentID: "B", Digest: "d", State: lifecycle.ReceivedCorrectly, Created: t0}, "partner:MX", "received")
	rec := &recorded{}
	partners := []string{"MX", "PE"}
	auth, err := access.New([]access.Client{
		{Name: "ana", Role: access.Operator, TokenHash: operatorHash},
		{Name: "victor", Role: access.Viewer, TokenHash: viewerHash},
		{Name: "vuce-cl", Role: access.Legacy, TokenHash: legacyHash},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{Store: st, Ops: &ops.Service{Store: st, Messages: rec, Waker: rec, Partners: partners}, Partners: partners}
	srv := httptest.NewServer(auth.Protect(h, Permit))
	t.Cleanup(srv.Close)
	return srv, rec
}

// call makes one API request as the holder of token ("" for none).
func call(t *testing.T, srv *httptest.Server, token, method, path, body string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if method == "POST" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAPI(t *testing.T) {
	srv, rec := setup(t)
	tests := []struct {
		name, token, method, path, body string
		status                          int
		contains                        []string
	}{
		{"get with history", viewerToken, "GET", "/api/v1/documents/CL-1", "", 200, []string{`"state": "accepted"`, `"actor": "legacy"`, `"document_id": "A"`}},
		{"unknown", viewerToken, "GET", "/api/v1/documents/XX", "", 404, []string{`no document with tracking ID \"XX\"`}},
		{"list inbound", viewerToken, "GET", "/api/v1/documents?direction=inbound", "", 200, []string{`"MX-9"`}},
		{"list by state", legacyToken, "GET", "/api/v1/documents?state=accepted&partner=MX", "", 200, []string{`"CL-1"`}},
		{"paging", operatorToken, "GET", "/api/v1/documents?limit=1", "", 200, []string{`"CL-1"`, `"next": "/api/v1/documents?after=1\u0026limit=1"`}},
		{"bad filter", viewerToken, "GET", "/api/v1/documents?state=lost&since=yesterday", "", 400, []string{`state: unknown state \"lost\"`, "since: must be an RFC 3339 time"}},
		{"legacy reports use of a received certificate", legacyToken, "POST", "/api/v1/documents/MX-9/status", `{"state":"used","reason":"cleared at Manzanillo"}`, 200, []string{`"state": "used"`}},
		{"illegal transition refused", legacyToken, "POST", "/api/v1/documents/MX-9/status", `{"state":"replacement-requested"}`, 409, []string{"used is final"}},
		{"state not reportable on this side", legacyToken, "POST", "/api/v1/documents/CL-1/status", `{"state":"used"}`, 422, []string{"on an outbound document one may report"}},
		{"unknown field", legacyToken, "POST", "/api/v1/documents/CL-1/status", `{"state":"withdrawn","why":"x"}`, 400, []string{"unknown field"}},
		{"an actor in the body is refused", legacyToken, "POST", "/api/v1/documents/CL-1/status", `{"state":"withdrawn","actor":"someone-else"}`, 400, []string{"actor: not accepted; the history records the authenticated caller"}},
		{"status needs a body", legacyToken, "POST", "/api/v1/documents/CL-1/status", ``, 400, []string{"a JSON object with state"}},
		{"resend a pending document now", operatorToken, "POST", "/api/v1/documents/CL-1/resend", `{}`, 200, []string{`"state": "sent"`}},
		{"resend a received document", operatorToken, "POST", "/api/v1/documents/MX-9/resend", `{}`, 409, []string{"only outbound documents"}},
		{"partners", viewerToken, "GET", "/api/v1/partners", "", 200, []string{`"code": "MX"`, `"code": "PE"`, `"sent": 1`}},
		{"pause a partner", operatorToken, "POST", "/api/v1/partners/MX/pause", `{"reason":"maintenance"}`, 200, []string{`"action": "pause"`}},
		{"partner detail with audit trail", viewerToken, "GET", "/api/v1/partners/MX", "", 200, []string{`"paused": true`, `"action": "pause"`, `"actor": "operator:ana"`}},
		{"unknown partner", operatorToken, "POST", "/api/v1/partners/AR/pause", `{}`, 404, []string{`is not a configured partner`}},
		{"paper for a received document", operatorToken, "POST", "/api/v1/documents/MX-9/paper", `{}`, 409, []string{"only outbound documents not yet delivered"}},
		{"issuer withdraws", legacyToken, "POST", "/api/v1/documents/CL-1/status", `{"state":"withdrawn","reason":"error in consignee"}`, 200, []string{`"state": "withdrawn"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := call(t, srv, tt.token, tt.method, tt.path, tt.body)
			if status != tt.status {
				t.Errorf("status %d, want %d: %s", status, tt.status, body)
			}
			for _, c := range tt.contains {
				if !strings.Contains(body, c) {
					t.Errorf("body lacks %s:\n%s", c, body)
				}
			}
		})
	}
	if len(rec.docs) != 2 || rec.docs[0].State != lifecycle.Used || rec.docs[1].State != lifecycle.Withdrawn {
		t.Errorf("partner notifications: %v", rec.docs)
	}
	_, body := call(t, srv, viewerToken, "GET", "/api/v1/documents/MX-9", "")
	var d Document
	json.Unmarshal([]byte(body), &d)
	// The history names the authenticated caller, whatever the body said.
	if len(d.History) != 2 || d.History[1].Actor != "legacy:vuce-cl" || d.History[1].Reason != "cleared at Manzanillo" {
		t.Errorf("history %+v", d.History)
	}
}

// TestAPI_HostileCallers: what reaches the admin listener without the
// right credentials changes nothing, and says why.
func TestAPI_HostileCallers(t *testing.T) {
	srv, rec := setup(t)
	_, wrongToken := access.NewToken()
	tests := []struct {
		name, token, method, path, body string
		header                          []string
		status                          int
		contains                        string
	}{
		{"no credentials, GET", "", "GET", "/api/v1/documents", "", nil, 401, "authentication required: no credentials"},
		{"no credentials, POST", "", "POST", "/api/v1/documents/MX-9/status", `{"state":"used"}`, nil, 401, "authentication required"},
		{"unknown token", "vlk_" + wrongToken[7:40], "GET", "/api/v1/documents", "", nil, 401, "credentials not recognized: bearer token"},
		{"basic instead of bearer", "", "GET", "/api/v1/partners", "", []string{"Authorization", "Basic YTpi"}, 401, `Authorization scheme "Basic"`},
		{"viewer acting", viewerToken, "POST", "/api/v1/partners/MX/pause", `{}`, nil, 403, "victor (viewer) may not POST /api/v1/partners/MX/pause: forbidden: this needs the operator role"},
		{"viewer reporting status", viewerToken, "POST", "/api/v1/documents/MX-9/status", `{"state":"used"}`, nil, 403, "this needs the operator role"},
		{"legacy pausing a partner", legacyToken, "POST", "/api/v1/partners/MX/pause", `{}`, nil, 403, "the legacy role may only report status changes"},
		{"legacy resending", legacyToken, "POST", "/api/v1/documents/CL-1/resend", `{}`, nil, 403, "the legacy role may only report status changes"},
		{"cross-site form (text/plain)", operatorToken, "POST", "/api/v1/partners/MX/pause", `{"reason":"x"}`, []string{"Content-Type", "text/plain"}, 415, "Content-Type must be application/json (got text/plain)"},
		{"form-encoded", operatorToken, "POST", "/api/v1/documents/MX-9/status", `state=used`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "must be application/json"},
		{"cross-site fetch", operatorToken, "POST", "/api/v1/partners/MX/pause", `{}`, []string{"Sec-Fetch-Site", "cross-site"}, 403, "cross-site request refused (Sec-Fetch-Site: cross-site)"},
		{"same-site fetch", operatorToken, "POST", "/api/v1/partners/MX/pause", `{}`, []string{"Sec-Fetch-Site", "same-site"}, 403, "cross-site request refused"},
		{"foreign Origin", operatorToken, "POST", "/api/v1/partners/MX/pause", `{}`, []string{"Origin", "https://evil.example"}, 403, `Origin "https://evil.example" is not`},
		{"null Origin", operatorToken, "POST", "/api/v1/partners/MX/pause", `{}`, []string{"Origin", "null"}, 403, `Origin "null"`},
		// The cross-site checks come before authentication: no credential
		// a browser lends (a client certificate) makes them pass.
		{"cross-site without credentials", "", "POST", "/api/v1/partners/MX/pause", `{}`, []string{"Sec-Fetch-Site", "cross-site", "Content-Type", "text/plain"}, 403, "cross-site"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := call(t, srv, tt.token, tt.method, tt.path, tt.body, tt.header...)
			var p struct{ Detail string }
			json.Unmarshal([]byte(body), &p)
			if status != tt.status || !strings.Contains(p.Detail, tt.contains) {
				t.Errorf("got %d %s\nwant %d containing %q", status, body, tt.status, tt.contains)
			}
		})
	}
	// Nothing changed: no status message, the partner not paused, the
	// documents in their states.
	if len(rec.docs) != 0 {
		t.Errorf("status messages sent: %v", rec.docs)
	}
	_, body := call(t, srv, viewerToken, "GET", "/api/v1/partners/MX", "")
	if !strings.Contains(body, `"paused": false`) {
		t.Errorf("partner changed: %s", body)
	}
	_, body = call(t, srv, viewerToken, "GET", "/api/v1/documents/MX-9", "")
	if !strings.Contains(body, `"state": "received-correctly"`) {
		t.Errorf("document changed: %s", body)
	}
	// A same-origin browser request with the operator's credentials works.
	if status, body := call(t, srv, operatorToken, "POST", "/api/v1/partners/MX/pause", `{}`, "Sec-Fetch-Site", "same-origin", "Origin", srv.URL); status != 200 {
		t.Errorf("same-origin: %d %s", status, body)
	}
}
