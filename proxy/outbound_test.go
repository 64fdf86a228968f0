package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/beevik/etree"

	"github.com/vucelink/vucelink/config"
	"github.com/vucelink/vucelink/mapping"
	"github.com/vucelink/vucelink/store"
	"github.com/vucelink/vucelink/track"
	"github.com/vucelink/vucelink/wire"
)

// The smallest outbound rule file with the exporter's e-mail as a local
// value (line 6).
const testRules = `document: d
direction: outbound
source: {format: json}
target: {format: xml, root: x:Doc, namespaces: {x: urn:x}}
local:
  - {name: exporter_email, source: exportador.correo}
fields:
  - {target: x:ID, source: numero, required: true}
`

// memQueue is a Queue that keeps what it is given.
type memQueue struct {
	mu   sync.Mutex
	docs []*store.Document
}

func (q *memQueue) Enqueue(_ context.Context, d *store.Document) (*store.Document, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.docs = append(q.docs, d)
	return d, nil
}

func (q *memQueue) Wait(string) (<-chan *store.Document, func()) { return nil, func() {} }

// countSigner signs nothing and counts.
type countSigner struct{ n int }

func (s *countSigner) SignElement(root *etree.Element) (*etree.Element, error) {
	s.n++
	return root, nil
}

// mapOnly hides MapExplain: a Mapper that can only Map.
type mapOnly struct{ m Mapper }

func (m mapOnly) Map(b []byte) (*mapping.Output, error) { return m.m.Map(b) }

type fixture struct {
	out    *Outbound
	route  *Route
	queue  *memQueue
	signer *countSigner
	events *track.Memory
	logs   *bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	rules, err := mapping.Load(fstest.MapFS{"d.outbound.yaml": {Data: []byte(testRules)}}, "d.outbound.yaml")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := NewDocumentSpec("d", "x:Doc", "", "x:ID", "", map[string]string{"x": "urn:x"})
	if err != nil {
		t.Fatal(err)
	}
	// The response templates every route gets by default.
	c := &config.Config{Routes: []config.Route{{}}}
	c.Defaults()
	resp := c.Routes[0].Response
	body, err := config.ParseResponseTemplate("body", resp.ContentType, resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	errBody, err := config.ParseResponseTemplate("error_body", resp.ContentType, resp.ErrorBody)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{queue: &memQueue{}, signer: &countSigner{}, events: track.NewMemory(nil), logs: &bytes.Buffer{}}
	f.route = &Route{
		Name: "d", Document: "d", Method: "POST", Path: "/out", Partner: "PE",
		Mapper: rules, Signer: f.signer, Spec: spec,
		Status: resp.Status, ContentType: resp.ContentType, Body: body, ErrorBody: errBody,
	}
	f.out = &Outbound{
		Country: "CL", Routes: []*Route{f.route}, Queue: f.queue, Partners: map[string]bool{"PE": true},
		Recorder: f.events, Logger: slog.New(slog.NewTextHandler(f.logs, nil)),
		Now: func() time.Time { return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) },
	}
	return f
}

// post sends a payload and returns the status and the JSON answer, which
// must be valid JSON.
func (f *fixture) post(t *testing.T, payload string) (int, map[string]string, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	f.out.ServeHTTP(rec, httptest.NewRequest("POST", "/out", strings.NewReader(payload)))
	if !json.Valid(rec.Body.Bytes()) {
		t.Fatalf("answer is not valid JSON: %s", rec.Body)
	}
	var got map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("answer %s: %v", rec.Body, err)
	}
	if got["tracking_id"] == "" || got["tracking_id"] != rec.Header().Get(wire.HeaderTrackingID) {
		t.Errorf("tracking_id %q, header %q", got["tracking_id"], rec.Header().Get(wire.HeaderTrackingID))
	}
	return rec.Code, got, rec.Header()
}

