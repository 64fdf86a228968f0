package console

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"

	"github.com/vucelink/vucelink/store"
)

// evidence sends a document's evidence bundle as a download. It is built
// in memory first, so a failure is a clean error rather than half a file.
func (c *Console) evidence(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	if c.opts.Evidence == nil {
		http.Error(w, c.tr(r).T("error.noEvidence"), http.StatusNotFound)
		return
	}
	var buf bytes.Buffer
	err := c.opts.Evidence(r.Context(), id, "operator:"+s.user, &buf)
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, c.tr(r).T("error.noDocument", "ID", id), http.StatusNotFound)
		return
	}
	if err != nil {
		c.fail(w, s, err)
		return
	}
	c.opts.Logger.Info("console: evidence bundle exported", "user", s.user, "tracking_id", id)
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="evidence-`+url.PathEscape(id)+`.zip"`)
	w.Write(buf.Bytes())
}
