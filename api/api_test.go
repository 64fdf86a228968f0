package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vucelink/vucelink/lifecycle"
	"github.com/vucelink/vucelink/ops"
	"github.com/vucelink/vucelink/store"
)

type recorded struct{ docs []*store.Document }

func (r *recorded) Wake(string) {}

func (r *recorded) StatusChanged(_ context.Context, d *store.Document, _, _ string) error {
	r.docs = append(r.docs, d)
	return nil
}

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
	srv := httptest.NewServer(&Handler{Store: st, Ops: &ops.Service{Store: st, Messenger: rec, Partners: partners}, Partners: partners})
	t.Cleanup(srv.Close)
	return srv, rec
}

func TestAPI(t *testing.T) {
	srv, rec := setup(t)
	tests := []struct {
		name, method, path, body string
		status                   int
		contains                 []string
	}{
		{"get with history", "GET", "/api/v1/documents/CL-1", "", 200, []string{`"state": "accepted"`, `"actor": "legacy"`, `"document_id": "A"`}},
		{"unknown", "GET", "/api/v1/documents/XX", "", 404, []string{`no document with tracking ID \"XX\"`}},
		{"list inbound", "GET", "/api/v1/documents?direction=inbound", "", 200, []string{`"MX-9"`}},
		{"list by state", "GET", "/api/v1/documents?state=accepted&partner=MX", "", 200, []string{`"CL-1"`}},
		{"paging", "GET", "/api/v1/documents?limit=1", "", 200, []string{`"CL-1"`, `"next": "/api/v1/documents?after=1\u0026limit=1"`}},
		{"bad filter", "GET", "/api/v1/documents?state=lost&since=yesterday", "", 400, []string{`state: unknown state \"lost\"`, "since: must be an RFC 3339 time"}},
		{"legacy reports use of a received certificate", "POST", "/api/v1/documents/MX-9/status", `{"state":"used","reason":"cleared at Manzanillo","actor":"aduana"}`, 200, []string{`"state": "used"`}},
		{"illegal transition refused", "POST", "/api/v1/documents/MX-9/status", `{"state":"replacement-requested"}`, 409, []string{"used is final"}},
		{"state not reportable on this side", "POST", "/api/v1/documents/CL-1/status", `{"state":"used"}`, 422, []string{"on an outbound document one may report"}},
		{"unknown field", "POST", "/api/v1/documents/CL-1/status", `{"state":"withdrawn","why":"x"}`, 400, []string{"unknown field"}},
		{"resend needs an actor", "POST", "/api/v1/documents/CL-1/resend", `{}`, 400, []string{"actor: say who is acting"}},
		{"resend a pending document now", "POST", "/api/v1/documents/CL-1/resend", `{"actor":"ana"}`, 200, []string{`"state": "sent"`}},
		{"resend a received document", "POST", "/api/v1/documents/MX-9/resend", `{"actor":"ana"}`, 409, []string{"only outbound documents"}},
		{"partners", "GET", "/api/v1/partners", "", 200, []string{`"code": "MX"`, `"code": "PE"`, `"sent": 1`}},
		{"pause a partner", "POST", "/api/v1/partners/MX/pause", `{"actor":"ana","reason":"maintenance"}`, 200, []string{`"action": "pause"`}},
		{"partner detail with audit trail", "GET", "/api/v1/partners/MX", "", 200, []string{`"paused": true`, `"action": "pause"`, `"actor": "operator:ana"`}},
		{"unknown partner", "POST", "/api/v1/partners/AR/pause", `{"actor":"ana"}`, 404, []string{`is not a configured partner`}},
		{"paper for a received document", "POST", "/api/v1/documents/MX-9/paper", `{"actor":"ana"}`, 409, []string{"only outbound documents not yet delivered"}},
		{"issuer withdraws", "POST", "/api/v1/documents/CL-1/status", `{"state":"withdrawn","reason":"error in consignee"}`, 200, []string{`"state": "withdrawn"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var raw json.RawMessage
			json.NewDecoder(resp.Body).Decode(&raw)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.status, raw)
			}
			for _, c := range tt.contains {
				if !strings.Contains(string(raw), c) {
					t.Errorf("body lacks %s:\n%s", c, raw)
				}
			}
		})
	}
	if len(rec.docs) != 2 || rec.docs[0].State != lifecycle.Used || rec.docs[1].State != lifecycle.Withdrawn {
		t.Errorf("partner notifications: %v", rec.docs)
	}
	resp, _ := http.Get(srv.URL + "/api/v1/documents/MX-9")
	var d Document
	json.NewDecoder(resp.Body).Decode(&d)
	resp.Body.Close()
	if len(d.History) != 2 || d.History[1].Actor != "legacy:aduana" || d.History[1].Reason != "cleared at Manzanillo" {
		t.Errorf("history %+v", d.History)
	}
}