func payload(t *testing.T, id string, email any) string {
	t.Helper()
	p := map[string]any{"numero": id}
	if email != nil {
		p["exportador"] = map[string]any{"correo": email}
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestOutbound_ExporterEmail(t *testing.T) {
	const field = "mapping: 1 field(s) failed: local:exporter_email (from exportador.correo, rule line 6): invalid value: "
	long := strings.Repeat("a", 250) + "@b.cl"
	tests := []struct {
		name    string
		email   any // nil: no exportador at all
		status  int
		contact string // what is queued, when accepted
		err     string // the answer's error, when refused
	}{
		{"absent", nil, http.StatusAccepted, "", ""},
		{"empty", "", http.StatusAccepted, "", ""},
		{"plain", "despacho@frutasdelsur.cl", http.StatusAccepted, "despacho@frutasdelsur.cl", ""},
		{"surrounding white space is trimmed", " despacho@frutasdelsur.cl\n", http.StatusAccepted, "despacho@frutasdelsur.cl", ""},
		{"unicode local part", "ñandú@ejemplo.cl", http.StatusAccepted, "ñandú@ejemplo.cl", ""},
		{"254 bytes", strings.Repeat("a", 249) + "@b.cl", http.StatusAccepted, strings.Repeat("a", 249) + "@b.cl", ""},
		{"display name", `"Ana" <a@b.cl>`, 422, "",
			field + `e-mail address "\"Ana\" <a@b.cl>" has a display name ("Ana"); give only the plain address (user@domain)`},
		{"unquoted display name", `Ana <a@b.cl>`, 422, "",
			field + `e-mail address "Ana <a@b.cl>" has a display name ("Ana"); give only the plain address (user@domain)`},
		{"comment", `a@b.cl (Ana)`, 422, "",
			field + `e-mail address "a@b.cl (Ana)" has a display name ("Ana"); give only the plain address (user@domain)`},
		{"list", `a@b.cl, c@d.cl`, 422, "",
			field + `e-mail address "a@b.cl, c@d.cl" is a list of 2 addresses; give exactly one plain address (user@domain)`},
		{"header injection", "a@b.cl\r\nBcc: x@y", 422, "",
			field + `e-mail address "a@b.cl\r\nBcc: x@y" contains the control character U+000D; give one plain address (user@domain)`},
		{"NUL", "a@b.cl\x00", 422, "",
			field + `e-mail address "a@b.cl\x00" contains the control character U+0000; give one plain address (user@domain)`},
		{"bidi override", "a@b.cl\u202e", 422, "",
			field + `e-mail address "a@b.cl\u202e" contains the control character U+202E; give one plain address (user@domain)`},
		{"not an address", "not-an-address", 422, "",
			field + `e-mail address "not-an-address" is not an address (mail: missing '@' or angle-addr); give one plain address (user@domain)`},
		{"a number", 42, 422, "",
			field + `e-mail address "42" is not an address (mail: missing '@' or angle-addr); give one plain address (user@domain)`},
		{"angle brackets", "<a@b.cl>", 422, "",
			field + `e-mail address "<a@b.cl>" is not plain; give user@domain without angle brackets, comments, quoting or spaces`},
		{"quoted local part", `"a,b"@c.cl`, 422, "",
			field + `e-mail address "\"a,b\"@c.cl" is not plain; give user@domain without angle brackets, comments, quoting or spaces`},
		{"no-break space", "a\u00a0b@c.cl", 422, "",
			field + `e-mail address "a\u00a0b@c.cl" is not plain; give user@domain without angle brackets, comments, quoting or spaces`},
		{"overlong", long, 422, "", field + "e-mail address is 255 bytes long; at most 254 are allowed"},
		{"invalid UTF-8", "a\xff@b.cl", 422, "", field + "e-mail address \"a\ufffd@b.cl\" is not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			p := payload(t, "CL-7", tt.email)
			if tt.name == "invalid UTF-8" {
				// json.Marshal would mend the byte; the legacy system may not.
				p = `{"numero":"CL-7","exportador":{"correo":"a` + "\xff" + `@b.cl"}}`
			}
			status, got, _ := f.post(t, p)
			if status != tt.status {
				t.Fatalf("status %d, want %d (answer %v)", status, tt.status, got)
			}
			if tt.err == "" {
				if len(f.queue.docs) != 1 || f.queue.docs[0].Contact != tt.contact || f.signer.n != 1 {
					t.Fatalf("queued %d (signed %d), want 1 with contact %q", len(f.queue.docs), f.signer.n, tt.contact)
				}
				if got["document_id"] != "CL-7" || got["outcome"] != "accepted" {
					t.Errorf("answer %v", got)
				}
				return
			}
			if got["error"] != tt.err {
				t.Errorf("error\n got %q\nwant %q", got["error"], tt.err)
			}
			if len(f.queue.docs) != 0 || f.signer.n != 0 {
				t.Errorf("refused, yet %d queued and %d signed", len(f.queue.docs), f.signer.n)
			}
			evs := f.events.Events(got["tracking_id"])
			last := evs[len(evs)-1]
			if last.Step != track.Failed || last.Detail != "map" || last.Err != tt.err {
				t.Errorf("last event %+v", last)
			}
			for _, e := range evs {
				if e.Step == track.Mapped || e.Step == track.Signed || e.Step == track.Queued {
					t.Errorf("event %s recorded for a refused document", e.Step)
				}
			}
		})
	}
}

// A mapper that cannot explain still names the local value.
func TestOutbound_ExporterEmail_NoExplain(t *testing.T) {
	f := newFixture(t)
	f.route.Mapper = mapOnly{f.route.Mapper}
	status, got, _ := f.post(t, payload(t, "CL-7", "a@b.cl, c@d.cl"))
	want := `mapping: local:exporter_email: invalid value: e-mail address "a@b.cl, c@d.cl" is a list of 2 addresses; give exactly one plain address (user@domain)`
	if status != 422 || got["error"] != want {
		t.Errorf("%d %q, want 422 %q", status, got["error"], want)
	}
	if len(f.queue.docs) != 0 || f.signer.n != 0 {
		t.Errorf("refused, yet %d queued and %d signed", len(f.queue.docs), f.signer.n)
	}
}

// Document IDs and errors that are hostile to JSON reach the legacy
// caller intact in the default templates.
func TestOutbound_ResponseEscaped(t *testing.T) {
	for _, id := range []string{`CL-1"x`, `CL\1`, "CL-1\nX", `CL</x>&<`, "CL-ñ🙂\u2028x", "CL-\x7fx"} {
		f := newFixture(t)
		status, got, _ := f.post(t, payload(t, id, "a@b.cl"))
		if status != 202 || got["document_id"] != id {
			t.Errorf("%q: %d %v", id, status, got)
		}
		// The partner is not configured: the error body quotes the ID.
		f = newFixture(t)
		f.out.Partners = nil
		status, got, _ = f.post(t, payload(t, id, nil))
		if want := "destination PE is not a configured partner"; status != 422 || got["error"] != want {
			t.Errorf("%q: %d %v", id, status, got)
		}
	}
}

// A template that renders invalid JSON anyway (an action outside quotes)
// is logged as an error and the caller still gets valid JSON with the
// tracking ID.
func TestOutbound_InvalidJSONTemplate(t *testing.T) {
	f := newFixture(t)
	tmpl, err := config.ParseResponseTemplate("body", "application/json", `{"document_id":{{.DocumentID}}}`)
	if err != nil {
		t.Fatal(err)
	}
	f.route.Body = tmpl
	status, got, _ := f.post(t, payload(t, "CL-7", nil))
	if status != 202 || len(got) != 1 {
		t.Errorf("%d %v, want 202 and only the tracking ID", status, got)
	}
	if !strings.Contains(f.logs.String(), "level=ERROR") || !strings.Contains(f.logs.String(), "rendered body is not valid JSON") {
		t.Errorf("not logged as an error: %s", f.logs)
	}
}

func TestCheckEmail(t *testing.T) {
	for in, want := range map[string]string{"": "", " \t": "", " a@b.cl ": "a@b.cl", "a.b+c@d-e.cl": "a.b+c@d-e.cl", "a@[1.2.3.4]": "a@[1.2.3.4]"} {
		if got, err := CheckEmail(in); err != nil || got != want {
			t.Errorf("CheckEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"a@b.cl;c@d.cl", "a@b.cl,", "@b.cl", "a@", "a b@c.cl", "a@b.cl\n\nx", "=?utf-8?q?a?= <a@b.cl>", "a\u2028b@c.cl", "a\xffb@c.cl", "a\ufffdb@c.cl"} {
		if got, err := CheckEmail(in); err == nil {
			t.Errorf("CheckEmail(%q) = %q, want an error", in, got)
		}
	}
}

// TestOutbound_PartnerDoesNotCarry: a document type the partner does not
// take (a country reached through the ePhyto Hub takes SPS 17A only) is
// refused before it is signed or queued, saying why.
func TestOutbound_PartnerDoesNotCarry(t *testing.T) {
	f := newFixture(t)
	f.out.Carries = func(partner, docType string) error {
		if partner == "PE" && docType == "d" {
			return fmt.Errorf("%s does not take %s", partner, docType)
		}
		return nil
	}
	status, got, _ := f.post(t, payload(t, "CL-1", nil))
	if status != http.StatusUnprocessableEntity || !strings.Contains(got["error"], "PE does not take d") {
		t.Fatalf("%d %v", status, got)
	}
	if len(f.queue.docs) != 0 || f.signer.n != 0 {
		t.Errorf("queued %d, signed %d", len(f.queue.docs), f.signer.n)
	}
	f.out.Carries = func(string, string) error { return nil }
	if status, got, _ := f.post(t, payload(t, "CL-2", nil)); status/100 != 2 || len(f.queue.docs) != 1 {
		t.Fatalf("a carried document: %d %v", status, got)
	}
}
