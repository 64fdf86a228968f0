package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/vucelink/vucelink/access"
	"github.com/vucelink/vucelink/store"
)

// Exporter writes a document's evidence bundle (package evidence).
type Exporter interface {
	Export(ctx context.Context, trackingID, actor string, w io.Writer) error
}

// isEvidence: GET /api/v1/documents/{id}/evidence, an operator's.
func isEvidence(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, documentsPrefix+"/") && strings.HasSuffix(r.URL.Path, "/evidence")
}

// evidence sends the document's evidence bundle (a ZIP archive). It is
// built in memory first, so a failure is a clean error, not half a file.
func (h *Handler) evidence(w http.ResponseWriter, r *http.Request, id string) {
	if r.Method != http.MethodGet {
		problem(w, http.StatusMethodNotAllowed, "use GET to export an evidence bundle")
		return
	}
	caller, ok := access.FromContext(r.Context())
	if !ok || caller.Role != access.Operator {
		problem(w, http.StatusForbidden, "evidence bundles are for the operator role")
		return
	}
	if h.Evidence == nil {
		problem(w, http.StatusNotFound, "this node does not export evidence bundles")
		return
	}
	var buf bytes.Buffer
	err := h.Evidence.Export(r.Context(), id, caller.Actor(), &buf)
	switch {
	case errors.Is(err, store.ErrNotFound):
		problem(w, http.StatusNotFound, "no document with tracking ID "+id)
		return
	case err != nil:
		problem(w, http.StatusInternalServerError, "exporting the evidence of "+id+": "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="evidence-`+url.PathEscape(id)+`.zip"`)
	w.Write(buf.Bytes())
}
