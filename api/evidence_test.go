package api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vucelink/vucelink/access"
	"github.com/vucelink/vucelink/store"
)

type fakeExporter struct{ actor string }

func (f *fakeExporter) Export(ctx context.Context, id, actor string, w io.Writer) error {
	if id != "CL-1" {
		return store.ErrNotFound
	}
	f.actor = actor
	_, err := io.WriteString(w, "PK-bundle")
	return err
}

// Only operators export evidence bundles, recorded under their name.
func TestAPI_EvidenceIsForOperators(t *testing.T) {
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "api.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	auth, err := access.New([]access.Client{
		{Name: "ana", Role: access.Operator, TokenHash: operatorHash},
		{Name: "victor", Role: access.Viewer, TokenHash: viewerHash},
		{Name: "vuce-cl", Role: access.Legacy, TokenHash: legacyHash},
	})
	if err != nil {
		t.Fatal(err)
	}
	exp := &fakeExporter{}
	srv := httptest.NewServer(auth.Protect(&Handler{Store: st, Evidence: exp}, Permit))
	defer srv.Close()
	for _, tt := range []struct {
		token, method, path string
		status              int
	}{
		{operatorToken, "GET", "/api/v1/documents/CL-1/evidence", http.StatusOK},
		{viewerToken, "GET", "/api/v1/documents/CL-1/evidence", http.StatusForbidden},
		{legacyToken, "GET", "/api/v1/documents/CL-1/evidence", http.StatusForbidden},
		{"", "GET", "/api/v1/documents/CL-1/evidence", http.StatusUnauthorized},
		{operatorToken, "GET", "/api/v1/documents/XX/evidence", http.StatusNotFound},
	} {
		status, body := call(t, srv, tt.token, tt.method, tt.path, "")
		if status != tt.status {
			t.Errorf("%s %s: %d, want %d: %s", tt.method, tt.path, status, tt.status, body)
		}
		if status == http.StatusOK && (body != "PK-bundle" || exp.actor != "operator:ana") {
			t.Errorf("body %q, actor %q", body, exp.actor)
		}
	}
	_ = strings.TrimSpace
}
