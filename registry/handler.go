package registry

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/vucelink/vucelink/xmlsafe"
)

// Path is where a node serves its own list on its partner-facing listener.
const Path = "/officials.xml"

// Handler serves this node's own signed list: the file Publish's output
// was written to. The file is read again whenever its size or modification
// time changes, or it is replaced (renamed over, as Publish's output is
// written), so a newly published list is served without a restart. A
// file that is not an officials list (a half-copied file, say) is not
// served: the previous content stays, and the problem is logged. Until a
// list has been read, the answer is 503.
type Handler struct {
	path string
	log  *slog.Logger

	mu      sync.Mutex
	info    os.FileInfo // of the file last read
	data    []byte      // served
	etag    string      // of data
	served  time.Time   // modification time of data's file
	problem string      // last logged problem, to log each once
}

// NewHandler returns a Handler for the list at path; logger may be nil
// (slog.Default).
func NewHandler(path string, logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.Default()
	}
	return &Handler{path: path, log: logger}
}

// current returns the content to serve, reading the file again if it
// changed.
func (h *Handler) current() ([]byte, string, time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st, err := os.Stat(h.path)
	switch {
	case err != nil:
		h.report(err)
	case h.info == nil || !os.SameFile(st, h.info) || st.Size() != h.info.Size() || !st.ModTime().Equal(h.info.ModTime()):
		h.report(h.load(st))
	}
	return h.data, h.etag, h.served
}

func (h *Handler) report(err error) {
	if err == nil {
		h.problem = ""
		return
	}
	if err.Error() == h.problem {
		return
	}
	h.problem = err.Error()
	if h.data == nil {
		h.log.Error("officials list not available", "file", h.path, "error", err)
	} else {
		h.log.Error("officials list not reloaded; serving the previous one", "file", h.path, "error", err)
	}
}

func (h *Handler) load(st os.FileInfo) error {
	data, err := os.ReadFile(h.path)
	if err != nil {
		return err
	}
	// Remember the attempt, so that a bad file is reported once, not on
	// every request.
	h.info = st
	doc, err := xmlsafe.Parse(data, xmlsafe.Limits{})
	if err != nil {
		return err
	}
	if r := doc.Root(); r.Tag != RootTag || r.NamespaceURI() != Namespace {
		return fmt.Errorf("%w: root element <%s>, want <%s> in %q", ErrInvalidList, r.Tag, RootTag, Namespace)
	}
	sum := sha256.Sum256(data)
	h.data, h.etag, h.served = data, fmt.Sprintf(`"%x"`, sum[:16]), st.ModTime()
	h.log.Info("officials list served", "file", h.path, "bytes", len(data))
	return nil
}

// ServeHTTP answers GET and HEAD with the list, honouring If-None-Match.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	data, etag, mod := h.current()
	if data == nil {
		http.Error(w, "officials list not available", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", mod, bytes.NewReader(data))
}
